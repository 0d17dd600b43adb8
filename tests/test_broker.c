/* Tests for ingest/broker: the embedded cluster listens on 127.0.0.1 only;
 * a topic gets the partitions asked for; what a librdkafka producer sends
 * a consumer reads back; each fault command does what broker.h says (a
 * broker down refuses connections, a moved leader shows in the metadata,
 * injected errors reach the producer's delivery reports) and malformed
 * commands are refused with a reason. Leaks show under `make san`. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "ingest/broker.h"

static struct vg_broker *start(int n)
{
	struct vg_broker *b = NULL;
	char err[256] = "";

	cr_assert_eq(vg_broker_start(&b, n, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_not_null(b);
	return b;
}

static void command_ok(struct vg_broker *b, const char *line)
{
	char err[256] = "";

	cr_assert_eq(vg_broker_command(b, line, err, sizeof(err)), VG_OK, "'%s': %s", line, err);
}

/* The command is refused, and errbuf says why with want in it. */
static void command_refused(struct vg_broker *b, const char *line, const char *want)
{
	char err[256] = "";

	cr_expect_eq(vg_broker_command(b, line, err, sizeof(err)), VG_ERR_INVALID, "'%s' accepted", line);
	cr_expect(strstr(err, want), "'%s': \"%s\" does not say \"%s\"", line, err, want);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstraps,
                          void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err)), RD_KAFKA_CONF_OK);
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	if (type == RD_KAFKA_CONSUMER) {
		rd_kafka_conf_set(conf, "group.id", "test_broker", err, sizeof(err));
		rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	} else {
		/* One try: an injected error must reach the delivery report. */
		rd_kafka_conf_set(conf, "retries", "0", err, sizeof(err));
		rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof(err));
	}
	if (dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	rd_kafka_conf_set_opaque(conf, opaque);
	cr_assert_not_null(rk = rd_kafka_new(type, conf, err, sizeof(err)), "%s", err);
	return rk;
}

/* Delivery reports, by the order of the messages produced. */
struct reports {
	int n;
	rd_kafka_resp_err_t err[64];
	int32_t partition[64];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct reports *r = opaque;

	(void)rk;
	if (r->n < 64) {
		r->err[r->n] = m->err;
		r->partition[r->n] = m->partition;
	}
	r->n++;
}

/* Produce key=value to topic's partition and wait for its report. */
static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, struct reports *r, const char *topic, int32_t partition,
                                       const char *key, const char *value)
{
	int before = r->n;
	rd_kafka_resp_err_t err =
	        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
	                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
	                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

	cr_assert_eq(err, RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(err));
	cr_assert_eq(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR, "no delivery report in 10 s");
	cr_assert_eq(r->n, before + 1);
	return r->err[before];
}

/* The topic's metadata (one request to the cluster); caller destroys. */
static const struct rd_kafka_metadata_topic *topic_md(rd_kafka_t *rk, const char *topic,
                                                      const struct rd_kafka_metadata **md)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);

	cr_assert_eq(rd_kafka_metadata(rk, 0, t, md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_destroy(t);
	cr_assert_eq((*md)->topic_cnt, 1);
	return &(*md)->topics[0];
}

/* The port of broker id, from the cluster's metadata. */
static int broker_port(rd_kafka_t *rk, int32_t id)
{
	const struct rd_kafka_metadata *md;
	int port = -1;

	cr_assert_eq(rd_kafka_metadata(rk, 0, NULL, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int i = 0; i < md->broker_cnt; i++) {
		if (md->brokers[i].id == id) {
			cr_expect_str_eq(md->brokers[i].host, "127.0.0.1");
			port = md->brokers[i].port;
		}
	}
	rd_kafka_metadata_destroy(md);
	cr_assert_gt(port, 0, "no broker %d in the metadata", id);
	return port;
}

/* 0 when a TCP connection to 127.0.0.1:port is accepted, else errno. */
static int tcp_connect(int port)
{
	struct sockaddr_in a = {
	        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0), rc;

	cr_assert_geq(s, 0);
	rc = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
	close(s);
	return rc;
}

Test(broker, listens_on_loopback_one_address_per_broker)
{
	struct vg_broker *b = start(3);
	char *list = strdup(vg_broker_bootstraps(b)), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
		cr_expect(strncmp(t, "127.0.0.1:", 10) == 0, "%s", t);
		cr_expect_gt(atoi(t + 10), 0, "%s", t);
		cr_expect_eq(tcp_connect(atoi(t + 10)), 0, "%s", t);
	}
	cr_expect_eq(n, 3, "%s", vg_broker_bootstraps(b));
	free(list);
	vg_broker_stop(b);
	vg_broker_stop(NULL);
}

Test(broker, a_topic_gets_its_partitions)
{
	struct vg_broker *b = start(1);
	struct reports r = {0};
	rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, vg_broker_bootstraps(b), on_delivery, &r);
	const struct rd_kafka_metadata *md;

	command_ok(b, "topic seven 7");
	const struct rd_kafka_metadata_topic *t = topic_md(rk, "seven", &md);

	cr_expect_eq(t->err, RD_KAFKA_RESP_ERR_NO_ERROR);
	cr_expect_eq(t->partition_cnt, 7);
	rd_kafka_metadata_destroy(md);
	command_refused(b, "topic seven 7", "already exists");
	/* Regression: a count below 1 reached the mock cluster, which aborted
	 * (-1: a failed allocation) or crashed at stop (0). */
	command_refused(b, "topic none 0", "PARTITIONS");
	command_refused(b, "topic negative -1", "PARTITIONS");
	command_refused(b, "topic word many", "PARTITIONS");
	command_refused(b, "topic huge 1000000", "PARTITIONS");
	rd_kafka_destroy(rk);
	vg_broker_stop(b);
}

Test(broker, what_is_produced_is_consumed)
{
	struct vg_broker *b = start(1);
	struct reports r = {0};
	rd_kafka_t *p, *c;
	char key[16], value[32];

	command_ok(b, "topic logs 3");
	p = client(RD_KAFKA_PRODUCER, vg_broker_bootstraps(b), on_delivery, &r);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(value, sizeof(value), "{\"i\":%d}", i);
		cr_assert_eq(produce_one(p, &r, "logs", 1, key, value), RD_KAFKA_RESP_ERR_NO_ERROR);
		cr_expect_eq(r.partition[i], 1);
	}
	rd_kafka_destroy(p);

	c = client(RD_KAFKA_CONSUMER, vg_broker_bootstraps(b), NULL, NULL);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(parts, "logs", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	int got = 0;

	/* Each poll waits up to 100 ms; 300 of them bound the whole read. */
	for (int polls = 0; got < 10 && polls < 300; polls++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);

		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			continue;
		}
		cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_err2str(m->err));
		snprintf(key, sizeof(key), "k%d", got);
		snprintf(value, sizeof(value), "{\"i\":%d}", got);
		cr_expect_eq(m->partition, 1);
		cr_expect_eq(m->offset, got);
		cr_expect(m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0, "message %d key", got);
		cr_expect(m->len == strlen(value) && memcmp(m->payload, value, m->len) == 0, "message %d value", got);
		rd_kafka_message_destroy(m);
		got++;
	}
	cr_expect_eq(got, 10);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	vg_broker_stop(b);
}

Test(broker, injected_errors_reach_the_producer)
{
	struct vg_broker *b = start(1);
	struct reports r = {0};
	rd_kafka_t *p;

	command_ok(b, "topic t 1");
	p = client(RD_KAFKA_PRODUCER, vg_broker_bootstraps(b), on_delivery, &r);
	cr_assert_eq(produce_one(p, &r, "t", 0, "k", "before"), RD_KAFKA_RESP_ERR_NO_ERROR);
	/* By name, then by numbers (Produce is API 0, 10 the same error). */
	command_ok(b, "errors Produce 1 MSG_SIZE_TOO_LARGE");
	cr_expect_eq(produce_one(p, &r, "t", 0, "k", "refused"), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	cr_expect_eq(produce_one(p, &r, "t", 0, "k", "after"), RD_KAFKA_RESP_ERR_NO_ERROR, "COUNT 1 is one request");
	command_ok(b, "errors 0 2 10");
	cr_expect_eq(produce_one(p, &r, "t", 0, "k", "refused"), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	cr_expect_eq(produce_one(p, &r, "t", 0, "k", "refused"), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	cr_expect_eq(produce_one(p, &r, "t", 0, "k", "after"), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(p);

	command_ok(b, "errors fetch 3 NOT_LEADER_FOR_PARTITION"); /* API names in any case */
	command_ok(b, "errors OffsetCommit 1 7");
	command_refused(b, "errors Nope 1 NOT_LEADER_FOR_PARTITION", "bad API, count or error name");
	command_refused(b, "errors Produce 0 NOT_LEADER_FOR_PARTITION", "bad API, count or error name");
	command_refused(b, "errors Produce 10001 NOT_LEADER_FOR_PARTITION", "bad API, count or error name");
	command_refused(b, "errors Produce 1 NO_SUCH_ERROR", "bad API, count or error name");
	vg_broker_stop(b);
}

Test(broker, a_moved_leader_shows_in_the_metadata)
{
	struct vg_broker *b = start(3);
	struct reports r = {0};
	rd_kafka_t *p = client(RD_KAFKA_PRODUCER, vg_broker_bootstraps(b), on_delivery, &r);
	const struct rd_kafka_metadata *md;
	const struct rd_kafka_metadata_topic *t;

	command_ok(b, "topic t 4");
	for (int id = 1; id <= 3; id++) {
		char line[64];

		snprintf(line, sizeof(line), "leader t 2 %d", id);
		command_ok(b, line);
		t = topic_md(p, "t", &md);
		cr_assert_eq(t->partition_cnt, 4);
		cr_expect_eq(t->partitions[2].leader, id);
		rd_kafka_metadata_destroy(md);
	}
	command_refused(b, "leader t 2 99", "not available");
	command_refused(b, "leader t 9 1", "nknown topic or partition");
	rd_kafka_destroy(p);
	vg_broker_stop(b);
}

Test(broker, a_broker_down_refuses_connections_until_up)
{
	struct vg_broker *b = start(3);
	rd_kafka_t *p = client(RD_KAFKA_PRODUCER, vg_broker_bootstraps(b), NULL, NULL);
	int port2 = broker_port(p, 2), port3 = broker_port(p, 3);

	cr_expect_eq(tcp_connect(port2), 0);
	command_ok(b, "down 2");
	cr_expect_eq(tcp_connect(port2), ECONNREFUSED);
	cr_expect_eq(tcp_connect(port3), 0, "only broker 2 is down");
	command_ok(b, "up 2");
	cr_expect_eq(tcp_connect(port2), 0);
	command_refused(b, "down 99", "not available");
	command_refused(b, "up 99", "not available");
	rd_kafka_destroy(p);
	vg_broker_stop(b);
}

Test(broker, malformed_commands_are_refused)
{
	struct vg_broker *b = start(1);

	command_refused(b, "", "empty command");
	command_refused(b, "   ", "empty command");
	command_refused(b, "frobnicate", "unknown command 'frobnicate'");
	command_refused(b, "topic t", "unknown command 'topic'"); /* PARTITIONS missing */
	command_refused(b, "down", "unknown command 'down'");
	command_refused(b, "leader t 0", "unknown command 'leader'");
	command_refused(b, "errors Produce 1", "unknown command 'errors'");
	vg_broker_stop(b);
}
