/* vigil broker and vigil produce: the embedded Kafka broker, and a
 * producer of NDJSON lines (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "ingest/broker.h"
#include "ingest/kafka.h"
#include "ingest/lines.h"
#include "pipeline/stop.h"

/* ---- vigil broker ------------------------------------------------------ */

#define BROKER_MAX_PARTITIONS 1000

/* --topic NAME[:PARTITIONS]: the partition count (1 without one), or 0
 * when the spec is not one. */
static long topic_partitions(const char *spec)
{
	const char *colon = strchr(spec, ':');
	char *end;
	long n;

	if (colon == spec || !*spec)
		return 0;
	if (!colon)
		return 1;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	return errno || end == colon + 1 || *end || n < 1 || n > BROKER_MAX_PARTITIONS ? 0 : n;
}

int vg_cli_broker(int argc, char **argv)
{
	struct vg_broker *b;
	char err[512], line[1024];
	long n = 1;
	int status = VG_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			if (!vg_cli_int_arg("broker", argv[i], argv[i + 1], 1, 16, &n))
				return VG_EXIT_USAGE;
			i++;
		} else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
			if (topic_partitions(argv[++i]) < 1) { /* created below, once the cluster runs */
				fprintf(stderr,
					"vigil broker: --topic: expected NAME or NAME:PARTITIONS (1 to %d partitions), got "
					"'%s'\n",
					BROKER_MAX_PARTITIONS, argv[i]);
				return VG_EXIT_USAGE;
			}
		} else {
			return vg_cli_bad_option("broker", argc, argv, i);
		}
	}
	vg_stop_catch();
	if (vg_broker_start(&b, (int)n, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil broker: %s\n", err);
		return VG_EXIT_IO;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--topic") != 0)
			continue;
		const char *spec = argv[++i], *colon = strchr(spec, ':');
		long parts = topic_partitions(spec);

		snprintf(line, sizeof(line), "topic %.*s %ld", (int)(colon ? colon - spec : (long)strlen(spec)), spec,
			 parts);
		if (vg_broker_command(b, line, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil broker: --topic %s: %s\n", spec, err);
			vg_broker_stop(b);
			return VG_EXIT_USAGE;
		}
	}
	/* First line: the bootstrap servers. Then commands on stdin, one answer
	 * each ("ok" or "error: ..."), until SIGTERM. */
	printf("%s\n", vg_broker_bootstraps(b));
	fflush(stdout);
	bool stdin_open = true;

	while (!vg_stop_requested()) {
		if (!stdin_open) {
			pause();
			continue;
		}
		if (!fgets(line, sizeof(line), stdin)) {
			if (feof(stdin))
				stdin_open = false;
			clearerr(stdin);
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (vg_broker_command(b, line, err, sizeof(err)) == VG_OK)
			printf("ok\n");
		else
			printf("error: %s\n", err);
		fflush(stdout);
	}
	vg_broker_stop(b);
	return status;
}

/* ---- vigil produce ----------------------------------------------------- */

static _Atomic uint64_t produce_failed;

uint64_t vg_cli_produce_failed(void)
{
	return atomic_load(&produce_failed);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		if (atomic_fetch_add(&produce_failed, 1) < 10)
			fprintf(stderr, "vigil produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
	}
}

int vg_cli_produce_fd(void *arg, int fd, const char *name)
{
	struct vg_cli_producer *pr = arg;
	struct vg_lines *lines;
	vg_str line;
	bool over;

	(void)name;
	if (vg_stop_requested())
		return VG_ERR_LIMIT;
	if (vg_lines_open(&lines, fd, 16u << 20) != VG_OK)
		return VG_ERR_NOMEM;
	while (!vg_stop_requested() && vg_lines_next(lines, &line, &over) == 1) {
		while (pr->consumed && pr->produced > atomic_load(pr->consumed) + pr->max_ahead && !vg_stop_requested()) {
			struct timespec ts = {0, 10 * 1000 * 1000};

			rd_kafka_poll(pr->rk, 0);
			nanosleep(&ts, NULL);
			if (pr->rate > 0) /* no burst to catch up after the wait */
				pr->t0 = vg_clock_mono_s() - (double)pr->produced / pr->rate;
		}
		if (pr->rate > 0) { /* pace to the rate: sleep until this message's slot */
			double due = pr->t0 + (double)pr->produced / pr->rate, now = vg_clock_mono_s();

			if (due > now) {
				struct timespec ts = {(time_t)(due - now), (long)((due - now - (double)(time_t)(due - now)) * 1e9)};

				nanosleep(&ts, NULL);
			}
		}
		while (rd_kafka_producev(pr->rk, RD_KAFKA_V_TOPIC(pr->topic), RD_KAFKA_V_VALUE((void *)line.p, line.len),
					 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(pr->rk, 50); /* backpressure: wait for deliveries */
		pr->produced++;
		rd_kafka_poll(pr->rk, 0);
	}
	vg_lines_close(lines);
	return vg_stop_requested() ? VG_ERR_LIMIT : VG_OK;
}

rd_kafka_t *vg_cli_producer_new(const char *brokers, char *const *props, size_t n_props, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	bool bad = rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, errlen) ||
		   rd_kafka_conf_set(conf, "linger.ms", "5", err, errlen) ||
		   rd_kafka_conf_set(conf, "sticky.partitioning.linger.ms", "0", err, errlen) ||
		   rd_kafka_conf_set(conf, "partitioner", "random", err, errlen) ||
		   rd_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen);

	for (size_t i = 0; i < n_props && !bad; i++) {
		char key[256];
		const char *eq = strchr(props[i], '=');
		size_t kl = eq ? (size_t)(eq - props[i]) : 0;

		if (!eq || kl == 0 || kl >= sizeof(key)) {
			snprintf(err, errlen, "-X %s: expected KEY=VALUE", props[i]);
			bad = true;
		} else {
			memcpy(key, props[i], kl);
			key[kl] = '\0';
			bad = rd_kafka_conf_set(conf, key, eq + 1, err, errlen) != RD_KAFKA_CONF_OK;
		}
	}
	if (bad) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_log_cb(conf, vg_kafka_log_cb);
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen)))
		rd_kafka_conf_destroy(conf);
	return rk;
}

int vg_cli_produce(int argc, char **argv)
{
	const char *brokers = NULL, *topic = NULL;
	double rate = 0;
	int i;
	char err[512], **props = calloc((size_t)argc, sizeof(*props));
	size_t n_props = 0;

	if (!props)
		return VG_EXIT_IO;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			brokers = argv[++i];
		} else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
			topic = argv[++i];
		} else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc) {
			props[n_props++] = argv[++i];
		} else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
			char *end;

			rate = strtod(argv[++i], &end);
			if (end == argv[i] || *end || !(rate >= 0 && rate <= 1e9)) {
				fprintf(stderr, "vigil produce: --rate: expected records per second (0: no limit), got '%s'\n",
					argv[i]);
				free(props);
				return VG_EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			free(props);
			return vg_cli_bad_option("produce", argc, argv, i);
		} else {
			break;
		}
	}
	if (!brokers || !topic) {
		fprintf(stderr, "vigil produce: --brokers and --topic are required\n%s", vg_cli_usage);
		free(props);
		return VG_EXIT_USAGE;
	}
	vg_stop_catch();
	rd_kafka_t *rk = vg_cli_producer_new(brokers, props, n_props, err, sizeof(err));

	free(props);
	if (!rk) {
		fprintf(stderr, "vigil produce: %s\n", err);
		return VG_EXIT_CONFIG;
	}
	struct vg_cli_producer pr = {.rk = rk, .topic = topic, .rate = rate, .t0 = vg_clock_mono_s()};
	int status = VG_EXIT_OK;

	vg_cli_each_input(argv + i, argc - i, "produce", vg_cli_produce_fd, &pr, &status);
	uint64_t produced = pr.produced;
	double t0 = pr.t0;

	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "vigil produce: %d messages not delivered in 60 s\n", rd_kafka_outq_len(rk));
		status = VG_EXIT_IO;
	}
	uint64_t failed = atomic_load(&produce_failed);

	fprintf(stderr, "{\"produced\":%llu,\"failed\":%llu,\"seconds\":%.3f}\n", (unsigned long long)produced,
		(unsigned long long)failed, vg_clock_mono_s() - t0);
	rd_kafka_destroy(rk);
	return failed ? VG_EXIT_IO : status;
}

