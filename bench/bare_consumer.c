/* The reference for make bench-kafka: a bare librdkafka high-level
 * consumer that only counts messages and bytes, exiting once every assigned
 * partition is at its end. Prints one JSON line; seconds are from the first
 * message to the last, as vigil reports them. */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char err[512];

	if (argc != 4) {
		fprintf(stderr, "usage: bare_consumer BROKERS TOPIC GROUP\n");
		return 2;
	}
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "group.id", argv[3], err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "fetch.max.bytes", "67108864", err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));

	if (!rk) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(t, argv[2], RD_KAFKA_PARTITION_UA);
	rd_kafka_subscribe(rk, t);
	rd_kafka_topic_partition_list_destroy(t);
	unsigned long long msgs = 0, bytes = 0;
	double first = 0, last = 0;
	int eofs = 0;

	for (;;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);

		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_topic_partition_list_t *a = NULL;

			eofs++;
			rd_kafka_assignment(rk, &a);
			int n = a ? a->cnt : 0;

			if (a)
				rd_kafka_topic_partition_list_destroy(a);
			rd_kafka_message_destroy(m);
			if (n > 0 && eofs >= n && msgs > 0)
				break;
			continue;
		}
		if (!m->err) {
			if (!msgs)
				first = now();
			last = now();
			msgs++;
			bytes += m->len;
		}
		rd_kafka_message_destroy(m);
	}
	printf("{\"tool\":\"bare\",\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.6f}\n", msgs, bytes, last - first);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}
