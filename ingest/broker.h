/* vigil: the embedded Kafka broker.
 *
 * The mock cluster librdkafka ships (rdkafka_mock.h): a real Kafka protocol
 * implementation over TCP on 127.0.0.1, for the demo and the tests. Know its
 * limits: each partition keeps only its last 5 MiB (or 100,000 batches) and
 * drops older data silently, so size topics for it (partitions) or consume
 * while producing.
 *
 * Commands (vg_broker_command), for tests that inject faults:
 *   topic NAME PARTITIONS        create a topic (1 to VG_BROKER_MAX_PARTITIONS)
 *   down ID | up ID              take broker ID down / bring it back
 *   leader TOPIC PARTITION ID    move a partition's leader
 *   errors API COUNT ERROR       the next COUNT requests of API (Fetch,
 *                                OffsetCommit, Produce, ... or a number)
 *                                fail with ERROR (a name such as
 *                                NOT_LEADER_FOR_PARTITION, or a number)
 * Not thread-safe: one thread drives a broker. */
#ifndef VG_BROKER_H
#define VG_BROKER_H

#include <stddef.h>

#define VG_BROKER_MAX_PARTITIONS 10000

struct vg_broker;

/* Start a cluster of n brokers. Returns 0 or VG_ERR_IO with errbuf set. */
int vg_broker_start(struct vg_broker **out, int n, char *errbuf, size_t errlen);
void vg_broker_stop(struct vg_broker *b);

/* The bootstrap servers ("127.0.0.1:PORT,..."), valid until stop. */
const char *vg_broker_bootstraps(const struct vg_broker *b);

/* Run one command (see above). Returns 0 or VG_ERR_INVALID with errbuf
 * saying why. */
int vg_broker_command(struct vg_broker *b, const char *line, char *errbuf, size_t errlen);

#endif
