#define _POSIX_C_SOURCE 200809L
#include "ingest/broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

struct vg_broker {
	rd_kafka_t *rk; /* hosts the cluster; used for nothing else */
	rd_kafka_mock_cluster_t *mc;
};

int vg_broker_start(struct vg_broker **out, int n, char *errbuf, size_t errlen)
{
	struct vg_broker *b = calloc(1, sizeof(*b));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];

	*out = NULL;
	if (!b || !conf) {
		free(b);
		if (conf)
			rd_kafka_conf_destroy(conf);
		snprintf(errbuf, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	/* The host instance must not try to reach anything by itself. */
	rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	if (!(b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		free(b);
		snprintf(errbuf, errlen, "broker: %s", err);
		return VG_ERR_IO;
	}
	if (!(b->mc = rd_kafka_mock_cluster_new(b->rk, n))) {
		rd_kafka_destroy(b->rk);
		free(b);
		snprintf(errbuf, errlen, "broker: cannot start a cluster of %d", n);
		return VG_ERR_IO;
	}
	*out = b;
	return VG_OK;
}

void vg_broker_stop(struct vg_broker *b)
{
	if (!b)
		return;
	rd_kafka_mock_cluster_destroy(b->mc);
	rd_kafka_destroy(b->rk);
	free(b);
}

const char *vg_broker_bootstraps(const struct vg_broker *b)
{
	return rd_kafka_mock_cluster_bootstraps(b->mc);
}

static const struct {
	const char *name;
	int16_t key;
} apis[] = {
	{"Produce", 0},     {"Fetch", 1},         {"ListOffsets", 2}, {"Metadata", 3},     {"OffsetCommit", 8},
	{"OffsetFetch", 9}, {"FindCoordinator", 10}, {"JoinGroup", 11}, {"Heartbeat", 12}, {"SyncGroup", 14},
};

static int api_key(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && !*end)
		return (int)v;
	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		if (strcasecmp(apis[i].name, s) == 0)
			return apis[i].key;
	}
	return -1;
}

static int error_code(const char *s, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *d;
	size_t n;
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && !*end) {
		*out = (rd_kafka_resp_err_t)v;
		return VG_OK;
	}
	rd_kafka_get_err_descs(&d, &n);
	for (size_t i = 0; i < n; i++) {
		if (d[i].name && strcasecmp(d[i].name, s) == 0) {
			*out = d[i].code;
			return VG_OK;
		}
	}
	return VG_ERR_INVALID;
}

int vg_broker_command(struct vg_broker *b, const char *line, char *errbuf, size_t errlen)
{
	char cmd[32] = "", a[256] = "", c[64] = "", d[64] = "";
	int n = sscanf(line, "%31s %255s %63s %63s", cmd, a, c, d);
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (n < 1) {
		snprintf(errbuf, errlen, "empty command");
		return VG_ERR_INVALID;
	}
	if (strcmp(cmd, "topic") == 0 && n == 3) {
		char *end;
		long parts = strtol(c, &end, 10);

		/* The mock cluster aborts on a negative count and crashes at
		 * destroy on a topic of none. */
		if (*end || parts < 1 || parts > VG_BROKER_MAX_PARTITIONS) {
			snprintf(errbuf, errlen, "topic NAME PARTITIONS: PARTITIONS must be 1 to %d, not '%s'",
				 VG_BROKER_MAX_PARTITIONS, c);
			return VG_ERR_INVALID;
		}
		err = rd_kafka_mock_topic_create(b->mc, a, (int)parts, 1);
	} else if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && n == 2) {
		err = cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(b->mc, atoi(a))
				    : rd_kafka_mock_broker_set_up(b->mc, atoi(a));
	} else if (strcmp(cmd, "leader") == 0 && n == 4) {
		err = rd_kafka_mock_partition_set_leader(b->mc, a, atoi(c), atoi(d));
	} else if (strcmp(cmd, "errors") == 0 && n == 4) {
		int key = api_key(a), cnt = atoi(c);
		rd_kafka_resp_err_t code;

		if (key < 0 || cnt <= 0 || cnt > 10000 || error_code(d, &code) != VG_OK) {
			snprintf(errbuf, errlen, "errors API COUNT ERROR: bad API, count or error name");
			return VG_ERR_INVALID;
		}
		rd_kafka_resp_err_t *codes = malloc((size_t)cnt * sizeof(*codes));

		if (!codes) {
			snprintf(errbuf, errlen, "out of memory");
			return VG_ERR_INVALID;
		}
		for (int i = 0; i < cnt; i++)
			codes[i] = code;
		rd_kafka_mock_push_request_errors_array(b->mc, (int16_t)key, (size_t)cnt, codes);
		free(codes);
	} else {
		snprintf(errbuf, errlen, "unknown command '%s' (topic, down, up, leader, errors)", cmd);
		return VG_ERR_INVALID;
	}
	if (err) {
		snprintf(errbuf, errlen, "%s", rd_kafka_err2str(err));
		return VG_ERR_INVALID;
	}
	return VG_OK;
}
