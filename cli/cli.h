/* vigil: the command line.
 *
 * One function per command, vg_cli_<command>(argc, argv) with argv[0] the
 * command's name; each parses its options, calls the pipeline or a tool
 * module and prints its output. They return vigil's exit status (enum
 * vg_exit in core/err.h) and say every error on standard error as
 * "vigil COMMAND: ...". vigil.c's command table maps names to them.
 *
 * Files, by command family: classify.c, aggregate.c (aggregate, replay),
 * run.c, kafka.c (broker, produce), archive.c (verify, cat, prune,
 * stats), rules.c (rules, config), demo.c; cli.c holds the usage text and
 * what several commands share. Not thread-safe (main's thread only). */
#ifndef VG_CLI_H
#define VG_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#define VIGIL_VERSION "0.1.0"

/* The usage text, printed by --help and after an unknown option. */
extern const char vg_cli_usage[];

int vg_cli_classify(int argc, char **argv);
int vg_cli_aggregate(int argc, char **argv);
int vg_cli_replay(int argc, char **argv);
int vg_cli_run(int argc, char **argv);
int vg_cli_demo(int argc, char **argv);
int vg_cli_broker(int argc, char **argv);
int vg_cli_produce(int argc, char **argv);
int vg_cli_verify(int argc, char **argv);
int vg_cli_cat(int argc, char **argv);
int vg_cli_prune(int argc, char **argv);
int vg_cli_stats(int argc, char **argv);
int vg_cli_rules(int argc, char **argv);
int vg_cli_config(int argc, char **argv);

/* ---- shared by the commands ---- */

/* Run fn on every input named (names[0..n); "-" is standard input), or on
 * standard input when none is. Stops at the first input fn fails on and
 * returns its code; an input that cannot be opened is reported on stderr
 * as "vigil CMD: NAME: reason" and sets *status to VG_EXIT_IO. */
int vg_cli_each_input(char **names, int n, const char *cmd, int (*fn)(void *arg, int fd, const char *name),
		      void *arg, int *status);

/* An option the command did not take at argv[i] of argc: said on stderr
 * as "vigil CMD: OPT: expects a value (OPT V)" when the usage text gives
 * OPT a value and none follows, else as an unknown option with the usage.
 * Returns VG_EXIT_USAGE. */
int vg_cli_bad_option(const char *cmd, int argc, char **argv, int i);

/* An integer option value in [lo, hi]: true with *out set, or false after
 * saying "vigil CMD: OPT: expected an integer from LO to HI, got 'V'". */
bool vg_cli_int_arg(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out);

/* --log-level NAME (vigil's own log lines): the level, or -1 after saying
 * what is expected. */
int vg_cli_log_level_arg(const char *cmd, const char *name);

/* Load the configuration at config_path (NULL: the defaults) and open the
 * parse + classify stage on it: 0, or VG_ERR_CONFIG after saying why on
 * stderr ("vigil: FILE:LINE: reason"). */
struct vg_stage;
int vg_cli_stage_open(struct vg_stage *st, const char *config_path);

/* vigil produce's producer, which vigil demo uses too. */
struct vg_cli_producer {
	rd_kafka_t *rk;
	const char *topic;
	double rate; /* messages per second; 0: as fast as it goes */
	double t0;
	uint64_t produced;
	/* vigil demo: hold back while more than max_ahead messages are
	 * unconsumed (the embedded broker keeps only 5 MiB per partition). */
	_Atomic uint64_t *consumed;
	uint64_t max_ahead;
};

/* A producer spreading messages over the partitions, idempotent, counting
 * failed deliveries (vg_cli_produce_failed); props (KEY=VALUE, -X) over
 * the defaults. NULL with err set on failure. */
rd_kafka_t *vg_cli_producer_new(const char *brokers, char *const *props, size_t n_props, char *err, size_t errlen);

/* Produce every line of one input (arg: a vg_cli_producer); stops early
 * (VG_ERR_LIMIT) on a stop signal. */
int vg_cli_produce_fd(void *arg, int fd, const char *name);

/* Deliveries that failed so far (any thread). */
uint64_t vg_cli_produce_failed(void);

#endif
