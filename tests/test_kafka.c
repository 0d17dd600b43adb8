/* vigil: the Kafka consumer's rebalance callback (ingest/kafka_parts.c).
 * The consumer group itself is exercised against the embedded broker by
 * tests/integration/kafka*.sh; here, what librdkafka can hand the callback
 * at the edges. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "ingest/kafka_internal.h"

/* A revoke served while the group is torn down (inside
 * rd_kafka_consumer_close) finds rd_kafka_rebalance_protocol() NULL, as a
 * consumer without a group does: UBSan caught strcmp(NULL, ...) at a
 * member's stop in the ASan+UBSan run of kafka_rebalance.sh. The partitions
 * are released all the same, with the protocol of the last rebalance. */
Test(kafka, revoke_without_a_protocol)
{
	struct vg_config *cfg = NULL;
	char err[512];

	cr_assert_eq(vg_config_load_string(&cfg, "", 0, "test.yaml", err, sizeof(err)), 0, "%s", err);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err)), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));

	cr_assert_not_null(rk, "%s", err);
	cr_assert_null(rd_kafka_rebalance_protocol(rk), "no group: no protocol");
	struct vg_kafka *k = calloc(1, sizeof(*k));

	cr_assert_not_null(k);
	k->cfg = cfg;
	pthread_mutex_init(&k->parts_mu, NULL);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(parts, "t", 0);
	vg_kafka_rebalance_cb(rk, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, parts, k);
	struct part *p = vg_kafka_part_find(k, "t", 0);

	cr_assert_not_null(p);
	cr_assert_eq(atomic_load(&p->owned), 1);
	vg_kafka_rebalance_cb(rk, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS, parts, k);
	cr_assert_eq(atomic_load(&p->owned), 0, "released");
	rd_kafka_topic_partition_list_destroy(parts);
	pthread_mutex_destroy(&k->parts_mu);
	free(k);
	rd_kafka_destroy(rk);
	vg_config_free(cfg);
}

/* librdkafka 2.0.2's offset reset lines, as its log callback gets them
 * (log.thread.name puts the thread first): a fetch out of range, to the
 * log start it cached from the fetch answer, or to BEGINNING asked of the
 * broker after the line (no log start in fetch answers before Kafka 0.11). */
#define OOR ": fetch failed due to requested offset not available on the broker: Broker: Offset out of range"

Test(kafka, offset_reset_lines_are_parsed)
{
	struct vg_kafka_reset r;

	cr_assert(vg_kafka_reset_parse("[thrd:main]: del [0]: offset reset (at offset 968, broker 1) to cached "
				       "BEGINNING offset 8186" OOR,
				       &r));
	cr_assert_str_eq(r.topic, "del");
	cr_assert_eq(r.partition, 0);
	cr_assert_eq(r.from, 968);
	cr_assert_eq(r.to, 8186);
	cr_assert(vg_kafka_reset_parse("logs.app-1_x [4095]: offset reset (at offset 1000, broker 3) to BEGINNING" OOR,
				       &r));
	cr_assert_str_eq(r.topic, "logs.app-1_x");
	cr_assert_eq(r.partition, 4095);
	cr_assert_eq(r.from, 1000);
	cr_assert_eq(r.to, -1, "not in the line");
	cr_assert(vg_kafka_reset_parse("[thrd:main]: t [1]: offset reset (at offset 5, broker -1) to BEGINNING" OOR,
				       &r));
	cr_assert_eq(r.from, 5);
}

/* Other resets are not deletions: to END (auto.offset.reset latest), from
 * a logical offset (no committed offset), a failed offset query; nor is a
 * line that is cut or out of bounds. */
Test(kafka, other_offset_lines_are_not_resets_past_deleted_offsets)
{
	struct vg_kafka_reset r;
	static const char *const lines[] = {
		"t [0]: offset reset (at offset 10, broker 1) to END" OOR,
		"t [0]: offset reset (at offset INVALID, broker -1) to BEGINNING: no previously committed offset "
		"available: Local: No offset stored",
		"t [0]: offset reset (at offset BEGINNING, broker 1) to BEGINNING: failed to query logical offset: "
		"Broker: Unknown topic or partition",
		"t [0]: offset reset (at offset 10, broker 1) to cached BEGINNING offset: fetch failed",
		"t [0]: offset reset (at offset 10, broker 1) to BEGINNING",
		"t [2147483648]: offset reset (at offset 10, broker 1) to BEGINNING" OOR,
		"t [0]: offset reset (at offset 99999999999999999999, broker 1) to BEGINNING" OOR,
		"t/x [0]: offset reset (at offset 10, broker 1) to BEGINNING" OOR,
		" [0]: offset reset (at offset 10, broker 1) to BEGINNING" OOR,
		"[thrd:main] t [0]: offset reset (at offset 10, broker 1) to BEGINNING" OOR,
		"",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_assert_not(vg_kafka_reset_parse(lines[i], &r), "%s", lines[i]);
}

/* A consumer's offset resets counted from its log callback: at once with
 * the log start in the line; otherwise at the partition's first message at
 * or past the old offset (those fetched before the reset, below it, are
 * not it). Only an owned partition's. */
Test(kafka, deleted_offsets_are_counted_once_per_reset)
{
	char err[512];
	struct vg_kafka *k = calloc(1, sizeof(*k));

	cr_assert_not_null(k);
	pthread_mutex_init(&k->parts_mu, NULL);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set_opaque(conf, k);
	cr_assert_eq(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));

	cr_assert_not_null(rk, "%s", err);
	int devnull = open("/dev/null", O_WRONLY);

	vg_log_set_fd(devnull); /* the warnings */
	struct part *p = vg_kafka_part_get(k, "t", 3);

	vg_kafka_consumer_log_cb(rk, 4, "OFFSET", "t [3]: offset reset (at offset 10, broker 1) to BEGINNING" OOR);
	vg_kafka_reset_seen(k, p, 20);
	cr_assert_eq(atomic_load(&k->deleted), 0, "not owned: not counted");
	atomic_store(&p->owned, 1);
	vg_kafka_consumer_log_cb(rk, 4, "OFFSET",
				 "t [3]: offset reset (at offset 10, broker 1) to cached BEGINNING offset 25" OOR);
	cr_assert_eq(atomic_load(&k->deleted), 15);
	vg_kafka_consumer_log_cb(rk, 4, "FETCH", "t [3]: offset reset (at offset 30, broker 1) to BEGINNING" OOR);
	vg_kafka_consumer_log_cb(rk, 4, "OFFSET", "t [3]: offset reset (at offset 30, broker 1) to BEGINNING" OOR);
	vg_kafka_reset_seen(k, p, 28); /* fetched before the reset */
	vg_kafka_reset_seen(k, p, 29);
	cr_assert_eq(atomic_load(&k->deleted), 15);
	vg_kafka_reset_seen(k, p, 42);
	cr_assert_eq(atomic_load(&k->deleted), 27);
	vg_kafka_reset_seen(k, p, 43);
	cr_assert_eq(atomic_load(&k->deleted), 27, "once");
	vg_kafka_consumer_log_cb(rk, 4, "OFFSET", "t [3]: offset reset (at offset 50, broker 1) to BEGINNING" OOR);
	vg_kafka_reset_seen(k, p, 50);
	cr_assert_eq(atomic_load(&k->deleted), 27, "nothing deleted");
	cr_assert_eq(atomic_load(&p->reset_from), NO_OFFSET);
	rd_kafka_destroy(rk);
	vg_log_set_fd(STDERR_FILENO);
	close(devnull);
	pthread_mutex_destroy(&k->parts_mu);
	free(k);
}
