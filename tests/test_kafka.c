/* vigil: the Kafka consumer's rebalance callback (ingest/kafka_parts.c).
 * The consumer group itself is exercised against the embedded broker by
 * tests/integration/kafka*.sh; here, what librdkafka can hand the callback
 * at the edges. */
#include <criterion/criterion.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
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
