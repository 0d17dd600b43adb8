/* vigil: command-line entry point and subcommands. */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/wait.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "aggregate/store.h"
#include "sink/archive.h"
#include "sink/http.h"
#include "sink/metrics.h"
#include "sink/reader.h"
#include "sink/notify.h"
#include "alert/alerts.h"
#include "alert/ruletest.h"
#include "aggregate/window.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/ring.h"
#include "ingest/broker.h"
#include "ingest/kafka.h"
#include "ingest/lines.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include "parse/classify.h"
#include "parse/json.h"
#include "parse/level.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define VIGIL_VERSION "0.1.0"

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

static const char usage[] =
	"usage: vigil COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  classify [-c FILE] [--quiet] [LOG...]  parse and classify NDJSON logs (files or stdin)\n"
	"  aggregate [-c FILE] [--window D] [--threads N] [--exact] [--quiet] [--alerts FILE]\n"
	"      [--log-level L] [LOG...]\n"
	"                                         windows of counts, error rates and latency quantiles\n"
	"  replay [-c FILE] [--window D] [--threads N] [--exact] [--notify] [LOG...]\n"
	"                                         the same pipeline; every alert change as NDJSON\n"
	"                                         (notifiers only with --notify)\n"
	"  run [-c FILE] [--brokers B] [--group G] [--topic T]... [--workers N] [--exit-at-end]\n"
	"      [--windows FILE] [--records FILE] [--alerts FILE] [--archive DIR|off] [--http ADDR|off]\n"
	"      [--skew-behind D] [--log-level L]\n"
	"                                         consume Kafka topics as a group\n"
	"  demo [--duration S] [--rate N] [--dir DIR] [--gen PATH] [--workers N] [--http ADDR|off]\n"
	"       [--log-level L]\n"
	"                                         the whole pipeline on an embedded broker with incidents\n"
	"  broker [--brokers N] [--topic NAME:PARTITIONS]...  run the embedded Kafka broker\n"
	"  produce --brokers B --topic T [--rate N] [-X KEY=VALUE]... [LOG...]  produce NDJSON lines as messages\n"
	"  verify [--repair] DIR                  check every archive frame against its manifest\n"
	"  cat [-c FILE] [--from T] [--to T] [--level L] [--category C] [--service S] [--grep PCRE]\n"
	"      [--dead-letter] DIR                records from the archive as NDJSON\n"
	"  prune [-c FILE] [--now T] [--dry-run] DIR  delete archive files past their retention\n"
	"  stats DIR                              archive size, ratio, records by class, category, level\n"
	"  rules [-c FILE] --check | --test TESTFILE...  check the alert rules, or run rule tests\n"
	"  config --default                       print the complete default configuration\n"
	"  config --check FILE                    validate a configuration file\n"
	"  version                                print the version\n";

/* ---- the parse + classify stage ---------------------------------------- */

/* Everything one thread needs to parse and classify records. */
struct stage {
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *classifier;
	struct vg_classify_ctx *ctx;
	struct vg_json_limits limits;
};

static void stage_close(struct stage *st)
{
	vg_classify_ctx_destroy(st->ctx);
	vg_classifier_destroy(st->classifier);
	vg_json_paths_destroy(st->paths);
	vg_config_free(st->cfg);
	memset(st, 0, sizeof(*st));
}

static int stage_open(struct stage *st, const char *config_path)
{
	char err[1024];
	const char *const *paths[VG_F_COUNT];
	size_t n[VG_F_COUNT];
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = vg_config_load(&st->cfg, config_path, err, sizeof(err))) != VG_OK)
		goto out_err;
	for (int f = 0; f < VG_F_COUNT; f++) {
		paths[f] = (const char *const *)st->cfg->paths[f].v;
		n[f] = st->cfg->paths[f].n;
	}
	if ((rc = vg_json_paths_create(&st->paths, paths, n, err, sizeof(err))) != VG_OK)
		goto out_err;
	if ((rc = vg_classifier_create(&st->classifier, st->cfg, err, sizeof(err))) != VG_OK)
		goto out_err;
	if ((rc = vg_classify_ctx_create(&st->ctx, st->classifier)) != VG_OK) {
		snprintf(err, sizeof(err), "%s", vg_err_str(rc));
		goto out_err;
	}
	st->limits.max_bytes = st->cfg->max_record_bytes;
	st->limits.max_depth = st->cfg->max_depth;
	return VG_OK;

out_err:
	fprintf(stderr, "vigil: %s\n", err);
	stage_close(st);
	return rc;
}

/* Run fn on every input named (names[0..n); "-" is standard input), or on
 * standard input when none is. Stops at the first input fn fails on and
 * returns its code; an input that cannot be opened is reported on stderr
 * as "vigil CMD: NAME: reason" and sets *status to EXIT_IO. */
static int each_input(char **names, int n, const char *cmd, int (*fn)(void *arg, int fd, const char *name),
		      void *arg, int *status)
{
	int rc = VG_OK;

	if (n == 0)
		return fn(arg, STDIN_FILENO, "<stdin>");
	for (int i = 0; i < n && rc == VG_OK; i++) {
		bool is_stdin = strcmp(names[i], "-") == 0;
		int fd = is_stdin ? STDIN_FILENO : open(names[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "vigil %s: %s: %s\n", cmd, names[i], strerror(errno));
			*status = EXIT_IO;
			continue;
		}
		rc = fn(arg, fd, names[i]);
		if (!is_stdin)
			close(fd);
	}
	return rc;
}

/* --log-level NAME (vigil's own log lines): the level, or -1 after saying
 * what is expected. */
static int log_level_arg(const char *cmd, const char *name)
{
	int level = vg_log_level_from_name(name);

	if (level < 0)
		fprintf(stderr, "vigil %s: --log-level: expected debug, info, warning or error, got '%s'\n", cmd, name);
	return level;
}

/* The log level: the option's when given (>= 0), else the configuration's. */
static void log_level_apply(int opt, const struct vg_config *cfg)
{
	vg_log_set_level(opt >= 0 ? opt : cfg->log_level);
}

/* ---- vigil classify ---------------------------------------------------- */

struct classify_run {
	struct stage st;
	bool quiet;
	struct vg_buf out, err;
	uint64_t records, rejected, bytes;
	uint64_t by_reason[VG_JR_COUNT];
};

static void put_str_or_null(struct vg_buf *b, vg_str s)
{
	if (s.len == 0)
		vg_buf_puts(b, "null");
	else
		vg_buf_put_json_str(b, s);
}

static void emit_record(struct classify_run *run, const struct vg_record *rec)
{
	struct vg_buf *b = &run->out;

	vg_buf_puts(b, "{\"level\":\"");
	vg_buf_puts(b, vg_level_name(rec->level));
	vg_buf_puts(b, "\",\"category\":\"");
	vg_buf_puts(b, vg_classifier_category_name(run->st.classifier, rec->category));
	vg_buf_puts(b, "\",\"retention_days\":");
	vg_buf_put_u64(b, rec->retention_days);
	vg_buf_puts(b, ",\"service\":");
	put_str_or_null(b, rec->service);
	vg_buf_puts(b, ",\"endpoint\":");
	put_str_or_null(b, rec->endpoint);
	vg_buf_puts(b, ",\"method\":");
	put_str_or_null(b, rec->method);
	vg_buf_puts(b, ",\"status\":");
	if (rec->status)
		vg_buf_put_i64(b, rec->status);
	else
		vg_buf_puts(b, "null");
	vg_buf_puts(b, ",\"duration_ms\":");
	vg_buf_put_double(b, rec->duration_ms);
	vg_buf_puts(b, ",\"ts_ms\":");
	if (rec->ts_ms != VG_TIME_NONE)
		vg_buf_put_i64(b, rec->ts_ms);
	else
		vg_buf_puts(b, "null");
	vg_buf_puts(b, "}\n");
}

static void emit_reject(struct classify_run *run, int reason, uint64_t line, size_t offset)
{
	run->rejected++;
	run->by_reason[reason]++;
	if (run->quiet)
		return;
	vg_buf_puts(&run->err, "{\"error\":\"");
	vg_buf_puts(&run->err, vg_json_reason_str(reason));
	vg_buf_puts(&run->err, "\",\"line\":");
	vg_buf_put_u64(&run->err, line);
	vg_buf_puts(&run->err, ",\"offset\":");
	vg_buf_put_u64(&run->err, offset);
	vg_buf_puts(&run->err, "}\n");
}

static int flush_outputs(struct classify_run *run, bool force)
{
	if ((force || run->out.len >= (1u << 20)) && vg_buf_write_fd(&run->out, STDOUT_FILENO) != VG_OK)
		return VG_ERR_IO;
	if ((force || run->err.len >= (64u << 10)) && vg_buf_write_fd(&run->err, STDERR_FILENO) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

static int classify_fd(void *arg, int fd, const char *name)
{
	struct classify_run *run = arg;
	struct vg_lines *lines;
	struct vg_record rec;
	struct vg_json_error jerr;
	vg_str line;
	bool oversize;
	uint64_t lineno = 0;
	int rc;

	if (vg_lines_open(&lines, fd, run->st.limits.max_bytes) != VG_OK)
		return VG_ERR_NOMEM;
	while ((rc = vg_lines_next(lines, &line, &oversize)) == 1) {
		lineno++;
		run->records++;
		if (oversize) {
			emit_reject(run, VG_JR_SIZE, lineno, run->st.limits.max_bytes);
		} else if (vg_json_extract(run->st.paths, &run->st.limits, line.p, line.len, &rec, &jerr) != VG_OK) {
			emit_reject(run, jerr.reason, lineno, jerr.offset);
		} else {
			vg_classify(run->st.ctx, &rec);
			if (!run->quiet)
				emit_record(run, &rec);
		}
		if ((rc = flush_outputs(run, false)) != VG_OK) {
			fprintf(stderr, "vigil: write error: %s\n", strerror(errno));
			break;
		}
	}
	if (rc == VG_ERR_IO && errno)
		fprintf(stderr, "vigil: %s: read error: %s\n", name, strerror(errno));
	run->bytes += vg_lines_bytes(lines);
	vg_lines_close(lines);
	return rc < 0 ? rc : VG_OK;
}

/* The summaries' common head: "records", "rejected" and
 * "rejected_by_reason" as JSON members (no braces). */
static void put_record_counts(struct vg_buf *b, uint64_t records, uint64_t rejected, const uint64_t *by_reason)
{
	bool first = true;

	vg_buf_puts(b, "\"records\":");
	vg_buf_put_u64(b, records);
	vg_buf_puts(b, ",\"rejected\":");
	vg_buf_put_u64(b, rejected);
	vg_buf_puts(b, ",\"rejected_by_reason\":{");
	for (int r = 1; r < VG_JR_COUNT; r++) {
		if (!by_reason[r])
			continue;
		vg_buf_puts(b, first ? "\"" : ",\"");
		vg_buf_puts(b, vg_json_reason_str(r));
		vg_buf_puts(b, "\":");
		vg_buf_put_u64(b, by_reason[r]);
		first = false;
	}
	vg_buf_putc(b, '}');
}

static void emit_summary(struct classify_run *run, double seconds)
{
	struct vg_buf *b = &run->err;

	vg_buf_putc(b, '{');
	put_record_counts(b, run->records, run->rejected, run->by_reason);
	vg_buf_puts(b, ",\"bytes\":");
	vg_buf_put_u64(b, run->bytes);
	vg_buf_puts(b, ",\"seconds\":");
	vg_buf_put_double(b, (double)(int64_t)(seconds * 1e6) / 1e6);
	vg_buf_puts(b, ",\"mb_per_s\":");
	vg_buf_put_double(b, seconds > 0 ? (double)(int64_t)((double)run->bytes / 1e6 / seconds * 100) / 100 : 0);
	vg_buf_puts(b, "}\n");
}

static int cmd_classify(int argc, char **argv)
{
	struct classify_run run;
	const char *config_path = NULL;
	int i, rc = VG_OK, status = EXIT_OK;

	memset(&run, 0, sizeof(run));
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			run.quiet = true;

		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil classify: unknown option '%s'\n%s", argv[i], usage);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	if (stage_open(&run.st, config_path) != VG_OK)
		return EXIT_CONFIG;
	double t0 = vg_clock_mono_s();

	rc = each_input(argv + i, argc - i, "classify", classify_fd, &run, &status);
	if (rc != VG_OK)
		status = EXIT_IO;
	emit_summary(&run, vg_clock_mono_s() - t0);
	if (flush_outputs(&run, true) != VG_OK)
		status = EXIT_IO;
	vg_buf_free(&run.out);
	vg_buf_free(&run.err);
	stage_close(&run.st);
	return status;
}

/* ---- vigil aggregate --------------------------------------------------- */

#define CHUNK_BYTES (1u << 20)
#define CHUNKS_PER_WORKER 4
#define MAX_THREADS 256
#define CLOSE_EVERY_MS 50
#define FILE_CLOSE_EVERY_MS 5 /* the file workers close windows this often */

/* A chunk of whole lines handed to a worker: its own buffer, or a slice
 * of a mapped input file. */
struct chunk {
	char *buf;
	size_t len, cap;
	char *own; /* the chunk's buffer, restored when it comes back */
};

struct agg_run;

/* What a vigil run worker publishes after each batch and when idle, for
 * the HTTP endpoints: relaxed stores of its own counters, loaded by the
 * closer thread. */
struct worker_pub {
	_Atomic uint64_t records, rejected, by_reason[VG_JR_COUNT];
	_Atomic uint64_t archive_records, archive_dead, frames, files, bytes_in, bytes_out, fsyncs, write_errors, unkept;
	_Atomic uint64_t sync_points, sync_ns;
	_Atomic int archive_err;
	_Atomic int64_t alive_ms; /* monotonic: the last batch end or idle call */
};

struct agg_worker {
	struct agg_run *run;
	struct vg_wworker *ww;
	struct vg_classify_ctx *ctx;
	struct vg_ring *in;       /* chunks to parse; NULL ends */
	uint64_t records, rejected, oversize, by_reason[VG_JR_COUNT];
	int err;
	struct vg_archive *archive; /* vigil run: this worker's archive writer, or NULL */
	int archive_err;            /* last archive error reported (rate limit) */
	struct vg_archive_stats archive_stats; /* as the writer closed */
	pthread_t thread, file_thread;
	struct chunk *buf; /* reading a regular file: this worker's buffer */
	struct worker_pub pub;
};

struct agg_run {
	struct stage st; /* config, paths, classifier (shared); ctx for thread 1 */
	struct vg_windows *win;
	struct vg_wstore *store; /* closed windows kept for rule windows */
	bool store_always;       /* vigil run: rules may come with a reload, so keep
				  * the store filled even while there are none */
	struct vg_rules *rules;
	struct vg_alerts *alerts;
	struct vg_notify *notify;
	const char **counter_names;
	const char *alerts_path; /* NDJSON of alert changes; NULL: logged on stderr */
	bool alerts_stdout;      /* vigil replay: alert changes are the output */
	bool no_notify;          /* vigil replay without --notify: the notify section is ignored */
	int alerts_fd;
	struct vg_buf alerts_out;
	uint64_t alerts_by_state[VG_ALERT_STATES];
	bool exact, quiet;
	unsigned threads;
	struct agg_worker *workers;
	struct vg_ring *free_chunks;
	struct vg_buf out;
	int out_fd;        /* where window rows go */
	bool no_chunk_threads; /* vigil run: the Kafka module runs the workers */
	uint64_t bytes;
	uint64_t oversize;
	int64_t last_close_ms;
	unsigned next_worker; /* the chunk path's round robin */
	/* Reading one regular file with several workers. */
	int file_fd;
	uint64_t file_size, n_ranges;
	_Atomic uint64_t next_range; /* the next range to claim */
	_Atomic bool closing;        /* a file worker is closing windows */
	/* vigil run's HTTP endpoints: called with every closed window. */
	void (*on_window)(void *arg, struct vg_window *win);
	void *on_window_arg;
	/* vigil run's catch-up (notify.catch_up; 0: none): alerts fired on
	 * windows that ended longer ago than this are held, by fingerprint,
	 * until they resolve or the windows reach the clock. */
	int64_t catch_up_ms;
	int64_t eval_end_ms; /* the end of the window the rules evaluate */
	bool catching_up;
	uint64_t *held;
	size_t n_held, cap_held;
};

static void put_label(struct vg_buf *b, const char *key, vg_str v)
{
	vg_buf_puts(b, ",\"");
	vg_buf_puts(b, key);
	vg_buf_puts(b, "\":");
	put_str_or_null(b, v);
}

/* Quantiles and rates printed with 6 significant digits: far finer than
 * the sketch's accuracy, and stable to compare. */
static void put_num(struct vg_buf *b, double v)
{
	char tmp[32];

	if (isnan(v) || isinf(v)) {
		vg_buf_puts(b, "null");
		return;
	}
	vg_buf_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.6g", v));
}

static int cmp_str(vg_str a, vg_str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int cmp_entry(const void *x, const void *y)
{
	const struct vg_agg_key *a = &(*(struct vg_agg_entry *const *)x)->key;
	const struct vg_agg_key *b = &(*(struct vg_agg_entry *const *)y)->key;
	int c;

	if (a->kind != b->kind)
		return a->kind - b->kind;
	if ((c = cmp_str(a->service, b->service)) != 0)
		return c;
	if ((c = cmp_str(a->endpoint, b->endpoint)) != 0)
		return c;
	if ((c = cmp_str(a->method, b->method)) != 0)
		return c;
	if (a->category != b->category)
		return a->category - b->category;
	if (a->level != b->level)
		return a->level - b->level;
	return a->counter - b->counter;
}

/* Is the fingerprint held by the catch-up? Its index, or n_held. */
static size_t held_at(const struct agg_run *run, uint64_t fp)
{
	size_t i = 0;

	while (i < run->n_held && run->held[i] != fp)
		i++;
	return i;
}

/* The catch-up's say on a change for the notifiers: true when it holds
 * it back (a firing decided during the catch-up). A resolve is always
 * sent, whether its firing was held (it then reaches Alertmanager as one
 * resolved alert with both times, which pages nobody) or not. */
static bool catch_up_holds(struct agg_run *run, const struct vg_alert *al)
{
	size_t i = held_at(run, al->fingerprint);

	if (al->state == VG_ALERT_RESOLVED) {
		if (i < run->n_held)
			run->held[i] = run->held[--run->n_held];
		return false;
	}
	if (!run->catching_up)
		return false;
	if (i == run->n_held &&
	    vg_grow(&run->held, &run->cap_held, run->n_held + 1, sizeof(*run->held), 16) != 0)
		return false; /* out of memory: sent rather than lost */
	if (i == run->n_held)
		run->held[run->n_held++] = al->fingerprint;
	return true;
}

/* Every alert the catch-up held that still fires, sent now. */
static void send_held(void *arg, const struct vg_alert *al)
{
	struct agg_run *run = arg;

	if (al->state == VG_ALERT_FIRING && held_at(run, al->fingerprint) < run->n_held)
		vg_notify_push(run->notify, al);
}

/* Before the rules evaluate the window ending at end_ms: is this a
 * catch-up? Once the windows reach the clock again, the alerts held
 * that still fire are sent, once. */
static void catch_up_window(struct agg_run *run, int64_t end_ms)
{
	bool behind = run->catch_up_ms > 0 && vg_clock_now_ms() - end_ms > run->catch_up_ms;

	run->eval_end_ms = end_ms;
	if (behind == run->catching_up)
		return;
	run->catching_up = behind;
	if (behind) {
		vg_log_kv(VG_LOG_INFO, "alerts",
			  "catching up: alerts that fire and resolve within the backlog are sent as resolved, "
			  "those still firing at its end are sent then",
			  VG_LOG_I("behind_ms", vg_clock_now_ms() - end_ms));
		return;
	}
	vg_log_kv(VG_LOG_INFO, "alerts", "caught up: alert changes are sent as they happen",
		  VG_LOG_I("held_firing", (int64_t)run->n_held));
	if (run->n_held && run->notify)
		vg_alerts_each(run->alerts, send_held, run);
	run->n_held = 0;
}

/* An alert changed state: one NDJSON line to --alerts, or a log line. */
static void emit_alert(void *arg, const struct vg_alert *al)
{
	struct agg_run *run = arg;
	struct vg_buf *b = &run->alerts_out;

	run->alerts_by_state[al->state]++;
	bool quiet = al->state == VG_ALERT_PENDING || al->state == VG_ALERT_INACTIVE;

	if (run->notify && !quiet && !catch_up_holds(run, al))
		vg_notify_push(run->notify, al); /* logged there on failure */
	if (run->alerts_fd < 0)
		vg_buf_puts(b, quiet ? "{\"level\":\"INFO\",\"component\":\"alerts\",\"alert\":"
							    : "{\"level\":\"WARNING\",\"component\":\"alerts\",\"alert\":");
	vg_alert_json(al, b);
	if (run->alerts_fd < 0)
		vg_buf_putc(b, '}');
	vg_buf_putc(b, '\n');
}

static int flush_alerts(struct agg_run *run)
{
	return vg_buf_write_fd(&run->alerts_out, run->alerts_fd < 0 ? STDERR_FILENO : run->alerts_fd);
}

#define STORE_RING_MS 3600000 /* base windows kept with quantiles */

/* What rules see of the configuration; *names (the counters') is the
 * caller's to free. Returns 0 or VG_ERR_NOMEM. */
static int rules_env(const struct vg_config *cfg, int64_t window_ms, struct vg_rules_env *env, const char ***names)
{
	if (!(*names = calloc(cfg->n_counters + 1, sizeof(char *))))
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < cfg->n_counters; i++)
		(*names)[i] = cfg->counters[i].name;
	*env = (struct vg_rules_env){.categories = (const char *const *)cfg->categories.v,
				     .n_categories = cfg->categories.n,
				     .counters = *names,
				     .n_counters = cfg->n_counters,
				     .window_ms = window_ms,
				     .ring_ms = STORE_RING_MS};
	return VG_OK;
}

/* Compile the configured rules and start the engine. */
static int alerts_setup(struct agg_run *run, const struct vg_table_params *tp, int64_t window_ms)
{
	const struct vg_config *cfg = run->st.cfg;
	struct vg_rules_env env;
	char err[1024];
	int rc;

	if (rules_env(cfg, window_ms, &env, &run->counter_names) != VG_OK)
		return VG_ERR_NOMEM;
	rc = vg_rules_load(&run->rules, (const char *const *)cfg->rule_files.v, cfg->rule_files.n, &env, err,
			   sizeof(err));
	if (rc != VG_OK) {
		fprintf(stderr, "vigil: %s\n", rc == VG_ERR_NOMEM ? "out of memory" : err);
		return rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
	}
	if (vg_alerts_create(&run->alerts, run->rules, tp) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->alerts_stdout)
		run->alerts_fd = STDOUT_FILENO;
	else if (run->alerts_path &&
		 (run->alerts_fd = open(run->alerts_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "vigil: --alerts %s: %s\n", run->alerts_path, strerror(errno));
		return VG_ERR_CONFIG;
	}
	if (run->no_notify)
		return VG_OK;
	struct vg_notify_webhook hooks[VG_MAX_WEBHOOKS];
	struct vg_notify_params np = {
		.alertmanager_url = strcmp(cfg->notify_alertmanager, "off") ? cfg->notify_alertmanager : NULL,
		.resend_ms = cfg->notify_resend_ms,
		.webhooks = hooks,
		.n_webhooks = cfg->n_notify_webhooks,
		.kafka_brokers = cfg->notify_kafka_brokers ? cfg->notify_kafka_brokers : cfg->kafka_brokers,
		.kafka_topic = strcmp(cfg->notify_kafka_topic, "off") ? cfg->notify_kafka_topic : NULL,
		.kafka_properties = (const char *const *)cfg->notify_kafka_properties.v,
		.n_kafka_properties = cfg->notify_kafka_properties.n,
		.file = strcmp(cfg->notify_file, "off") ? cfg->notify_file : NULL,
		.outbox_dir = cfg->notify_outbox_dir,
		.outbox_max = cfg->notify_outbox_max,
		.timeout_ms = cfg->notify_timeout_ms,
		.generator_url = "",
	};

	for (size_t i = 0; i < cfg->n_notify_webhooks; i++)
		hooks[i] = (struct vg_notify_webhook){cfg->notify_webhooks[i].url, cfg->notify_webhooks[i].secret};

	if ((rc = vg_notify_create(&run->notify, &np, err, sizeof(err))) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
	}
	return VG_OK;
}

/* One row of a closed window (e is not const: vg_agg_quantile sorts
 * --exact samples in place). */
static void put_row(struct agg_run *run, struct vg_agg_entry *e, const char *start, const char *end)
{
	struct vg_buf *b = &run->out;

	vg_buf_puts(b, "{\"window_start\":\"");
	vg_buf_puts(b, start);
	vg_buf_puts(b, "\",\"window_end\":\"");
	vg_buf_puts(b, end);
	vg_buf_putc(b, '"');
	if (e->key.kind == VG_AGG_COUNTER) {
		vg_buf_puts(b, ",\"counter\":");
		vg_buf_put_json_str(b, vg_str_cstr(run->st.cfg->counters[e->key.counter].name));
	}
	put_label(b, "service", e->key.service);
	if (e->key.kind == VG_AGG_HTTP) {
		put_label(b, "endpoint", e->key.endpoint);
		put_label(b, "method", e->key.method);
	} else if (e->key.kind == VG_AGG_LOG) {
		vg_buf_puts(b, ",\"category\":");
		vg_buf_put_json_str(b, vg_str_cstr(vg_classifier_category_name(run->st.classifier, e->key.category)));
		vg_buf_puts(b, ",\"level\":\"");
		vg_buf_puts(b, vg_level_name(e->key.level));
		vg_buf_putc(b, '"');
	}
	vg_buf_puts(b, ",\"count\":");
	vg_buf_put_u64(b, e->count);
	if (e->key.kind == VG_AGG_HTTP) {
		vg_buf_puts(b, ",\"errors_4xx\":");
		vg_buf_put_u64(b, e->errors_4xx);
		vg_buf_puts(b, ",\"errors_5xx\":");
		vg_buf_put_u64(b, e->errors_5xx);
		vg_buf_puts(b, ",\"error_rate\":");
		put_num(b, e->count ? (double)e->errors_5xx / (double)e->count : 0);
		vg_buf_puts(b, ",\"p50\":");
		put_num(b, vg_agg_quantile(e, 0.50, run->exact));
		vg_buf_puts(b, ",\"p95\":");
		put_num(b, vg_agg_quantile(e, 0.95, run->exact));
		vg_buf_puts(b, ",\"p99\":");
		put_num(b, vg_agg_quantile(e, 0.99, run->exact));
		vg_buf_puts(b, ",\"max\":");
		put_num(b, e->latency.count ? e->latency.max : NAN);
	}
	vg_buf_puts(b, "}\n");
}

/* Print a closed window as NDJSON rows, one per key, sorted. */
static int print_window(struct agg_run *run, const struct vg_window *win)
{
	size_t n = vg_table_size(win->table);
	struct vg_agg_entry **rows = malloc((n ? n : 1) * sizeof(*rows));
	char start[32], end[32];

	if (!rows)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		rows[i] = vg_table_entry(win->table, i);
	qsort(rows, n, sizeof(*rows), cmp_entry);
	vg_clock_format_rfc3339(win->start_ms, start);
	vg_clock_format_rfc3339(win->end_ms, end);
	for (size_t i = 0; i < n; i++)
		put_row(run, rows[i], start, end);
	free(rows);
	return VG_OK;
}

/* A closed window: its rows (unless --quiet), the HTTP pages' hook, the
 * store, and the rules at the window's end. */
static int emit_window(struct vg_window *win, void *arg)
{
	struct agg_run *run = arg;
	struct vg_buf *b = &run->out;

	if (!run->quiet && print_window(run, win) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->on_window)
		run->on_window(run->on_window_arg, win);
	/* The store serves only the rules: without any (and no reload to
	 * bring some), freezing every window into it is work nobody reads. */
	if ((run->store_always || vg_rules_count(run->rules)) && vg_wstore_add(run->store, win) != VG_OK)
		return VG_ERR_NOMEM;
	/* Rules run at the window's end, in event time: a replay alerts as
	 * the live stream did. */
	if (run->catch_up_ms)
		catch_up_window(run, win->end_ms);
	if (run->alerts && vg_alerts_eval(run->alerts, run->store, win->end_ms, emit_alert, run) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->alerts_out.len && flush_alerts(run) != VG_OK)
		return VG_ERR_IO;
	if (b->len >= (1u << 20) && vg_buf_write_fd(b, run->out_fd) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

/* Close windows, unless the last close was less than every_ms ago. */
static void agg_close_after(struct agg_run *run, bool flush, int64_t every_ms)
{
	int64_t now = (int64_t)(vg_clock_mono_s() * 1000);

	if (!flush && now - run->last_close_ms < every_ms)
		return;
	run->last_close_ms = now;
	int rc = vg_windows_close(run->win, flush, emit_window, run);

	if (rc != VG_OK)
		vg_log_kv(VG_LOG_ERROR, "aggregate", "closing windows failed", VG_LOG_S("error", vg_err_str(rc)));
	/* vigil run: the rows of windows closed reach --windows now, not in
	 * 1 MiB blocks (a live run closes a window every few seconds). */
	if (run->no_chunk_threads && run->out.len && vg_buf_write_fd(&run->out, run->out_fd) != VG_OK)
		vg_log(VG_LOG_ERROR, "aggregate", "writing window rows failed");
}

static void agg_close(struct agg_run *run, bool flush)
{
	agg_close_after(run, flush, CLOSE_EVERY_MS);
}

/* Parse and classify one line into rec; false (counted) when rejected. */
static bool agg_parse(struct agg_worker *w, const char *p, size_t len, struct vg_record *rec)
{
	struct vg_json_error jerr;

	w->records++;
	if (vg_json_extract(w->run->st.paths, &w->run->st.limits, p, len, rec, &jerr) != VG_OK) {
		w->rejected++;
		w->by_reason[jerr.reason]++;
		return false;
	}
	vg_classify(w->ctx, rec);
	return true;
}

static void agg_add(struct agg_worker *w, const struct vg_record *rec)
{
	if (vg_wworker_add(w->ww, rec, VG_TIME_NONE, 0, NULL) != VG_OK)
		w->err = VG_ERR_NOMEM;
}

/* Parse, classify and aggregate one line. */
static void agg_line(struct agg_worker *w, const char *p, size_t len)
{
	struct vg_record rec;

	if (agg_parse(w, p, len, &rec))
		agg_add(w, &rec);
}

static void agg_chunk(struct agg_worker *w, const struct chunk *c)
{
	const char *s = c->buf, *end = c->buf + c->len;

	vg_wworker_begin(w->ww);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s); /* the last may lack '\n' */

		agg_line(w, s, l);
		s += l + 1;
	}
	vg_wworker_end(w->ww);
}

static void *agg_worker_main(void *arg)
{
	struct agg_worker *w = arg;
	struct chunk *c;

	while ((c = vg_ring_take(w->in)) != NULL) {
		agg_chunk(w, c);
		c->len = 0;
		c->buf = c->own;
		vg_ring_put(w->run->free_chunks, c);
	}
	vg_wworker_finish(w->ww);
	return NULL;
}

/* One thread: read lines and aggregate them inline. */
/* A quiet input (one thread): close what windows are due meanwhile. */
static void agg_inline_idle(void *arg)
{
	struct agg_run *run = arg;

	vg_wworker_end(run->workers[0].ww);
	agg_close(run, false);
	vg_wworker_begin(run->workers[0].ww);
}

/* A quiet input (worker threads): close what windows are due meanwhile. */
static void agg_chunked_idle(void *arg)
{
	agg_close(arg, false);
}

#define IDLE_MS 100 /* how often a quiet input lets windows close */
#define INLINE_BATCH_MAX 65536 /* records a batch ends at, in a long window */

static int agg_fd_inline(struct agg_run *run, int fd, const char *name)
{
	struct agg_worker *w = &run->workers[0];
	struct vg_lines *lines;
	vg_str line;
	bool oversize;
	uint64_t batch = 0;
	int rc;

	if (vg_lines_open(&lines, fd, run->st.limits.max_bytes) != VG_OK)
		return VG_ERR_NOMEM;
	vg_lines_set_idle(lines, IDLE_MS, agg_inline_idle, run);
	struct vg_record rec;

	vg_wworker_begin(w->ww);
	while ((rc = vg_lines_next(lines, &line, &oversize)) == 1) {
		if (oversize) {
			run->oversize++;
			continue;
		}
		if (!agg_parse(w, line.p, line.len, &rec))
			continue;
		if (++batch > INLINE_BATCH_MAX || vg_wworker_later(w->ww, &rec)) {
			vg_wworker_end(w->ww);
			/* The worker is the closer here: close after every batch,
			 * a batch being the records of one window, so that a shard
			 * holds one window's keys, each once, and becomes that
			 * window's pending table whole. */
			agg_close_after(run, false, 0);
			vg_wworker_begin(w->ww);
			batch = 1;
		}
		agg_add(w, &rec);
	}
	vg_wworker_end(w->ww);
	if (rc == VG_ERR_IO)
		fprintf(stderr, "vigil aggregate: %s: read error: %s\n", name, strerror(errno));
	run->bytes += vg_lines_bytes(lines);
	vg_lines_close(lines);
	return rc < 0 ? rc : VG_OK;
}

static void agg_dispatch(struct agg_run *run, struct chunk *c, unsigned *next)
{
	vg_ring_put(run->workers[*next].in, c);
	*next = (*next + 1) % run->threads;
	agg_close(run, false);
}

/* Several threads: read straight into chunk buffers and hand each worker
 * whole lines, cut at the chunk's last newline; the partial line moves to
 * the next chunk. A line longer than a chunk is skipped and counted as
 * oversize, like vg_lines does. */
/* Dispatch c's whole lines (up to and with the newline at last); the
 * partial line after it moves to a fresh chunk, which is returned. */
static struct chunk *agg_dispatch_lines(struct agg_run *run, struct chunk *c, const char *last, unsigned *next)
{
	struct chunk *d = vg_ring_take(run->free_chunks);
	size_t whole = (size_t)(last + 1 - c->buf);

	d->len = c->len - whole;
	memcpy(d->buf, last + 1, d->len);
	c->len = whole;
	agg_dispatch(run, c, next);
	return d;
}

static int agg_fd_chunked(struct agg_run *run, int fd, const char *name, unsigned *next)
{
	struct chunk *c = vg_ring_take(run->free_chunks);
	bool skipping = false;
	int rc = VG_OK;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		/* A quiet pipe: hand over the whole lines read so far, then let
		 * windows close while it stays quiet. A busy input fills chunks. */
		if (poll(&pf, 1, 0) == 0) {
			char *last = c->len ? memrchr(c->buf, '\n', c->len) : NULL;

			if (last && !skipping)
				c = agg_dispatch_lines(run, c, last, next);
			vg_fd_wait(fd, IDLE_MS, agg_chunked_idle, run);
		}
		ssize_t n = read(fd, c->buf + c->len, c->cap - 1 - c->len); /* room for a final '\n' */

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vigil aggregate: %s: read error: %s\n", name, strerror(errno));
			rc = VG_ERR_IO;
			break;
		}
		run->bytes += (uint64_t)n;
		size_t start = c->len;

		c->len += (size_t)n;
		if (skipping) {
			char *nl = memchr(c->buf + start, '\n', c->len - start);

			if (!nl) {
				c->len = 0;
				if (n == 0)
					break;
				continue;
			}
			skipping = false;
			size_t rest = c->len - (size_t)(nl + 1 - c->buf);

			memmove(c->buf, nl + 1, rest);
			c->len = rest;
		}
		if (n == 0) { /* end of input */
			if (c->len > 0) {
				if (c->buf[c->len - 1] != '\n')
					c->buf[c->len++] = '\n'; /* a last line without one */
				agg_dispatch(run, c, next);
			} else {
				vg_ring_put(run->free_chunks, c);
			}
			return VG_OK;
		}
		if (c->len < CHUNK_BYTES)
			continue; /* fill the chunk first */
		char *last = memrchr(c->buf, '\n', c->len);

		if (!last) {
			run->oversize++; /* a line longer than a chunk */
			skipping = true;
			c->len = 0;
			continue;
		}
		c = agg_dispatch_lines(run, c, last, next);
	}
	vg_ring_put(run->free_chunks, c);
	return rc;
}

/* A file worker's unit of work. Small enough that the workers' buffers
 * (one range and a line) stay few pages, and that they finish the file
 * together; large enough that claiming one is rare. */
#define RANGE_BYTES (256u << 10)
#define TAIL_FIRST (4u << 10) /* first read past a range; each next one doubles */

/* buf[0..n) from fd at off, fewer at the end of the file; *err is set on
 * a read error. Returns the bytes read. */
static size_t read_at(int fd, char *buf, size_t n, uint64_t off, int *err)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			*err = VG_ERR_IO;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Several threads over a regular file: each worker claims RANGE_BYTES
 * ranges in order from a shared counter and preads them itself, so reading is as
 * parallel as parsing. A range's lines are those that start inside it;
 * the line crossing its end is read on (up to one longest record) and
 * finished by this worker, and the next range skips to its first newline.
 * A worker's ranges increase, so its event times stay in order. */
static void agg_range(struct agg_worker *w, int fd, uint64_t k, struct chunk *c)
{
	struct agg_run *run = w->run;
	uint64_t off = k * RANGE_BYTES, end = off + RANGE_BYTES;
	uint64_t from = off ? off - 1 : 0; /* one byte back: was the range start a line start? */
	size_t range = (size_t)(end - from), max = range + run->st.limits.max_bytes + 1;
	size_t step = TAIL_FIRST, want = range + step, got;

	if (max > c->cap)
		max = c->cap;
	if (want > max)
		want = max;
	/* Past the range, read on in growing steps only until the line
	 * crossing its end ends: reading a longest record (1 MiB by default)
	 * past every range read the file twice over. */
	got = read_at(fd, c->own, want, from, &w->err);
	while (got == want && want < max && !memchr(c->own + range - 1, '\n', got - (range - 1))) {
		step *= 2;
		want = want + step < max ? want + step : max;
		got += read_at(fd, c->own + got, want - got, from + got, &w->err);
	}
	const char *p = c->own, *lim = c->own + got, *stop = c->own + (end - from);

	if (off) { /* skip the tail of a line that started in the range before */
		const char *nl = memchr(p, '\n', got);

		p = nl ? nl + 1 : lim;
	}
	vg_wworker_begin(w->ww);
	while (p < lim && p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(lim - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(lim - p);

		if (!nl && from + got < run->file_size) {
			/* no newline within a record's length past the range: an
			 * oversize line (its rest is skipped by the next range) */
			w->oversize++;
			break;
		}
		agg_line(w, p, l);
		p += l + 1;
	}
	vg_wworker_end(w->ww);
}

/* Between ranges, a file worker closes the windows due, unless another
 * is at it: closing is one thread at a time, and the flag's acquire and
 * release order one closer's work before the next's. The workers close
 * themselves rather than a third thread on a timer, which competed with
 * them for the cores: preempting a worker, or, starved, letting shards
 * and pending windows pile up (thousands of keys, all faulted in). */
static void agg_file_close(struct agg_run *run)
{
	if (atomic_exchange_explicit(&run->closing, true, memory_order_acquire))
		return;
	agg_close_after(run, false, FILE_CLOSE_EVERY_MS);
	atomic_store_explicit(&run->closing, false, memory_order_release);
}

static void *agg_file_worker(void *arg)
{
	struct agg_worker *w = arg;
	struct agg_run *run = w->run;
	uint64_t k;

	while ((k = atomic_fetch_add(&run->next_range, 1)) < run->n_ranges) {
		agg_range(w, run->file_fd, k, w->buf);
		agg_file_close(run);
	}
	vg_wworker_finish(w->ww);
	return NULL;
}

static int agg_fd(void *arg, int fd, const char *name)
{
	struct agg_run *run = arg;
	unsigned *next = &run->next_worker;

	struct stat st;

	if (run->threads == 1)
		return agg_fd_inline(run, fd, name);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) != 0)
		return agg_fd_chunked(run, fd, name, next);
	/* A regular file: the chunk workers idle while file workers read it. */
	run->file_fd = fd;
	run->file_size = (uint64_t)st.st_size;
	run->n_ranges = ((uint64_t)st.st_size + RANGE_BYTES - 1) / RANGE_BYTES;
	atomic_store(&run->next_range, 0);
	for (unsigned i = 0; i < run->threads; i++) {
		struct agg_worker *w = &run->workers[i];

		w->buf = vg_ring_take(run->free_chunks);
		if (pthread_create(&w->file_thread, NULL, agg_file_worker, w) != 0) {
			w->err = VG_ERR_NOMEM;
			agg_file_worker(w); /* run it here instead */
			w->file_thread = pthread_self();
		}
	}
	/* The workers close windows as they go (agg_file_close): closing
	 * often keeps the shards small (about 5 ms of records), so fewer
	 * sketches are in flight and fewer fresh pages are faulted in than
	 * with CLOSE_EVERY_MS. */
	for (unsigned i = 0; i < run->threads; i++) {
		struct agg_worker *w = &run->workers[i];

		if (!pthread_equal(w->file_thread, pthread_self()))
			pthread_join(w->file_thread, NULL);
		vg_ring_put(run->free_chunks, w->buf);
		w->buf = NULL;
	}
	run->bytes += (uint64_t)st.st_size;
	return VG_OK;
}

/* How far the watermark wm runs behind time t (0 before the first). */
static uint64_t watermark_behind(int64_t wm, int64_t t)
{
	return wm == INT64_MIN || t == VG_TIME_NONE || t <= wm ? 0 : (uint64_t)(t - wm);
}

/* The summary line on standard error; extra: more JSON members to append
 * (vigil run's committed offsets), or NULL. */
static void agg_summary(struct agg_run *run, double seconds, const char *extra)
{
	struct vg_windows_stats ws;
	struct vg_buf b = {0};
	uint64_t records = run->oversize, rejected = run->oversize, by_reason[VG_JR_COUNT] = {0};

	by_reason[VG_JR_SIZE] = run->oversize;
	for (unsigned i = 0; i < run->threads; i++) {
		records += run->workers[i].records + run->workers[i].oversize;
		rejected += run->workers[i].rejected + run->workers[i].oversize;
		by_reason[VG_JR_SIZE] += run->workers[i].oversize;
		for (int r = 0; r < VG_JR_COUNT; r++)
			by_reason[r] += run->workers[i].by_reason[r];
	}
	vg_windows_get_stats(run->win, &ws);
	vg_buf_putc(&b, '{');
	put_record_counts(&b, records, rejected, by_reason);
	vg_buf_puts(&b, ",\"aggregated\":");
	vg_buf_put_u64(&b, ws.records);
	vg_buf_puts(&b, ",\"late\":");
	vg_buf_put_u64(&b, ws.late);
	vg_buf_puts(&b, ",\"no_time\":");
	vg_buf_put_u64(&b, ws.no_time);
	vg_buf_puts(&b, ",\"no_time_by_reason\":{");
	for (int r = VG_TIME_ABSENT, first = 1; r < VG_TIME_ERR_COUNT; r++) {
		if (!ws.no_time_by[r])
			continue;
		vg_buf_puts(&b, first ? "\"" : ",\"");
		vg_buf_puts(&b, vg_time_err_str((enum vg_time_err)r));
		vg_buf_puts(&b, "\":");
		vg_buf_put_u64(&b, ws.no_time_by[r]);
		first = 0;
	}
	vg_buf_puts(&b, "},\"skewed\":{\"ahead\":");
	vg_buf_put_u64(&b, ws.skewed_ahead);
	vg_buf_puts(&b, ",\"behind\":");
	vg_buf_put_u64(&b, ws.skewed_behind);
	vg_buf_puts(&b, "},\"durations_rejected\":{");
	for (int r = 0; r < VG_DURATION_ERR_COUNT; r++) {
		vg_buf_puts(&b, r ? ",\"" : "\"");
		vg_buf_puts(&b, vg_windows_duration_err_str(r));
		vg_buf_puts(&b, "\":");
		vg_buf_put_u64(&b, ws.duration_err[r]);
	}
	vg_buf_puts(&b, "},\"watermark\":{\"behind_newest_ms\":");
	vg_buf_put_u64(&b, watermark_behind(ws.last_watermark_ms, ws.newest_ms));
	vg_buf_puts(&b, ",\"behind_clock_ms\":");
	vg_buf_put_u64(&b, watermark_behind(ws.last_watermark_ms, vg_clock_now_ms()));
	vg_buf_puts(&b, "},\"windows\":");
	vg_buf_put_u64(&b, ws.closed);
	vg_buf_puts(&b, ",\"keys_overflow\":");
	vg_buf_put_u64(&b, ws.overflow);
	vg_buf_puts(&b, ",\"store_bytes\":");
	vg_buf_put_u64(&b, vg_wstore_bytes(run->store));
	vg_buf_puts(&b, ",\"rules\":");
	vg_buf_put_u64(&b, vg_rules_count(run->rules));
	vg_buf_puts(&b, ",\"alerts\":{\"pending\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_PENDING]);
	vg_buf_puts(&b, ",\"firing\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_FIRING]);
	vg_buf_puts(&b, ",\"resolved\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_RESOLVED]);
	vg_buf_putc(&b, '}');
	if (run->notify) {
		/* Give the notifiers a bounded moment to deliver what the last
		 * windows decided; what is left stays in the outbox. */
		struct vg_notify_stats ns;

		if (!vg_notify_drain(run->notify, 5000))
			vg_log(VG_LOG_WARNING, "notify", "undelivered alerts stay in the outbox for the next start");
		vg_notify_get_stats(run->notify, &ns);
		vg_buf_puts(&b, ",\"notify\":{");
		for (size_t i = 0; i < ns.n; i++) {
			char one[256];

			snprintf(one, sizeof(one),
				 "%s\"%s\":{\"sent\":%llu,\"resent\":%llu,\"retried\":%llu,\"failed\":%llu,"
				 "\"dropped\":%llu,\"pending\":%llu}",
				 i ? "," : "", ns.name[i], (unsigned long long)ns.sent[i], (unsigned long long)ns.resent[i],
				 (unsigned long long)ns.retried[i], (unsigned long long)ns.failed[i],
				 (unsigned long long)ns.dropped[i], (unsigned long long)ns.pending[i]);
			vg_buf_puts(&b, one);
		}
		vg_buf_putc(&b, '}');
	}
	vg_buf_puts(&b, ",\"threads\":");
	vg_buf_put_u64(&b, run->threads);
	vg_buf_puts(&b, ",\"bytes\":");
	vg_buf_put_u64(&b, run->bytes);
	vg_buf_puts(&b, ",\"seconds\":");
	vg_buf_put_double(&b, (double)(int64_t)(seconds * 1e6) / 1e6);
	vg_buf_puts(&b, ",\"mb_per_s\":");
	vg_buf_put_double(&b, seconds > 0 ? (double)(int64_t)((double)run->bytes / 1e6 / seconds * 100) / 100 : 0);
	if (extra)
		vg_buf_puts(&b, extra);
	vg_buf_puts(&b, "}\n");
	vg_buf_write_fd(&b, STDERR_FILENO);
	vg_buf_free(&b);
}

static int agg_setup(struct agg_run *run, int64_t window_ms)
{
	run->alerts_fd = -1;
	struct vg_windows_params wp = {
		.window_ms = window_ms > 0 ? window_ms : run->st.cfg->window_ms,
		.lateness_ms = run->st.cfg->lateness_ms,
		.idle_timeout_ms = run->st.cfg->idle_timeout_ms,
		.skew_ahead_ms = run->st.cfg->skew_ahead_ms,
		.skew_behind_ms = run->st.cfg->skew_behind_ms,
		.max_duration_ms = (double)run->st.cfg->max_duration_ms,
		.workers = run->threads,
		/* vigil run: the Kafka partitions are registered streams. */
		.max_streams = run->no_chunk_threads ? VG_KAFKA_MAX_PARTS : 0,
		.table = {.map = vg_sketch_map_get(run->st.cfg->accuracy), .max_keys = run->st.cfg->max_keys,
			  .exact = run->exact},
	};

	if (!wp.table.map) {
		fprintf(stderr, "vigil: aggregate.accuracy %g is finer than the sketch supports\n",
			run->st.cfg->accuracy);
		return VG_ERR_CONFIG;
	}
	struct vg_wstore_params sp = {.window_ms = wp.window_ms, .ring_ms = STORE_RING_MS, .retain_ms = 3 * 86400000LL,
				      .map = wp.table.map};

	if (vg_windows_create(&run->win, &wp) != VG_OK || vg_wstore_create(&run->store, &sp) != VG_OK)
		return VG_ERR_NOMEM;
	int rc = alerts_setup(run, &wp.table, wp.window_ms);

	if (rc != VG_OK)
		return rc;
	if (!(run->workers = calloc(run->threads, sizeof(*run->workers))))
		return VG_ERR_NOMEM;
	if (vg_ring_create(&run->free_chunks, (size_t)run->threads * CHUNKS_PER_WORKER) != VG_OK)
		return VG_ERR_NOMEM;
	for (unsigned i = 0; i < run->threads; i++) {
		struct agg_worker *w = &run->workers[i];

		w->run = run;
		w->ww = vg_windows_worker(run->win, i);
		if (i == 0) {
			w->ctx = run->st.ctx;
		} else if (vg_classify_ctx_create(&w->ctx, run->st.classifier) != VG_OK) {
			return VG_ERR_NOMEM;
		}
		if (run->threads == 1 || run->no_chunk_threads)
			continue;
		if (vg_ring_create(&w->in, CHUNKS_PER_WORKER) != VG_OK)
			return VG_ERR_NOMEM;
		for (int k = 0; k < CHUNKS_PER_WORKER; k++) {
			struct chunk *c = calloc(1, sizeof(*c));

			/* A chunk holds CHUNK_BYTES plus one longest record, so a
			 * partial line carried over always fits. */
			size_t cap = CHUNK_BYTES + run->st.limits.max_bytes + 2;

			if (!c || !(c->buf = malloc(cap))) {
				free(c);
				return VG_ERR_NOMEM;
			}
			c->own = c->buf;
			c->cap = cap;
			vg_ring_put(run->free_chunks, c);
		}
		if (pthread_create(&w->thread, NULL, agg_worker_main, w) != 0)
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

static void agg_teardown(struct agg_run *run)
{
	size_t n_chunks = run->threads > 1 && !run->no_chunk_threads ? (size_t)run->threads * CHUNKS_PER_WORKER : 0;

	for (unsigned i = 0; run->workers && i < run->threads; i++) {
		if (i > 0 || run->workers[i].ctx != run->st.ctx) /* worker 0 starts with the stage's */
			vg_classify_ctx_destroy(run->workers[i].ctx);
		vg_ring_destroy(run->workers[i].in);
	}
	for (size_t k = 0; run->free_chunks && k < n_chunks; k++) {
		struct chunk *c = vg_ring_take(run->free_chunks);

		free(c->own);
		free(c);
	}
	vg_ring_destroy(run->free_chunks);
	free(run->workers);
	vg_windows_destroy(run->win);
	vg_wstore_destroy(run->store);
	vg_notify_destroy(run->notify); /* drained (bounded) by the summary */
	vg_alerts_destroy(run->alerts);
	vg_rules_destroy(run->rules);
	free(run->counter_names);
	if (run->n_held)
		vg_log_kv(VG_LOG_WARNING, "alerts",
			  "stopped while catching up: alerts still firing in the backlog were not sent (the next start "
			  "evaluates the backlog again)",
			  VG_LOG_I("held_firing", (int64_t)run->n_held));
	free(run->held);
	if (run->alerts_fd >= 0 && run->alerts_fd != STDOUT_FILENO)
		close(run->alerts_fd);
	vg_buf_free(&run->alerts_out);
	vg_buf_free(&run->out);
	stage_close(&run->st);
}

/* agg_setup for command cmd: EXIT_OK, or the stage torn down and the exit
 * status (agg_setup says a configuration error's reason itself). */
static int agg_start(struct agg_run *run, int64_t window_ms, const char *cmd)
{
	int rc = agg_setup(run, window_ms);

	if (rc == VG_OK)
		return EXIT_OK;
	if (rc == VG_ERR_NOMEM)
		fprintf(stderr, "vigil %s: out of memory\n", cmd);
	agg_teardown(run);
	return rc == VG_ERR_CONFIG ? EXIT_CONFIG : EXIT_IO;
}

/* vigil aggregate, and vigil replay (replay): the same pipeline, whose
 * output is then the alert changes alone, and which notifies no one unless
 * asked with --notify (a backtest must not page anyone). */
static int aggregate_main(int argc, char **argv, bool replay)
{
	const char *cmd = replay ? "replay" : "aggregate";
	struct agg_run run;
	const char *config_path = NULL;
	int64_t window_ms = 0;
	long threads = 1;
	int i, rc = VG_OK, status = EXIT_OK, log_level = -1;

	memset(&run, 0, sizeof(run));
	run.out_fd = STDOUT_FILENO;
	run.quiet = run.alerts_stdout = run.no_notify = replay;
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
			window_ms = vg_config_parse_duration(argv[++i]);
			if (window_ms < 100) {
				fprintf(stderr, "vigil %s: --window: expected a duration of 100ms or more, got '%s'\n",
					cmd, argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			char *end;

			threads = strtol(argv[++i], &end, 10);
			if (*end || threads < 1 || threads > MAX_THREADS) {
				fprintf(stderr, "vigil %s: --threads: expected 1 to 256, got '%s'\n", cmd, argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--exact") == 0) {
			run.exact = true;
		} else if (!replay && strcmp(argv[i], "--alerts") == 0 && i + 1 < argc) {
			run.alerts_path = argv[++i];
		} else if (!replay && (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)) {
			run.quiet = true;
		} else if (replay && strcmp(argv[i], "--notify") == 0) {
			run.no_notify = false;
		} else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if ((log_level = log_level_arg("aggregate", argv[++i])) < 0)
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil %s: unknown option '%s'\n%s", cmd, argv[i], usage);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	run.threads = (unsigned)threads;
	if (stage_open(&run.st, config_path) != VG_OK)
		return EXIT_CONFIG;
	log_level_apply(log_level, run.st.cfg);
	if ((status = agg_start(&run, window_ms, cmd)) != EXIT_OK)
		return status;
	double t0 = vg_clock_mono_s();

	rc = each_input(argv + i, argc - i, cmd, agg_fd, &run, &status);
	if (run.threads == 1) {
		vg_wworker_finish(run.workers[0].ww);
	} else {
		for (unsigned k = 0; k < run.threads; k++)
			vg_ring_put(run.workers[k].in, NULL);
		for (unsigned k = 0; k < run.threads; k++)
			pthread_join(run.workers[k].thread, NULL);
	}
	agg_close(&run, true);
	for (unsigned k = 0; k < run.threads; k++) {
		if (run.workers[k].err) {
			fprintf(stderr, "vigil %s: out of memory while aggregating\n", cmd);
			status = EXIT_IO;
		}
	}
	if (rc != VG_OK || vg_buf_write_fd(&run.out, run.out_fd) != VG_OK)
		status = EXIT_IO;
	agg_summary(&run, vg_clock_mono_s() - t0, NULL);
	agg_teardown(&run);
	return status;
}

static int cmd_aggregate(int argc, char **argv)
{
	return aggregate_main(argc, argv, false);
}

static int cmd_replay(int argc, char **argv)
{
	return aggregate_main(argc, argv, true);
}

/* ---- signals ----------------------------------------------------------- */

/* Set by the stop signals (a lock-free atomic is safe in a handler) and
 * read by the pipeline and the demo's producer thread. */
static atomic_int stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* SIGTERM and SIGINT set stop_requested; blocking calls return EINTR. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit (RLIMIT_FSIZE) is a write error the archive rides
	 * out like a full disk (EFBIG), not a reason to die. */
	signal(SIGXFSZ, SIG_IGN);
}

/* ---- vigil broker ------------------------------------------------------ */

static int cmd_broker(int argc, char **argv)
{
	struct vg_broker *b;
	char err[512], line[1024];
	long n = 1;
	int status = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			n = strtol(argv[++i], NULL, 10);
			if (n < 1 || n > 16) {
				fprintf(stderr, "vigil broker: --brokers: 1 to 16\n");
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
			i++; /* created below, once the cluster runs */
		} else {
			fprintf(stderr, "vigil broker: unknown option '%s'\n%s", argv[i], usage);
			return EXIT_USAGE;
		}
	}
	catch_stop_signals();
	if (vg_broker_start(&b, (int)n, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil broker: %s\n", err);
		return EXIT_IO;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--topic") != 0)
			continue;
		const char *spec = argv[++i], *colon = strchr(spec, ':');
		long parts = colon ? strtol(colon + 1, NULL, 10) : 1;

		snprintf(line, sizeof(line), "topic %.*s %ld", (int)(colon ? colon - spec : (long)strlen(spec)), spec,
			 parts);
		if (parts < 1 || vg_broker_command(b, line, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil broker: --topic %s: %s\n", spec, parts < 1 ? "bad partition count" : err);
			vg_broker_stop(b);
			return EXIT_USAGE;
		}
	}
	/* First line: the bootstrap servers. Then commands on stdin, one answer
	 * each ("ok" or "error: ..."), until SIGTERM. */
	printf("%s\n", vg_broker_bootstraps(b));
	fflush(stdout);
	bool stdin_open = true;

	while (!stop_requested) {
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

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		if (atomic_fetch_add(&produce_failed, 1) < 10)
			fprintf(stderr, "vigil produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
	}
}

struct produce_run {
	rd_kafka_t *rk;
	const char *topic;
	double rate;
	double t0;
	uint64_t produced;
	/* vigil demo: hold back while more than max_ahead messages are
	 * unconsumed (the embedded broker keeps only 5 MiB per partition). */
	_Atomic uint64_t *consumed;
	uint64_t max_ahead;
};

/* Produce every line of one input; stops early (VG_ERR_LIMIT) on SIGTERM. */
static int produce_fd(void *arg, int fd, const char *name)
{
	struct produce_run *pr = arg;
	struct vg_lines *lines;
	vg_str line;
	bool over;

	(void)name;
	if (stop_requested)
		return VG_ERR_LIMIT;
	if (vg_lines_open(&lines, fd, 16u << 20) != VG_OK)
		return VG_ERR_NOMEM;
	while (!stop_requested && vg_lines_next(lines, &line, &over) == 1) {
		while (pr->consumed && pr->produced > atomic_load(pr->consumed) + pr->max_ahead && !stop_requested) {
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
	return stop_requested ? VG_ERR_LIMIT : VG_OK;
}

/* A producer spreading messages over the partitions, idempotent, counting
 * failed deliveries in produce_failed; props (KEY=VALUE, -X) over the
 * defaults. NULL with errbuf set on failure. */
static rd_kafka_t *producer_new(const char *brokers, char *const *props, size_t n_props, char *err, size_t errlen)
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

static int cmd_produce(int argc, char **argv)
{
	const char *brokers = NULL, *topic = NULL;
	double rate = 0;
	int i;
	char err[512], **props = calloc((size_t)argc, sizeof(*props));
	size_t n_props = 0;

	if (!props)
		return EXIT_IO;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			brokers = argv[++i];
		} else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
			topic = argv[++i];
		} else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc) {
			props[n_props++] = argv[++i];
		} else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
			rate = strtod(argv[++i], NULL);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil produce: unknown option '%s'\n%s", argv[i], usage);
			free(props);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	if (!brokers || !topic || rate < 0) {
		fprintf(stderr, "vigil produce: --brokers and --topic are required\n%s", usage);
		free(props);
		return EXIT_USAGE;
	}
	catch_stop_signals();
	rd_kafka_t *rk = producer_new(brokers, props, n_props, err, sizeof(err));

	free(props);
	if (!rk) {
		fprintf(stderr, "vigil produce: %s\n", err);
		return EXIT_CONFIG;
	}
	struct produce_run pr = {.rk = rk, .topic = topic, .rate = rate, .t0 = vg_clock_mono_s()};
	int status = EXIT_OK;

	each_input(argv + i, argc - i, "produce", produce_fd, &pr, &status);
	uint64_t produced = pr.produced;
	double t0 = pr.t0;

	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "vigil produce: %d messages not delivered in 60 s\n", rd_kafka_outq_len(rk));
		status = EXIT_IO;
	}
	uint64_t failed = atomic_load(&produce_failed);

	fprintf(stderr, "{\"produced\":%llu,\"failed\":%llu,\"seconds\":%.3f}\n", (unsigned long long)produced,
		(unsigned long long)failed, vg_clock_mono_s() - t0);
	rd_kafka_destroy(rk);
	return failed ? EXIT_IO : status;
}

/* ---- vigil run --------------------------------------------------------- */

/* A classification generation: what workers build their classify
 * contexts from. Generation 0 is the stage's (owned there); a reload
 * (SIGHUP) publishes the next, and the closer frees an old one once every
 * worker has moved past it. */
struct gen {
	unsigned seq;
	struct vg_config *cfg;            /* the reloaded configuration (NULL in generation 0) */
	struct vg_classifier *classifier; /* compiled from cfg */
	const char **counter_names;       /* the rules' view of cfg (NULL in generation 0) */
	struct gen *next;                 /* retired, not yet freed */
};

/* A worker's generation: gen on the worker's thread, seq read by the closer. */
struct worker_gen {
	struct gen *gen;
	_Atomic unsigned seq;
};

/* Configuration reloads, for /metrics: vigil_reloads_total{result="ok|failed"}. */
struct reload_stats {
	uint64_t ok, failed;
};

struct run_ctx {
	struct agg_run agg;
	const char *config_path; /* read again on SIGHUP; NULL: defaults only */
	int log_level_opt;       /* --log-level, over log.level at every load; -1: none */
	struct gen gen0;
	_Atomic(struct gen *) gen; /* the current generation; published by the closer */
	struct gen *retired;       /* closer thread */
	struct worker_gen *wgen;   /* one per worker */
	_Atomic uint64_t reloads_ok, reloads_failed;
	int64_t lag_now; /* total lag of owned partitions, as of the last second */
	void (*on_tick)(struct run_ctx *rc, void *arg);
	void *on_tick_arg;
	struct vg_kafka *kafka;
	int64_t lag_max;      /* largest total lag seen (owned partitions) */
	int64_t lag_last_ms;
	FILE *records; /* --records: every processed record's raw bytes */
	pthread_mutex_t records_mu;
	_Atomic uint64_t dead_logged;
	struct run_http *http; /* the HTTP endpoints, or NULL */
};

/* ---- vigil run: the HTTP endpoints ------------------------------------- */

/* The closer thread (run_tick) reads what the workers publish, the Kafka
 * module's atomic counters and its own state (windows, alerts, notifiers)
 * into a vg_metrics_run, renders /health, /ready, /metrics and /alerts from
 * it (sink/metrics.h) and hands them to the server thread (sink/http.h).
 * Workers only store their own counters. */

#define HTTP_PUBLISH_MS 1000

struct run_http {
	struct vg_http *srv;
	struct vg_metrics_bounds bounds;
	int64_t last_publish_ms; /* monotonic */
	bool window_closed;      /* since the last publish */
	struct vg_buf window;    /* the last closed window, rendered */
	struct vg_buf page;
	struct vg_metrics_names names;
	uint64_t by_level[VG_LEVEL_COUNT], by_category[256]; /* records of closed windows */
	double close_seconds;
	uint64_t closes;
	int64_t failing_since[VG_NOTIFY_MAX]; /* monotonic ms a notifier was first seen failing; 0: not */
	int64_t silent_ms[MAX_THREADS];
	struct vg_metrics_lag *lags;
	size_t n_lags, cap_lags;
	char addr[96]; /* the address bound, HOST:PORT */
};

static int64_t mono_ms(void)
{
	return (int64_t)(vg_clock_mono_s() * 1000);
}

#define PUB_STORE(dst, v) atomic_store_explicit(&(dst), (v), memory_order_relaxed)
#define PUB_LOAD(src) atomic_load_explicit(&(src), memory_order_relaxed)

/* On the worker, after a batch and when idle. */
static void worker_publish(struct agg_worker *w)
{
	struct worker_pub *p = &w->pub;

	PUB_STORE(p->records, w->records);
	PUB_STORE(p->rejected, w->rejected);
	for (int r = 0; r < VG_JR_COUNT; r++)
		PUB_STORE(p->by_reason[r], w->by_reason[r]);
	if (w->archive) {
		struct vg_archive_stats as;

		vg_archive_get_stats(w->archive, &as);
		PUB_STORE(p->archive_records, as.records);
		PUB_STORE(p->archive_dead, as.dead);
		PUB_STORE(p->frames, as.frames);
		PUB_STORE(p->files, as.files);
		PUB_STORE(p->bytes_in, as.bytes_in);
		PUB_STORE(p->bytes_out, as.bytes_out);
		PUB_STORE(p->fsyncs, as.fsyncs);
		PUB_STORE(p->write_errors, as.write_errors);
		PUB_STORE(p->unkept, as.unkept);
		PUB_STORE(p->sync_points, as.sync_points);
		PUB_STORE(p->sync_ns, (uint64_t)(as.sync_seconds * 1e9));
	}
	PUB_STORE(p->archive_err, w->archive_err);
	PUB_STORE(p->alive_ms, mono_ms());
}

/* A closed window (closer thread): its metrics, and its records by level
 * and category for the cumulative counters. */
static void http_window(void *arg, struct vg_window *win)
{
	struct run_ctx *rc = arg;
	struct run_http *h = rc->http;
	size_t n = vg_table_size(win->table);

	h->window.len = 0;
	vg_metrics_window(&h->window, win, &h->names, rc->agg.exact);
	for (size_t i = 0; i < n; i++) {
		const struct vg_agg_entry *e = vg_table_entry(win->table, i);

		if (e->key.kind != VG_AGG_LOG)
			continue;
		h->by_level[e->key.level < VG_LEVEL_COUNT ? e->key.level : 0] += e->count;
		h->by_category[e->key.category] += e->count;
	}
	h->window_closed = true;
}

static void keep_lag(void *arg, const char *topic, int32_t partition, int64_t lag)
{
	struct run_http *h = arg;

	if (vg_grow(&h->lags, &h->cap_lags, h->n_lags + 1, sizeof(*h->lags), 16) != 0)
		return;
	struct vg_metrics_lag *l = &h->lags[h->n_lags++];

	snprintf(l->topic, sizeof(l->topic), "%s", topic);
	l->partition = partition;
	l->lag = lag;
}

static void put_alert(void *arg, const struct vg_alert *al)
{
	struct vg_buf *b = arg;

	if (b->len && b->p[b->len - 1] != '[')
		vg_buf_putc(b, ',');
	vg_alert_json(al, b);
}

/* Gather the figures (closer thread). */
static void http_gather(struct run_ctx *rc, struct vg_metrics_run *m)
{
	struct run_http *h = rc->http;
	const struct vg_config *cfg = rc->agg.st.cfg;
	int64_t now = mono_ms();
	struct vg_kafka_stats ks;
	struct vg_windows_stats ws;
	struct vg_notify_stats ns = {0};
	size_t pending = 0, firing = 0;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < rc->agg.threads; i++) {
		struct worker_pub *p = &rc->agg.workers[i].pub;
		int e = PUB_LOAD(p->archive_err);

		h->silent_ms[i] = now - PUB_LOAD(p->alive_ms);
		m->records += PUB_LOAD(p->records);
		m->parsed += PUB_LOAD(p->records) - PUB_LOAD(p->rejected);
		for (int r = 0; r < VG_JR_COUNT && r < VG_METRICS_MAX_REASONS; r++)
			m->rejected[r] += PUB_LOAD(p->by_reason[r]);
		m->archive_records += PUB_LOAD(p->archive_records);
		m->archive_dead += PUB_LOAD(p->archive_dead);
		m->frames += PUB_LOAD(p->frames);
		m->files += PUB_LOAD(p->files);
		m->archive_bytes_in += PUB_LOAD(p->bytes_in);
		m->archive_bytes_out += PUB_LOAD(p->bytes_out);
		m->fsyncs += PUB_LOAD(p->fsyncs);
		m->write_errors += PUB_LOAD(p->write_errors);
		m->archive_unkept += PUB_LOAD(p->unkept);
		m->sync_points += PUB_LOAD(p->sync_points);
		m->sync_seconds += (double)PUB_LOAD(p->sync_ns) / 1e9;
		if (e != VG_OK)
			m->archive_error = vg_err_str(e);
	}
	m->n_workers = rc->agg.threads;
	m->worker_silent_ms = h->silent_ms;
	m->reloads_ok = atomic_load(&rc->reloads_ok);
	m->reloads_failed = atomic_load(&rc->reloads_failed);
	/* Reason 0 is "ok": the rest, by the parser's names. */
	for (int r = 1; r < VG_JR_COUNT && r < VG_METRICS_MAX_REASONS; r++) {
		m->reason_names[m->n_reasons] = vg_json_reason_str(r);
		m->rejected[m->n_reasons++] = m->rejected[r];
	}
	vg_windows_get_stats(rc->agg.win, &ws);
	m->aggregated = ws.records;
	m->late = ws.late;
	m->no_time = ws.no_time;
	m->skewed_ahead = ws.skewed_ahead;
	m->skewed_behind = ws.skewed_behind;
	for (int r = 0; r < VG_DURATION_ERR_COUNT && r < VG_METRICS_DURATION_REASONS; r++) {
		m->duration_reason_names[r] = vg_windows_duration_err_str(r);
		m->durations_rejected[r] = ws.duration_err[r];
	}
	m->watermark_behind_newest_ms = watermark_behind(ws.last_watermark_ms, ws.newest_ms);
	m->watermark_behind_clock_ms = watermark_behind(ws.last_watermark_ms, vg_clock_now_ms());
	m->windows_closed = ws.closed;
	m->keys_overflow = ws.overflow;
	m->watermark_ms = ws.watermark_ms;
	memcpy(m->by_level, h->by_level, sizeof(m->by_level));
	m->category_names = h->names.categories;
	m->by_category = h->by_category;
	m->n_categories = h->names.n_categories < 256 ? h->names.n_categories : 256;
	m->close_seconds = h->close_seconds;
	m->closes = h->closes;
	m->store_bytes = vg_wstore_bytes(rc->agg.store); /* the closer's, like this */
	m->archive_dir = cfg->archive_dir;
	vg_kafka_get_stats(rc->kafka, &ks);
	m->group = cfg->kafka_group;
	m->bytes = ks.bytes;
	m->messages = ks.messages;
	m->skipped = ks.skipped;
	m->kafka_errors = ks.errors;
	m->rebalances = ks.rebalances;
	m->commits = ks.commits;
	m->commits_failed = ks.commits_failed;
	m->pauses = ks.pauses;
	m->paused = ks.paused;
	m->joined = ks.joined;
	m->owned = ks.owned;
	/* Nothing processed since the last commit: nothing waits for one. */
	m->commit_age_ms = ks.last_commit_ms && !ks.commit_current ? vg_clock_now_ms() - ks.last_commit_ms : 0;
	h->n_lags = 0;
	vg_kafka_lag_each(rc->kafka, keep_lag, h);
	m->lags = h->lags;
	m->n_lags = h->n_lags;
	if (rc->agg.alerts)
		vg_alerts_counts(rc->agg.alerts, &pending, &firing);
	m->alerts_pending = pending;
	m->alerts_firing = firing;
	memcpy(m->transitions, rc->agg.alerts_by_state, sizeof(m->transitions));
	if (rc->agg.notify)
		vg_notify_get_stats(rc->agg.notify, &ns);
	m->n_notifiers = ns.n < VG_METRICS_MAX_NOTIFIERS ? ns.n : VG_METRICS_MAX_NOTIFIERS;
	for (size_t i = 0; i < m->n_notifiers; i++) {
		memcpy(m->notifier[i], ns.name[i], sizeof(m->notifier[i]));
		m->sent[i] = ns.sent[i];
		m->resent[i] = ns.resent[i];
		m->retried[i] = ns.retried[i];
		m->failed[i] = ns.failed[i];
		m->dropped[i] = ns.dropped[i];
		m->outbox[i] = ns.pending[i];
		if (!ns.failing[i])
			h->failing_since[i] = 0;
		else if (!h->failing_since[i])
			h->failing_since[i] = now;
		m->failing_ms[i] = h->failing_since[i] ? now - h->failing_since[i] + 1 : 0;
	}
}

static void http_publish(struct run_ctx *rc)
{
	struct run_http *h = rc->http;
	struct vg_buf *b = &h->page;
	struct vg_metrics_run m;
	bool ok;

	http_gather(rc, &m);
	b->len = 0;
	ok = vg_metrics_health(b, &m, &h->bounds);
	vg_http_publish(h->srv, "/health", ok ? 200 : 503, "application/json", b->p, b->len, h->bounds.stall_ms);
	b->len = 0;
	ok = vg_metrics_ready(b, &m, &h->bounds);
	vg_http_publish(h->srv, "/ready", ok ? 200 : 503, "application/json", b->p, b->len, h->bounds.stall_ms);
	b->len = 0;
	vg_metrics_run(b, &m);
	vg_buf_put(b, h->window.p, h->window.len);
	vg_http_publish(h->srv, "/metrics", 200, VG_METRICS_CONTENT_TYPE, b->p, b->len, 0);
	b->len = 0;
	/* catching_up: the alerts firing here were decided on a backlog and
	 * are not sent yet (see notify.catch_up). */
	vg_buf_puts(b, rc->agg.catching_up ? "{\"catching_up\":true,\"alerts\":[" : "{\"catching_up\":false,\"alerts\":[");
	if (rc->agg.alerts)
		vg_alerts_each(rc->agg.alerts, put_alert, b);
	vg_buf_puts(b, "]}\n");
	vg_http_publish(h->srv, "/alerts", 200, "application/json", b->p, b->len, 0);
	h->last_publish_ms = mono_ms();
	h->window_closed = false;
}

/* On the closer thread after each close round (close_s: its duration). */
static void http_tick(struct run_ctx *rc, double close_s)
{
	struct run_http *h = rc->http;

	if (h->window_closed) {
		h->close_seconds += close_s;
		h->closes++;
	}
	if (h->window_closed || mono_ms() - h->last_publish_ms >= HTTP_PUBLISH_MS)
		http_publish(rc);
}

/* Start the server of http.listen (unless off) and publish the first pages.
 * An address set in the file or with --http (chosen) that cannot be bound
 * stops vigil run; the default one taken already (another instance on
 * this host) is a warning, and vigil runs without the endpoints. Returns 0,
 * or VG_ERR_CONFIG / VG_ERR_IO / VG_ERR_NOMEM (said on stderr). */
static int http_start(struct run_ctx *rc, bool chosen)
{
	const struct vg_config *cfg = rc->agg.st.cfg;
	struct run_http *h;
	char host[64], bound[96], err[512];
	unsigned port;
	int r;

	if (strcmp(cfg->http_listen, "off") == 0)
		return VG_OK;
	if (!vg_config_parse_listen(cfg->http_listen, host, sizeof(host), &port)) {
		fprintf(stderr, "vigil run: --http: '%s' is not HOST:PORT (an IPv4 address or localhost) or off\n",
			cfg->http_listen);
		return VG_ERR_CONFIG;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return VG_ERR_NOMEM;
	h->bounds = (struct vg_metrics_bounds){.stall_ms = cfg->http_stall_ms,
					       .commit_age_ms = cfg->http_commit_age_ms,
					       .notify_failing_ms = cfg->http_notify_failing_ms};
	h->names = (struct vg_metrics_names){.categories = (const char *const *)cfg->categories.v,
					     .n_categories = cfg->categories.n,
					     .counters = rc->agg.counter_names,
					     .n_counters = cfg->n_counters};
	for (unsigned i = 0; i < rc->agg.threads; i++)
		PUB_STORE(rc->agg.workers[i].pub.alive_ms, mono_ms()); /* not started yet is not stuck */
	if ((r = vg_http_start(&h->srv, host, port, bound, sizeof(bound), err, sizeof(err))) != VG_OK) {
		free(h);
		if (r == VG_ERR_IO && !chosen && cfg->http_listen_line == 0) {
			vg_log_kv(VG_LOG_WARNING, "http",
				  "no HTTP endpoints: the default address is taken; set http.listen",
				  VG_LOG_S("error", err));
			return VG_OK;
		}
		fprintf(stderr, "vigil run: %s\n", err);
		return r;
	}
	snprintf(h->addr, sizeof(h->addr), "%s", bound);
	rc->http = h;
	http_publish(rc);
	rc->agg.on_window = http_window;
	rc->agg.on_window_arg = rc;
	vg_log_kv(VG_LOG_INFO, "http", "http listening", VG_LOG_S("address", bound));
	return VG_OK;
}

static void http_stop(struct run_ctx *rc)
{
	struct run_http *h = rc->http;

	if (!h)
		return;
	rc->agg.on_window = NULL;
	vg_http_stop(h->srv);
	vg_buf_free(&h->window);
	vg_buf_free(&h->page);
	free(h->lags);
	free(h);
	rc->http = NULL;
}

/* Archive errors (disk full...) stop durability until a sync succeeds;
 * say so once per change, not per record. */
static void archive_result(struct agg_worker *w, int rc)
{
	if (rc == w->archive_err)
		return;
	if (rc != VG_OK)
		vg_log_kv(VG_LOG_ERROR, "archive", "archive write failed; offsets are not committed until it recovers",
			  VG_LOG_S("error", vg_err_str(rc)));
	else
		vg_log(VG_LOG_INFO, "archive", "archive writable again");
	w->archive_err = rc;
}

/* ---- configuration reload (SIGHUP) ---- */

static volatile sig_atomic_t reload_requested;

static void on_reload_signal(int sig)
{
	(void)sig;
	reload_requested = 1;
}

/* A worker between batches takes the current generation: every record of
 * a batch is classified by one configuration. When a context cannot be
 * made, it keeps the old one and tries again at the next batch. */
static void worker_follow_gen(struct run_ctx *rc, struct agg_worker *w)
{
	struct worker_gen *wg = &rc->wgen[w - rc->agg.workers];
	struct gen *g = atomic_load_explicit(&rc->gen, memory_order_acquire);
	struct vg_classify_ctx *ctx;

	if (g == wg->gen || vg_classify_ctx_create(&ctx, g->classifier) != VG_OK)
		return;
	if (w->ctx != rc->agg.st.ctx) /* the stage's is freed with the stage */
		vg_classify_ctx_destroy(w->ctx);
	w->ctx = ctx;
	wg->gen = g;
	atomic_store_explicit(&wg->seq, g->seq, memory_order_release);
}

static void gen_free(struct gen *g)
{
	vg_classifier_destroy(g->classifier);
	vg_config_free(g->cfg);
	free(g->counter_names);
	free(g);
}

/* Free the retired generations no worker uses any more (closer thread). */
static void gens_collect(struct run_ctx *rc)
{
	unsigned oldest = UINT_MAX;

	for (unsigned i = 0; i < rc->agg.threads; i++) {
		unsigned seq = atomic_load_explicit(&rc->wgen[i].seq, memory_order_acquire);

		if (seq < oldest)
			oldest = seq;
	}
	for (struct gen **p = &rc->retired; *p;) {
		struct gen *g = *p;

		if (g->seq < oldest) {
			*p = g->next;
			gen_free(g);
		} else {
			p = &g->next;
		}
	}
}

/* What a reload cannot change while windows are open: category and
 * counter indexes key the aggregates and the stored windows. */
static int reload_compatible(const struct vg_config *old, const struct vg_config *cfg, char *err, size_t errlen)
{
	bool same = old->categories.n == cfg->categories.n;

	for (size_t i = 0; same && i < cfg->categories.n; i++)
		same = strcmp(old->categories.v[i], cfg->categories.v[i]) == 0;
	if (!same) {
		snprintf(err, errlen,
			 "%s:%d: classify.categories: differs from the running list; categories change only at a "
			 "restart",
			 cfg->source, cfg->categories.line);
		return VG_ERR_CONFIG;
	}
	same = old->n_counters == cfg->n_counters;
	for (size_t i = 0; same && i < cfg->n_counters; i++)
		same = strcmp(old->counters[i].name, cfg->counters[i].name) == 0;
	if (!same) {
		snprintf(err, errlen, "%s:%d: aggregate.counters: names differ from the running ones; counters are "
				      "added, removed or renamed only at a restart",
			 cfg->source, cfg->n_counters ? cfg->counters[0].line : 0);
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

/* Read the configuration file and its rule files again (closer thread,
 * between window closes): classification, retention and alert rules
 * change together, or, if anything in them is wrong, not at all. */
static void run_reload(struct run_ctx *rc)
{
	struct agg_run *run = &rc->agg;
	struct gen *cur = atomic_load(&rc->gen), *g = calloc(1, sizeof(*g));
	struct vg_rules *rules = NULL;
	struct vg_rules_env env;
	char err[1024] = "out of memory";
	int r = g ? VG_OK : VG_ERR_NOMEM;

	if (r == VG_OK && (r = vg_config_load(&g->cfg, rc->config_path, err, sizeof(err))) == VG_OK &&
	    (r = reload_compatible(run->st.cfg, g->cfg, err, sizeof(err))) == VG_OK &&
	    (r = vg_classifier_create(&g->classifier, g->cfg, err, sizeof(err))) == VG_OK &&
	    (r = rules_env(g->cfg, run->st.cfg->window_ms, &env, &g->counter_names)) == VG_OK)
		r = vg_rules_load(&rules, (const char *const *)g->cfg->rule_files.v, g->cfg->rule_files.n, &env, err,
				  sizeof(err));
	if (r != VG_OK) {
		atomic_fetch_add(&rc->reloads_failed, 1);
		vg_log_kv(VG_LOG_ERROR, "reload", "configuration reload failed; the running configuration stays",
			  VG_LOG_S("error", r == VG_ERR_NOMEM ? "out of memory" : err));
		if (g)
			gen_free(g);
		return;
	}
	size_t ended = 0;

	if (vg_alerts_set_rules(run->alerts, rules, vg_clock_now_ms(), emit_alert, run, &ended) != VG_OK) {
		atomic_fetch_add(&rc->reloads_failed, 1);
		vg_log_kv(VG_LOG_ERROR, "reload", "configuration reload failed; the running configuration stays",
			  VG_LOG_S("error", "out of memory"));
		vg_rules_destroy(rules);
		gen_free(g);
		return;
	}
	g->seq = cur->seq + 1;

	if (run->alerts_out.len)
		flush_alerts(run);
	vg_rules_destroy(run->rules); /* its names belong to cur, freed later */
	run->rules = rules;
	atomic_store_explicit(&rc->gen, g, memory_order_release);
	if (cur != &rc->gen0) {
		cur->next = rc->retired;
		rc->retired = cur;
	}
	atomic_fetch_add(&rc->reloads_ok, 1);
	vg_log_kv(VG_LOG_INFO, "reload", "configuration reloaded", VG_LOG_S("source", g->cfg->source),
		  VG_LOG_I("generation", g->seq), VG_LOG_I("rules", vg_rules_count(rules)),
		  VG_LOG_I("classify_rules", g->cfg->n_rules), VG_LOG_I("alerts_ended", ended));
	log_level_apply(rc->log_level_opt, g->cfg); /* after the line above, which confirms the reload */
}

/* After the pipeline's teardown: every generation but the stage's. */
static void run_gens_free(struct run_ctx *rc)
{
	struct gen *cur = atomic_load(&rc->gen);

	if (cur && cur != &rc->gen0) /* none yet when the start failed early */
		gen_free(cur);
	while (rc->retired) {
		struct gen *g = rc->retired;

		rc->retired = g->next;
		gen_free(g);
	}
	free(rc->wgen);
	rc->wgen = NULL;
}

/* Everything vigil run holds once agg_start has succeeded: the workers'
 * archives still open (a start that failed after open_archives; a normal
 * stop has closed them in run_worker_stop), its output files, the
 * aggregation stage, the generations. */
static void run_release(struct run_ctx *rc)
{
	for (unsigned i = 0; rc->agg.workers && i < rc->agg.threads; i++) {
		vg_archive_close(rc->agg.workers[i].archive); /* nothing appended: nothing to report */
		rc->agg.workers[i].archive = NULL;
	}
	if (rc->records)
		fclose(rc->records);
	if (rc->agg.out_fd >= 0 && rc->agg.out_fd != STDOUT_FILENO)
		close(rc->agg.out_fd);
	agg_teardown(&rc->agg);
	run_gens_free(rc);
}

/* Reload counts; any thread. */
static void run_reload_stats(struct run_ctx *rc, struct reload_stats *out)
{
	out->ok = atomic_load(&rc->reloads_ok);
	out->failed = atomic_load(&rc->reloads_failed);
}

/* ---- the pipeline's hooks ---- */

static void *run_worker_start(unsigned worker, void *arg)
{
	struct run_ctx *rc = arg;

	return worker < rc->agg.threads ? &rc->agg.workers[worker] : NULL;
}

static void run_batch(void *state, const struct vg_kafka_msg *msgs, size_t n)
{
	struct agg_worker *w = state;
	struct run_ctx *rc = (struct run_ctx *)(void *)w->run; /* agg is the first member */
	struct vg_record rec;
	struct vg_json_error jerr;
	struct vg_buf raw = {0};

	worker_follow_gen(rc, w);
	vg_wworker_begin(w->ww);
	for (size_t i = 0; i < n; i++) {
		const struct vg_kafka_msg *m = &msgs[i];

		w->records++;
		if (vg_json_extract(w->run->st.paths, &w->run->st.limits, m->payload, m->len, &rec, &jerr) != VG_OK) {
			/* Dead letter: counted by reason, the raw bytes kept in the
			 * archive's dead-letter files, logged at a bounded rate. */
			w->rejected++;
			w->by_reason[jerr.reason]++;
			if (w->archive)
				archive_result(w, vg_archive_dead(w->archive, vg_str_make(m->payload, m->len),
								  vg_json_reason_str(jerr.reason), m->topic,
								  m->partition, m->offset, m->ts_ms));
			if (atomic_fetch_add(&rc->dead_logged, 1) < 20)
				vg_log_kv(VG_LOG_WARNING, "ingest", "record rejected",
					  VG_LOG_S("reason", vg_json_reason_str(jerr.reason)),
					  VG_LOG_S("topic", m->topic), VG_LOG_I("partition", m->partition),
					  VG_LOG_I("offset", m->offset));
			continue;
		}
		vg_classify(w->ctx, &rec);
		/* ts: the time the windows count it at, which the archive files
		 * it under too: for a skewed record the sane time, never the
		 * forged one (its retention follows). */
		int64_t ts = VG_TIME_NONE;

		if (vg_wworker_add(w->ww, &rec, m->ts_ms, m->stream, &ts) != VG_OK)
			w->err = VG_ERR_NOMEM;
		if (w->archive)
			archive_result(w, vg_archive_append(w->archive, rec.raw, rec.retention_days,
							    vg_classifier_category_name(w->run->st.classifier,
											rec.category),
							    ts, rec.level, m->topic, m->partition, m->offset));
		if (rc->records) {
			vg_buf_put(&raw, m->payload, m->len);
			vg_buf_putc(&raw, '\n');
		}
	}
	vg_wworker_end(w->ww);
	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, false, vg_clock_now_ms()));
	worker_publish(w);
	if (rc->records && raw.len) {
		pthread_mutex_lock(&rc->records_mu);
		fwrite(raw.p, 1, raw.len, rc->records);
		fflush(rc->records);
		pthread_mutex_unlock(&rc->records_mu);
	}
	vg_buf_free(&raw);
}

/* A partition's state, for the watermark (same order of states). */
static void run_part_state(void *arg, int32_t stream, enum vg_kafka_part_state st)
{
	struct run_ctx *rc = arg;
	static const enum vg_wstream to[] = {[VG_KAFKA_PART_GONE] = VG_WSTREAM_GONE,
					     [VG_KAFKA_PART_BEHIND] = VG_WSTREAM_BEHIND,
					     [VG_KAFKA_PART_CAUGHT_UP] = VG_WSTREAM_CAUGHT_UP};

	vg_windows_stream_set(rc->agg.win, stream, to[st]);
}

static void run_worker_stop(void *state)
{
	struct agg_worker *w = state;

	vg_wworker_finish(w->ww);
	if (w->archive) {
		vg_archive_get_stats(w->archive, &w->archive_stats);
		archive_result(w, vg_archive_close(w->archive)); /* renames the .part files */
		w->archive = NULL;
	}
}

static void run_idle(void *state)
{
	struct agg_worker *w = state;

	worker_follow_gen((struct run_ctx *)(void *)w->run, w);
	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, false, vg_clock_now_ms()));
	worker_publish(w);
}

static void run_sync(void *state)
{
	struct agg_worker *w = state;

	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, true, vg_clock_now_ms()));
}

/* Backpressure from the archive: a worker whose archive cannot be written
 * (disk full) takes no more records, which would only pile up in memory,
 * until a forced sync succeeds; each call is one retry. Published, so
 * /ready keeps saying why. */
static bool run_stalled(void *state)
{
	struct agg_worker *w = state;

	if (!w->archive || w->archive_err == VG_OK)
		return false;
	archive_result(w, vg_archive_sync(w->archive, true, vg_clock_now_ms()));
	worker_publish(w);
	return w->archive_err != VG_OK;
}

static void run_durable(void *state, void (*store)(void *ctx, const char *topic, int32_t partition, int64_t next),
			void *ctx)
{
	struct agg_worker *w = state;

	if (w->archive)
		vg_archive_durable(w->archive, store, ctx);
}

static void run_tick(void *arg)
{
	struct run_ctx *rc = arg;
	int64_t now = vg_clock_now_ms();
	double t0 = vg_clock_mono_s();

	if (reload_requested) {
		reload_requested = 0;
		run_reload(rc);
	}
	gens_collect(rc);
	agg_close(&rc->agg, false);
	if (rc->http)
		http_tick(rc, vg_clock_mono_s() - t0);
	if (now - rc->lag_last_ms >= 1000) { /* lag of owned partitions, once a second */
		size_t parts;
		int64_t lag = vg_kafka_lag(rc->kafka, &parts);

		if (lag > rc->lag_max)
			rc->lag_max = lag;
		rc->lag_now = lag;
		rc->lag_last_ms = now;
	}
	if (rc->on_tick)
		rc->on_tick(rc, rc->on_tick_arg);
}

/* One archive writer per worker, from the archive section. */
static int open_archives(struct agg_run *run)
{
	const struct vg_config *cfg = run->st.cfg;
	char instance[256], err[512];

	if (strcmp(cfg->archive_instance, "auto") == 0) {
		char host[200] = "vigil";

		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(instance, sizeof(instance), "%s-%ld", host, (long)getpid());
	} else {
		snprintf(instance, sizeof(instance), "%s", cfg->archive_instance);
	}
	struct vg_archive_params p = {.dir = cfg->archive_dir, .instance = instance, .level = (int)cfg->archive_level,
				      .flush_bytes = cfg->archive_flush_bytes, .flush_ms = cfg->archive_flush_ms,
				      .rotate_bytes = cfg->archive_rotate_bytes};

	for (unsigned i = 0; i < run->threads; i++) {
		if (vg_archive_open(&run->workers[i].archive, &p, i, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil run: %s\n", err);
			return VG_ERR_IO;
		}
	}
	return VG_OK;
}

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return VG_ERR_NOMEM;
	free(*dst);
	*dst = d;
	return VG_OK;
}

/* A watchdog for the graceful stop: past the bound, say so and leave. */
static void *stop_watchdog(void *arg)
{
	int64_t ms = *(int64_t *)arg;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	vg_log_kv(VG_LOG_ERROR, "run", "graceful stop took longer than the shutdown timeout; exiting",
		  VG_LOG_I("timeout_ms", ms));
	_exit(EXIT_IO);
	return NULL;
}

/* What vigil run runs with: its options and, for vigil demo, a hook on
 * the closer thread, a few overrides and where to report the results. */
struct run_result {
	struct vg_archive_stats archive;
	struct vg_kafka_stats kafka;
	uint64_t alerts_by_state[VG_ALERT_STATES];
	double seconds;
};

struct run_opts {
	const char *config_path, *windows_path, *records_path, *alerts_path;
	const char *brokers, *group, *archive_dir;
	const char *topics[64];
	size_t n_topics;
	long workers;
	bool exit_at_end;
	int log_level;
	const char *outbox_dir;                         /* overrides notify.outbox.dir when set */
	const char *http_listen;                        /* overrides http.listen when set */
	int64_t lateness_ms;                            /* overrides aggregate.lateness when > 0 */
	int64_t skew_behind_ms;                         /* overrides aggregate.skew_behind when >= 0 */
	int64_t shutdown_timeout_ms;                    /* overrides kafka.shutdown_timeout when > 0 */
	void (*on_tick)(struct run_ctx *rc, void *arg); /* after each tick, on the closer thread */
	void *on_tick_arg;
	struct run_result *result; /* filled at the end when set */
};

static int run_pipeline(const struct run_opts *o);

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = {.workers = -1, .log_level = -1, .skew_behind_ms = -1};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			o.config_path = argv[++i];
		else if (strcmp(a, "--brokers") == 0 && i + 1 < argc)
			o.brokers = argv[++i];
		else if (strcmp(a, "--group") == 0 && i + 1 < argc)
			o.group = argv[++i];
		else if (strcmp(a, "--topic") == 0 && i + 1 < argc && o.n_topics < 64)
			o.topics[o.n_topics++] = argv[++i];
		else if (strcmp(a, "--workers") == 0 && i + 1 < argc)
			o.workers = strtol(argv[++i], NULL, 10);
		else if (strcmp(a, "--windows") == 0 && i + 1 < argc)
			o.windows_path = argv[++i];
		else if (strcmp(a, "--alerts") == 0 && i + 1 < argc)
			o.alerts_path = argv[++i];
		else if (strcmp(a, "--records") == 0 && i + 1 < argc)
			o.records_path = argv[++i];
		else if (strcmp(a, "--archive") == 0 && i + 1 < argc)
			o.archive_dir = argv[++i];
		else if (strcmp(a, "--http") == 0 && i + 1 < argc)
			o.http_listen = argv[++i];
		else if (strcmp(a, "--exit-at-end") == 0)
			o.exit_at_end = true;
		else if (strcmp(a, "--skew-behind") == 0 && i + 1 < argc) {
			/* A backfill of old logs: 0s lets event times of any age count. */
			if ((o.skew_behind_ms = vg_config_parse_duration(argv[++i])) < 0) {
				fprintf(stderr, "vigil run: --skew-behind: expected a duration (e.g. 0s, 30d), got '%s'\n",
					argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			if ((o.log_level = log_level_arg("run", argv[++i])) < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "vigil run: unknown option '%s'\n%s", a, usage);
			return EXIT_USAGE;
		}
	}
	return run_pipeline(&o);
}

/* vigil run's pipeline: Kafka, workers, windows, rules, archive, until a
 * stop signal (or the end, with exit_at_end); the summary line last. */
static int run_pipeline(const struct run_opts *o)
{
	struct run_ctx rc;
	const char *config_path = o->config_path, *windows_path = o->windows_path, *records_path = o->records_path;
	const char *brokers = o->brokers, *group = o->group, *archive_dir = o->archive_dir;
	const char *const *topics = o->topics;
	size_t n_topics = o->n_topics;
	long workers = o->workers;
	bool exit_at_end = o->exit_at_end;
	int status = EXIT_OK, log_level = o->log_level;
	char err[1024];

	memset(&rc, 0, sizeof(rc));
	rc.agg.out_fd = STDOUT_FILENO;
	rc.agg.alerts_path = o->alerts_path;
	rc.on_tick = o->on_tick;
	rc.on_tick_arg = o->on_tick_arg;
	if (workers == 0 || workers > MAX_THREADS) {
		fprintf(stderr, "vigil run: --workers: 1 to %d\n", MAX_THREADS);
		return EXIT_USAGE;
	}
	if (stage_open(&rc.agg.st, config_path) != VG_OK)
		return EXIT_CONFIG;
	struct vg_config *cfg = rc.agg.st.cfg;

	log_level_apply(log_level, cfg);
	if ((brokers && set_str(&cfg->kafka_brokers, brokers)) || (group && set_str(&cfg->kafka_group, group)) ||
	    (archive_dir && set_str(&cfg->archive_dir, archive_dir)) ||
	    (o->http_listen && set_str(&cfg->http_listen, o->http_listen)) ||
	    (o->outbox_dir && set_str(&cfg->notify_outbox_dir, o->outbox_dir)))
		goto out_nomem;
	if (o->lateness_ms > 0)
		cfg->lateness_ms = o->lateness_ms;
	if (o->skew_behind_ms >= 0)
		cfg->skew_behind_ms = o->skew_behind_ms;
	if (o->shutdown_timeout_ms > 0)
		cfg->shutdown_timeout_ms = o->shutdown_timeout_ms;
	if (n_topics) {
		for (size_t t = 0; t < cfg->kafka_topics.n; t++)
			free(cfg->kafka_topics.v[t]);
		cfg->kafka_topics.n = 0;
		char **v = realloc(cfg->kafka_topics.v, n_topics * sizeof(*v));

		if (!v)
			goto out_nomem;
		cfg->kafka_topics.v = v;
		for (size_t t = 0; t < n_topics; t++) {
			if (!(v[t] = strdup(topics[t])))
				goto out_nomem;
			cfg->kafka_topics.n++;
		}
	}
	if (workers > 0)
		cfg->workers = (unsigned)workers;
	rc.agg.threads = cfg->workers ? cfg->workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (rc.agg.threads == 0)
		rc.agg.threads = 1;
	cfg->workers = rc.agg.threads;
	rc.agg.no_chunk_threads = true;
	rc.agg.store_always = true;
	rc.agg.catch_up_ms = cfg->notify_catch_up_ms;
	rc.agg.quiet = windows_path == NULL;
	/* The rules first: a configuration refused must not have truncated
	 * the output files of the last good run. */
	if ((status = agg_start(&rc.agg, 0, "run")) != EXIT_OK)
		return status;
	if (windows_path && strcmp(windows_path, "-") != 0 &&
	    (rc.agg.out_fd = open(windows_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "vigil run: %s: %s\n", windows_path, strerror(errno));
		run_release(&rc);
		return EXIT_IO;
	}
	if (records_path && !(rc.records = fopen(records_path, "w"))) {
		fprintf(stderr, "vigil run: %s: %s\n", records_path, strerror(errno));
		run_release(&rc);
		return EXIT_IO;
	}
	pthread_mutex_init(&rc.records_mu, NULL);
	rc.config_path = config_path;
	rc.log_level_opt = log_level;
	rc.gen0.classifier = rc.agg.st.classifier;
	atomic_store(&rc.gen, &rc.gen0);
	if (!(rc.wgen = calloc(rc.agg.threads, sizeof(*rc.wgen)))) {
		fprintf(stderr, "vigil run: out of memory\n");
		run_release(&rc);
		return EXIT_IO;
	}
	for (unsigned i = 0; i < rc.agg.threads; i++)
		rc.wgen[i].gen = &rc.gen0;
	bool archiving = strcmp(cfg->archive_dir, "off") != 0;

	if (archiving && open_archives(&rc.agg) != VG_OK) {
		run_release(&rc);
		return EXIT_IO;
	}
	struct vg_kafka_handler h = {.worker_start = run_worker_start, .batch = run_batch,
				     .worker_stop = run_worker_stop, .worker_idle = run_idle,
				     .durable = archiving ? run_durable : NULL, .sync = archiving ? run_sync : NULL,
				     .stalled = archiving ? run_stalled : NULL,
				     .part_state = run_part_state,
				     .arg = &rc};
	struct vg_kafka *k;
	int r = vg_kafka_open(&k, cfg, &h, err, sizeof(err));

	if (r != VG_OK) {
		fprintf(stderr, "vigil run: %s\n", r == VG_ERR_NOMEM ? "out of memory" : err);
		run_release(&rc);
		return r == VG_ERR_CONFIG ? EXIT_CONFIG : EXIT_IO;
	}
	rc.kafka = k;
	if ((r = http_start(&rc, o->http_listen != NULL)) != VG_OK) {
		vg_kafka_close(k);
		run_release(&rc);
		return r == VG_ERR_CONFIG ? EXIT_CONFIG : EXIT_IO;
	}
	catch_stop_signals();
	struct sigaction hup = {.sa_handler = on_reload_signal, .sa_flags = SA_RESTART};

	sigemptyset(&hup.sa_mask);
	sigaction(SIGHUP, &hup, NULL);
	double t0 = vg_clock_mono_s();

	if (vg_kafka_run(k, &stop_requested, exit_at_end, run_tick, &rc) != VG_OK)
		status = EXIT_IO;
	/* Graceful stop, bounded. */
	pthread_t dog;
	int64_t bound = cfg->shutdown_timeout_ms;
	char committed[16384], extra[17000];

	size_t lag_parts;
	int64_t lag_end = vg_kafka_lag(k, &lag_parts); /* while the partitions are still ours */

	pthread_create(&dog, NULL, stop_watchdog, &bound);
	pthread_detach(dog);
	vg_log(VG_LOG_DEBUG, "run", "stopping: leaving the consumer group");
	if (vg_kafka_stop(k, committed, sizeof(committed)) != VG_OK)
		status = EXIT_IO;
	for (unsigned i = 0; i < rc.agg.threads; i++) {
		/* The workers are joined: their last archive result is final. */
		if (rc.agg.workers[i].archive_err != VG_OK) {
			vg_log_kv(VG_LOG_ERROR, "run",
				  "stopped with records the archive could not write; their offsets were not committed "
				  "and the next start reads them again",
				  VG_LOG_I("worker", i), VG_LOG_S("error", vg_err_str(rc.agg.workers[i].archive_err)));
			status = EXIT_IO;
		}
	}
	vg_log(VG_LOG_DEBUG, "run", "stopping: closing the last windows");
	agg_close(&rc.agg, true);
	vg_log(VG_LOG_DEBUG, "run", "stopping: windows closed");
	if (vg_buf_write_fd(&rc.agg.out, rc.agg.out_fd) != VG_OK)
		status = EXIT_IO;
	struct vg_kafka_stats ks;

	vg_kafka_get_stats(k, &ks);
	rc.agg.bytes = ks.bytes;
	struct vg_archive_stats as = {0};

	for (unsigned i = 0; i < rc.agg.threads; i++) {
		const struct vg_archive_stats *w = &rc.agg.workers[i].archive_stats;

		as.records += w->records;
		as.dead += w->dead;
		as.frames += w->frames;
		as.files += w->files;
		as.bytes_in += w->bytes_in;
		as.bytes_out += w->bytes_out;
		as.write_errors += w->write_errors;
	}
	snprintf(extra, sizeof(extra), ",\"archive\":{\"records\":%llu,\"dead\":%llu,\"frames\":%llu,\"files\":%llu,"
				       "\"bytes_in\":%llu,\"bytes_out\":%llu,\"write_errors\":%llu}"
				       ",\"kafka_errors\":%llu,\"skipped_revoked\":%llu,\"rebalances\":%llu,"
				       "\"commits\":%llu,\"commits_failed\":%llu,\"pauses\":%llu,"
				       "\"consume_seconds\":%.6f,\"lag_max\":%lld,\"lag_end\":%lld,\"committed\":{%s}",
		 (unsigned long long)as.records, (unsigned long long)as.dead, (unsigned long long)as.frames,
		 (unsigned long long)as.files, (unsigned long long)as.bytes_in, (unsigned long long)as.bytes_out,
		 (unsigned long long)as.write_errors, (unsigned long long)ks.errors, (unsigned long long)ks.skipped,
		 (unsigned long long)ks.rebalances, (unsigned long long)ks.commits, (unsigned long long)ks.commits_failed,
		 (unsigned long long)ks.pauses, ks.busy_seconds,
		 (long long)rc.lag_max, (long long)lag_end, committed);
	struct reload_stats rs;
	size_t el = strlen(extra);

	run_reload_stats(&rc, &rs);
	snprintf(extra + el, sizeof(extra) - el, ",\"reloads\":{\"ok\":%llu,\"failed\":%llu}",
		 (unsigned long long)rs.ok, (unsigned long long)rs.failed);
	if (o->result) {
		o->result->archive = as;
		o->result->kafka = ks;
		memcpy(o->result->alerts_by_state, rc.agg.alerts_by_state, sizeof(o->result->alerts_by_state));
		o->result->seconds = vg_clock_mono_s() - t0;
	}
	agg_summary(&rc.agg, vg_clock_mono_s() - t0, extra);
	http_stop(&rc);
	vg_kafka_close(k);
	run_release(&rc);
	return status;

out_nomem:
	fprintf(stderr, "vigil run: out of memory\n");
	stage_close(&rc.agg.st);
	return EXIT_IO;
}

/* ---- the archive tools: verify, cat, prune, stats ---------------------- */

/* "N/M files" on a terminal, at most ten times a second; nothing when
 * standard error is not a terminal. done == total ends the line. */
static void progress(const char *cmd, size_t done, size_t total)
{
	static double last;
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || total < 2)
		return;
	double now = vg_clock_mono_s();

	if (done < total && now - last < 0.1)
		return;
	last = now;
	fprintf(stderr, "\r%s: %zu/%zu files%s", cmd, done, total, done == total ? "\n" : "");
}

/* A time argument: RFC 3339, epoch seconds, or "now" minus a duration
 * ("now-2h"); VG_TIME_NONE when it is none of these. */
static int64_t parse_time_arg(const char *s)
{
	int64_t now = vg_clock_now_ms();

	if (strcmp(s, "now") == 0)
		return now;
	if (strncmp(s, "now-", 4) == 0) {
		int64_t d = vg_config_parse_duration(s + 4);

		return d < 0 ? VG_TIME_NONE : now - d;
	}
	char *end;
	double v = strtod(s, &end);

	if (end != s && *end == '\0' && v >= 0)
		return vg_clock_from_epoch(v);
	return vg_clock_parse_rfc3339(s, strlen(s));
}

/* List an archive directory for cmd; 0 or EXIT_IO with the reason said. */
static int list_archive(const char *cmd, const char *dir, struct vg_reader_list *l)
{
	char err[PATH_MAX + 128];

	if (vg_reader_list(dir, l, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil %s: %s\n", cmd, err);
		return EXIT_IO;
	}
	return EXIT_OK;
}

/* Per retention class: what verify and stats print. */
struct class_sum {
	char name[sizeof(((struct vg_reader_file *)0)->category)]; /* a class or a category name */
	uint64_t files, frames, records, raw, stored, on_disk;
	uint64_t open, recoverable, corrupt, repaired;
	uint64_t levels[VG_LEVEL_COUNT];
};

static struct class_sum *class_of(struct class_sum *c, size_t *n, size_t cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	if (*n == cap)
		return &c[cap - 1]; /* "other": more classes than anyone configures */
	memset(&c[*n], 0, sizeof(c[*n]));
	snprintf(c[*n].name, sizeof(c[*n].name), "%s", *n == cap - 1 ? "other" : name);
	return &c[(*n)++];
}

static void add_total(struct class_sum *t, const struct class_sum *c)
{
	t->files += c->files;
	t->frames += c->frames;
	t->records += c->records;
	t->raw += c->raw;
	t->stored += c->stored;
	t->on_disk += c->on_disk;
	t->open += c->open;
	t->recoverable += c->recoverable;
	t->corrupt += c->corrupt;
	t->repaired += c->repaired;
	for (int l = 0; l < VG_LEVEL_COUNT; l++)
		t->levels[l] += c->levels[l];
}

#define MAX_CLASSES 64

static int cmd_verify(int argc, char **argv)
{
	static const char *const state_name[] = {"ok", "open", "recoverable", "corrupt"};
	struct class_sum cls[MAX_CLASSES], total = {.name = "total"};
	struct vg_reader_list l;
	const char *dir = NULL;
	bool repair = false;
	size_t n_cls = 0;
	int status;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repair") == 0)
			repair = true;
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			dir = NULL, i = argc;
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil verify [--repair] DIR\n");
		return EXIT_USAGE;
	}
	if ((status = list_archive("verify", dir, &l)) != EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct class_sum *c = class_of(cls, &n_cls, MAX_CLASSES, f->class_name);
		struct vg_reader_check ck;
		char why[256];

		progress("verify", i, l.n);
		c->files++;
		if (vg_reader_check(f, &ck) != VG_OK) {
			fprintf(stderr, "vigil verify: %s: unreadable: %s\n", f->path, ck.why);
			c->corrupt++;
			continue;
		}
		c->frames += ck.frames;
		c->records += ck.records;
		c->raw += ck.bytes;
		c->stored += ck.compressed;
		if (ck.state == VG_READER_OK)
			continue;
		if (ck.state == VG_READER_OPEN) {
			c->open++;
			continue;
		}
		if (ck.state == VG_READER_RECOVERABLE && repair) {
			if (vg_reader_repair(f, &ck, why, sizeof(why)) == VG_OK) {
				fprintf(stderr, "vigil verify: %s: repaired (%s): kept %zu frames, %" PRIu64 " records\n",
					f->path, ck.why, ck.frames, ck.records);
				c->repaired++;
				continue;
			}
			fprintf(stderr, "vigil verify: %s: cannot repair: %s\n", f->path, why);
		} else {
			fprintf(stderr, "vigil verify: %s: %s: %s%s\n", f->path, state_name[ck.state], ck.why,
				ck.state == VG_READER_RECOVERABLE ? " (vigil verify --repair fixes it)" : "");
		}
		if (ck.state == VG_READER_RECOVERABLE)
			c->recoverable++;
		else
			c->corrupt++;
	}
	progress("verify", l.n, l.n);
	for (size_t i = 0; i < l.n_orphans; i++) {
		struct stat st;
		bool empty = stat(l.orphans[i], &st) == 0 && st.st_size == 0;

		if (empty && repair && unlink(l.orphans[i]) == 0) {
			fprintf(stderr, "vigil verify: %s: removed an empty manifest without its data file\n", l.orphans[i]);
			total.repaired++;
			continue;
		}
		fprintf(stderr, "vigil verify: %s: %s: a manifest without its data file\n", l.orphans[i],
			empty ? "recoverable" : "corrupt");
		if (empty)
			total.recoverable++;
		else
			total.corrupt++;
	}
	printf("%-12s %8s %10s %12s %14s %14s %6s %11s %8s %8s\n", "class", "files", "frames", "records", "raw_bytes",
	       "stored_bytes", "open", "recoverable", "repaired", "corrupt");
	for (size_t i = 0; i <= n_cls; i++) {
		const struct class_sum *c = i < n_cls ? &cls[i] : &total;

		if (i < n_cls)
			add_total(&total, c);
		printf("%-12s %8" PRIu64 " %10" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %6" PRIu64
		       " %11" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       c->name, c->files, c->frames, c->records, c->raw, c->stored, c->open, c->recoverable, c->repaired,
		       c->corrupt);
	}
	if (total.corrupt)
		printf("verify: CORRUPT: %" PRIu64 " file(s) have data their manifests vouch for missing or wrong\n",
		       total.corrupt);
	else if (total.recoverable)
		printf("verify: no corruption; %" PRIu64 " file(s) left by a crash: run vigil verify --repair\n",
		       total.recoverable);
	else
		printf("verify: clean\n");
	vg_reader_list_free(&l);
	return total.corrupt ? EXIT_CONFIG : EXIT_OK;
}

static int cmd_stats(int argc, char **argv)
{
	struct class_sum cls[MAX_CLASSES], cats[MAX_CLASSES * 4], total = {.name = "total"};
	struct vg_reader_list l;
	size_t n_cls = 0, n_cats = 0;
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: vigil stats DIR\n");
		return EXIT_USAGE;
	}
	if ((status = list_archive("stats", argv[1], &l)) != EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct vg_reader_manifest m = {0};
		struct class_sum *c[2] = {class_of(cls, &n_cls, MAX_CLASSES, f->class_name),
					  class_of(cats, &n_cats, MAX_CLASSES * 4,
						   f->category[0] ? f->category : "(dead-letter)")};
		char err[PATH_MAX + 64];
		struct stat st;

		progress("stats", i, l.n);
		uint64_t disk = stat(f->path, &st) == 0 ? (uint64_t)st.st_size : 0;

		if (f->manifest[0] && stat(f->manifest, &st) == 0)
			disk += (uint64_t)st.st_size;
		if (f->manifest[0] && vg_reader_manifest_load(f->manifest, &m, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil stats: %s\n", err);
			status = EXIT_IO;
		}
		for (int k = 0; k < 2; k++) {
			c[k]->files++;
			c[k]->on_disk += disk;
			for (size_t j = 0; j < m.n; j++) {
				c[k]->frames++;
				c[k]->records += m.frames[j].records;
				c[k]->raw += m.frames[j].bytes;
				c[k]->stored += m.frames[j].compressed;
				for (int v = 0; v < VG_LEVEL_COUNT; v++)
					c[k]->levels[v] += m.frames[j].levels[v];
			}
		}
		vg_reader_manifest_free(&m);
	}
	progress("stats", l.n, l.n);
	for (size_t i = 0; i < n_cls; i++)
		add_total(&total, &cls[i]);
	printf("archive %s: %" PRIu64 " files, %" PRIu64 " bytes on disk, %" PRIu64 " records, %" PRIu64
	       " bytes of records, ratio %.2f\n",
	       argv[1], total.files, total.on_disk, total.records, total.raw,
	       total.stored ? (double)total.raw / (double)total.stored : 0.0);
	for (int table = 0; table < 2; table++) {
		const struct class_sum *rows = table ? cats : cls;
		size_t n = table ? n_cats : n_cls;
		int w = 16; /* the name column: as wide as the longest name */

		for (size_t i = 0; i < n; i++)
			if ((int)strlen(rows[i].name) > w)
				w = (int)strlen(rows[i].name);
		printf("\n%-*s %8s %12s %14s %14s %7s", w, table ? "category" : "class", "files", "records",
		       "bytes_on_disk", "raw_bytes", "ratio");
		for (int v = 0; v < VG_LEVEL_COUNT; v++)
			printf(" %9s", vg_level_name(v));
		printf("\n");
		for (size_t i = 0; i < n; i++) {
			const struct class_sum *c = &rows[i];

			printf("%-*s %8" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %7.2f", w, c->name, c->files,
			       c->records, c->on_disk, c->raw, c->stored ? (double)c->raw / (double)c->stored : 0.0);
			for (int v = 0; v < VG_LEVEL_COUNT; v++)
				printf(" %9" PRIu64, c->levels[v]);
			printf("\n");
		}
	}
	vg_reader_list_free(&l);
	return status;
}

/* Remove dir's now-empty parents of path, up to (not including) root. */
static void remove_empty_parents(const char *root, const char *path)
{
	char d[PATH_MAX];
	size_t rl = strlen(root);

	snprintf(d, sizeof(d), "%s", path);
	for (char *s; (s = strrchr(d, '/')) && (size_t)(s - d) > rl;) {
		*s = '\0';
		if (rmdir(d) != 0)
			break;
	}
}

static int cmd_prune(int argc, char **argv)
{
	const char *dir = NULL, *config = NULL;
	int64_t now = vg_clock_now_ms();
	uint64_t files = 0, bytes = 0;
	bool dry = false;
	struct vg_reader_list l;
	int status;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			if ((now = parse_time_arg(argv[++i])) == VG_TIME_NONE) {
				fprintf(stderr, "vigil prune: --now: expected RFC 3339, epoch seconds or now-DURATION, got "
						"'%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (!dir && argv[i][0] != '-') {
			dir = argv[i];
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil prune [-c FILE] [--now T] [--dry-run] DIR\n");
		return EXIT_USAGE;
	}
	struct vg_config *cfg;
	char err[1024];

	if (vg_config_load(&cfg, config, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_CONFIG;
	}
	unsigned dead_days = cfg->archive_dead_letter_days;

	vg_config_free(cfg);
	if ((status = list_archive("prune", dir, &l)) != EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		const char *paths[2] = {f->path, f->manifest};
		char until[32];

		progress("prune", i, l.n);
		if (!vg_reader_expired(f, now, dead_days))
			continue;
		vg_clock_format_rfc3339(f->start_ms + f->span_ms +
						(int64_t)(f->retention_days ? f->retention_days : dead_days) * 86400000,
					until);
		for (int k = 0; k < 2; k++) {
			struct stat st;

			if (!paths[k][0] || stat(paths[k], &st) != 0)
				continue;
			if (!dry && unlink(paths[k]) != 0) {
				fprintf(stderr, "vigil prune: %s: %s\n", paths[k], strerror(errno));
				status = EXIT_IO;
				continue;
			}
			printf("%s %s (%lld bytes, kept until %s)\n", dry ? "would remove" : "removed", paths[k],
			       (long long)st.st_size, until);
			files++;
			bytes += (uint64_t)st.st_size;
		}
		if (!dry)
			remove_empty_parents(dir, f->path);
	}
	progress("prune", l.n, l.n);
	printf("prune: %s %" PRIu64 " files, %" PRIu64 " bytes%s\n", dry ? "would remove" : "removed", files, bytes,
	       dry ? " (dry run)" : " freed");
	vg_reader_list_free(&l);
	return status;
}

/* vigil cat: what to keep. */
struct cat_run {
	struct stage st;
	int64_t from, to; /* [from, to) */
	int level;        /* at least this level; -1: any */
	const char *service;
	pcre2_code *grep;
	pcre2_match_data *md;
	bool parse; /* a filter needs the record's fields */
	struct vg_buf out;
	uint64_t records, matched;
};

static bool cat_keep_frame(void *arg, const struct vg_reader_frame *fr)
{
	struct cat_run *c = arg;

	if (fr->records == 0 || fr->max_ts < c->from || fr->min_ts >= c->to)
		return false;
	if (c->level < 0)
		return true;
	for (int l = c->level; l < VG_LEVEL_COUNT; l++)
		if (fr->levels[l])
			return true;
	return false;
}

static bool cat_match(struct cat_run *c, const char *p, size_t n)
{
	if (c->parse) {
		struct vg_record rec;

		if (vg_json_extract(c->st.paths, &c->st.limits, p, n, &rec, NULL) != VG_OK)
			return false; /* not in a data file: the writer only archives what parsed */
		vg_classify(c->st.ctx, &rec);
		if (rec.ts_ms != VG_TIME_NONE && (rec.ts_ms < c->from || rec.ts_ms >= c->to))
			return false;
		if (c->level >= 0 && (int)rec.level < c->level)
			return false;
		if (c->service && !vg_str_eq_cstr(rec.service, c->service))
			return false;
	}
	return !c->grep || pcre2_match(c->grep, (PCRE2_SPTR)p, n, 0, 0, c->md, NULL) >= 0;
}

static int cat_frame(void *arg, const char *data, size_t len)
{
	struct cat_run *c = arg;

	for (const char *p = data, *e = data + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		c->records++;
		if (cat_match(c, p, n)) {
			c->matched++;
			vg_buf_put(&c->out, p, n);
			vg_buf_putc(&c->out, '\n');
		}
		p += n + 1;
	}
	if (c->out.len >= (1u << 20) && vg_buf_write_fd(&c->out, STDOUT_FILENO) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

static int cmd_cat(int argc, char **argv)
{
	struct cat_run c = {.from = INT64_MIN, .to = INT64_MAX, .level = -1};
	const char *dir = NULL, *config = NULL, *category = NULL, *grep = NULL;
	bool dead = false;
	struct vg_reader_list l;
	int status = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t *t = strcmp(a, "--from") == 0 ? &c.from : strcmp(a, "--to") == 0 ? &c.to : NULL;

		if (t && v) {
			if ((*t = parse_time_arg(v)) == VG_TIME_NONE) {
				fprintf(stderr, "vigil cat: %s: expected RFC 3339, epoch seconds or now-DURATION, got '%s'\n",
					a, v);
				return EXIT_USAGE;
			}
			i++;
		} else if (strcmp(a, "--level") == 0 && v) {
			if ((c.level = vg_level_parse_text(v, strlen(v))) <= VG_LEVEL_UNKNOWN) {
				fprintf(stderr, "vigil cat: --level: unknown level '%s'\n", v);
				return EXIT_USAGE;
			}
			i++;
		} else if (strcmp(a, "--category") == 0 && v) {
			category = argv[++i];
		} else if (strcmp(a, "--service") == 0 && v) {
			c.service = argv[++i];
		} else if (strcmp(a, "--grep") == 0 && v) {
			grep = argv[++i];
		} else if (strcmp(a, "-c") == 0 && v) {
			config = argv[++i];
		} else if (strcmp(a, "--dead-letter") == 0) {
			dead = true;
		} else if (!dir && a[0] != '-') {
			dir = a;
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil cat [-c FILE] [--from T] [--to T] [--level L] [--category C] [--service S]\n"
				"                 [--grep PCRE] [--dead-letter] DIR\n");
		return EXIT_USAGE;
	}
	if (grep) {
		int code;
		PCRE2_SIZE off;

		c.grep = pcre2_compile((PCRE2_SPTR)grep, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
		if (!c.grep) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			fprintf(stderr, "vigil cat: --grep: at offset %zu: %s\n", (size_t)off, (char *)msg);
			return EXIT_USAGE;
		}
		pcre2_jit_compile(c.grep, PCRE2_JIT_COMPLETE); /* interpreted when JIT is unavailable */
		c.md = pcre2_match_data_create_from_pattern(c.grep, NULL);
	}
	c.parse = c.from != INT64_MIN || c.to != INT64_MAX || c.level >= 0 || c.service;
	if (c.parse && stage_open(&c.st, config) != VG_OK) {
		status = EXIT_CONFIG;
		goto out;
	}
	if ((status = list_archive("cat", dir, &l)) != EXIT_OK)
		goto out;
	for (size_t i = 0; i < l.n && status == EXIT_OK; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct vg_reader_manifest m;
		char err[PATH_MAX + 64];

		progress("cat", i, l.n);
		if (dead != (f->retention_days == 0) || (category && strcmp(category, f->category) != 0) ||
		    f->start_ms + f->span_ms <= c.from || f->start_ms >= c.to || !f->manifest[0])
			continue;
		if (vg_reader_manifest_load(f->manifest, &m, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil cat: %s\n", err);
			status = EXIT_IO;
			break;
		}
		int rc = vg_reader_frames(f, &m, cat_keep_frame, cat_frame, &c, err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil cat: %s: %s\n", f->path, rc == VG_ERR_IO && !err[0] ? strerror(errno) : err);
			status = EXIT_IO;
		}
		vg_reader_manifest_free(&m);
	}
	progress("cat", l.n, l.n);
	if (vg_buf_write_fd(&c.out, STDOUT_FILENO) != VG_OK && status == EXIT_OK) {
		fprintf(stderr, "vigil cat: write error: %s\n", strerror(errno));
		status = EXIT_IO;
	}
	vg_reader_list_free(&l);
out:
	vg_buf_free(&c.out);
	pcre2_match_data_free(c.md);
	pcre2_code_free(c.grep);
	if (c.parse)
		stage_close(&c.st);
	return status;
}

/* ---- vigil rules ------------------------------------------------------- */

static int cmd_rules(int argc, char **argv)
{
	const char *config = NULL, **names = NULL;
	bool check = false;
	int first_test = 0, status = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--test") == 0 && i + 1 < argc) {
			first_test = i + 1;
			break;
		} else {
			check = false;
			break;
		}
	}
	if (!check && !first_test) {
		fprintf(stderr, "usage: vigil rules [-c FILE] --check | --test TESTFILE...\n");
		return EXIT_USAGE;
	}
	struct vg_config *cfg;
	struct vg_rules_env env;
	char err[1024];

	if (vg_config_load(&cfg, config, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_CONFIG;
	}
	struct vg_table_params tp = {.map = vg_sketch_map_get(cfg->accuracy), .max_keys = cfg->max_keys};

	if (!tp.map || rules_env(cfg, cfg->window_ms, &env, &names) != VG_OK) {
		vg_config_free(cfg);
		return EXIT_IO;
	}
	if (check) {
		struct vg_rules *r;
		int rc = vg_rules_load(&r, (const char *const *)cfg->rule_files.v, cfg->rule_files.n, &env, err,
				       sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil: %s\n", err);
			status = rc == VG_ERR_IO ? EXIT_IO : EXIT_CONFIG;
		} else {
			printf("%zu rules: ok\n", vg_rules_count(r));
		}
		vg_rules_destroy(r);
	}
	for (int i = first_test; first_test && i < argc; i++) {
		char *report;
		int tests, failures;
		int rc = vg_ruletest_run(argv[i], &env, &tp, &report, &tests, &failures, err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil: %s\n", err);
			status = rc == VG_ERR_IO ? EXIT_IO : EXIT_CONFIG;
			continue;
		}
		fputs(report, stdout);
		printf("%s: %d tests, %d failed\n", argv[i], tests, failures);
		free(report);
		if (failures && status == EXIT_OK)
			status = EXIT_CONFIG;
	}
	free(names);
	vg_config_free(cfg);
	return status;
}

/* ---- vigil config ------------------------------------------------------ */

static int cmd_config(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--default") == 0)
		return vg_config_write_default(stdout) == VG_OK && fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		struct vg_config *cfg;
		char err[1024];
		int rc = vg_config_load(&cfg, argv[2], err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "%s\n", err);
			return rc == VG_ERR_IO ? EXIT_IO : EXIT_CONFIG;
		}
		vg_config_free(cfg);
		printf("%s: ok\n", argv[2]);
		return EXIT_OK;
	}
	fprintf(stderr, "usage: vigil config --default | --check FILE\n");
	return EXIT_USAGE;
}

/* ---- vigil demo -------------------------------------------------------- */

/* The whole pipeline on one machine with nothing installed: the embedded
 * broker (in this process), bench/gen's service logs with a scripted
 * incident sequence produced at a fixed rate, and vigil run's pipeline
 * with the shipped rules, archive and alert feed in a demo directory.
 *
 * Time: bench/gen writes about 1000 records per second of event time, so
 * at --rate R event time runs R/1000 times faster than the wall clock (at
 * the default 20000/s, one wall second is 20 s of event time and the
 * rules' `for: 5m` pass in 15 s). The stream is stamped to end about when
 * the demo does. Windows and rules work in event time, as they do when
 * replaying: nothing is shortened, the rules are the shipped ones. */

#define DEMO_EVENTS_PER_S 1000   /* bench/gen: records per second of event time */
#define DEMO_MIN_EVENT_S 1200    /* the incident script needs 20 minutes of event time */
#define DEMO_PARTITIONS "24"     /* the embedded broker keeps 5 MiB per partition */
#define DEMO_MAX_AHEAD 100000    /* ~35 MB unconsumed at most: a slow pipeline slows the producer, loses nothing */

struct demo {
	double rate, duration;
	uint64_t count; /* records bench/gen writes (silent drops some) */
	char archive[PATH_MAX], alerts[PATH_MAX], outbox[PATH_MAX];
	pid_t gen_pid;
	int gen_fd;
	rd_kafka_t *producer;
	_Atomic uint64_t produced;
	_Atomic uint64_t consumed; /* messages the pipeline has processed, as of the last tick */
	_Atomic int producer_done; /* 1: all delivered, 2: failed, 3: stopped by a signal */
	double t0, next_status, last_status_t, cap_s;
	uint64_t last_messages;
	bool tty, status_shown;
	int64_t event_start_ms;
	const char *http_listen; /* --http, or NULL: http.listen */
	char http[96];           /* the HTTP server's address once it serves */
};

/* Remove a directory tree the demo made before (its own paths only). */
static void demo_rmtree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[PATH_MAX];

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < sizeof(sub))
				demo_rmtree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* One place demo_find_gen looks: true when PATH is an executable file;
 * else PATH is added to `tried` for the error message. */
static bool demo_gen_at(const char *path, char *out, size_t n, char *tried, size_t tried_n)
{
	size_t used = strlen(tried);
	struct stat st;

	if ((size_t)snprintf(out, n, "%s", path) < n && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(out, X_OK) == 0)
		return true;
	if (used < tried_n)
		snprintf(tried + used, tried_n - used, "%s%s", used ? ", " : "", path);
	return false;
}

/* bench/gen, the demo's log generator: --gen PATH, else $VIGIL_GEN (either
 * one alone when given), else beside the binary (/proc/self/exe, symlinks
 * resolved): <prefix>/libexec/vigil/gen where make install put it beside
 * <prefix>/bin/vigil, or the source tree's (build/ and build/san/ hold the
 * binaries), else bench/gen under the current directory. When there is
 * none, `tried` lists where it looked. */
static bool demo_find_gen(const char *opt, char *out, size_t n, char *tried, size_t tried_n)
{
	char exe[PATH_MAX], path[PATH_MAX + 32], *slash;
	const char *env = getenv("VIGIL_GEN");
	ssize_t l;

	tried[0] = '\0';
	if (opt)
		return demo_gen_at(opt, out, n, tried, tried_n);
	if (env && *env)
		return demo_gen_at(env, out, n, tried, tried_n);
	if ((l = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[l] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		static const char *const rel[] = {"/../libexec/vigil/gen", "/../bench/gen", "/../../bench/gen",
						  "/bench/gen"};

		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if ((size_t)snprintf(path, sizeof(path), "%s%s", exe, rel[i]) < sizeof(path) &&
			    demo_gen_at(path, out, n, tried, tried_n))
				return true;
		}
	}
	return demo_gen_at("bench/gen", out, n, tried, tried_n);
}

/* The demo's directory, in out: --dir DIR, made with its parents, or a new
 * one under $TMPDIR (default /tmp), kept after the run for the commands
 * the summary suggests. 0, or -1 with errno set. */
static int demo_make_dir(const char *opt, char *out, size_t n)
{
	const char *tmp = getenv("TMPDIR");

	if (!opt) {
		if ((size_t)snprintf(out, n, "%s/vigil-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return mkdtemp(out) ? 0 : -1;
	}
	if ((size_t)snprintf(out, n, "%s", opt) >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* mkdir -p: each parent, then the directory itself. */
	for (char *s = strchr(out + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(out, 0755) != 0 && errno != EEXIST)
			return -1;
		if (!s)
			break;
		*s = '/';
	}
	struct stat st;

	if (stat(out, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* Start bench/gen with the incident script; its output on d->gen_fd. */
static int demo_spawn_gen(struct demo *d, const char *gen)
{
	char count[32], start[32];
	int fds[2];
	/* Minutes of event time from the stream's start: each incident lasts
	 * past its rule's `for` (rules judge rates once they have their
	 * window's worth of data); the 5xx one ends early enough to resolve
	 * (its 5m window and keep_firing_for 5m) within 20 minutes; the auth
	 * surge comes once 10 minutes are in (5m against the last hour). */
	const char *argv[16] = {gen,	    "--count",	  count,      "--seed",
				"42",	    "--start",	  start,      "--incident",
				"5xx:orders@1m+5m", "--incident", "auth:auth-service@11m+3m", "--incident",
				"latency:payments@8m+7m", "--incident", "silent:notifications@11m+6m", NULL};

	snprintf(count, sizeof(count), "%llu", (unsigned long long)d->count);
	snprintf(start, sizeof(start), "%lld", (long long)d->event_start_ms);
	if (pipe(fds) != 0)
		return VG_ERR_IO;
	pid_t pid = fork();

	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return VG_ERR_IO;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(gen, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	d->gen_pid = pid;
	d->gen_fd = fds[0];
	return VG_OK;
}

static void *demo_produce(void *arg)
{
	struct demo *d = arg;
	struct produce_run pr = {.rk = d->producer, .topic = "logs", .rate = d->rate, .t0 = vg_clock_mono_s(),
				 .consumed = &d->consumed, .max_ahead = DEMO_MAX_AHEAD};
	int rc = produce_fd(&pr, d->gen_fd, "bench/gen");

	if (rd_kafka_flush(d->producer, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		rc = VG_ERR_IO;
	atomic_store(&d->produced, pr.produced);
	if (rc == VG_ERR_LIMIT)
		atomic_store(&d->producer_done, 3);
	else
		atomic_store(&d->producer_done, rc == VG_OK && atomic_load(&produce_failed) == 0 ? 1 : 2);
	return NULL;
}

/* Every tick of the pipeline (closer thread): a status line a second, and
 * the end once everything produced has been processed. */
static void demo_tick(struct run_ctx *rc, void *arg)
{
	struct demo *d = arg;
	double now = vg_clock_mono_s();
	struct vg_kafka_stats ks;
	int done = atomic_load(&d->producer_done);

	vg_kafka_get_stats(rc->kafka, &ks);
	atomic_store(&d->consumed, ks.messages);
	if (!d->http[0] && rc->http) {
		snprintf(d->http, sizeof(d->http), "%s", rc->http->addr);
		fprintf(stderr, "vigil demo: while it runs: curl http://%s/metrics (and /health, /ready, /alerts)\n",
			d->http);
	}
	if (done && ks.messages >= atomic_load(&d->produced))
		stop_requested = 1;
	if (now - d->t0 > d->cap_s && !stop_requested) {
		vg_log_kv(VG_LOG_WARNING, "demo",
			  "the demo ran far past its duration; stopping with what was processed",
			  VG_LOG_I("seconds", (int64_t)(now - d->t0)));
		stop_requested = 1;
	}
	if (now < d->next_status)
		return;
	struct vg_windows_stats ws;
	size_t pending = 0, firing = 0;
	char et[32] = "-", line[256];

	double span = now - d->last_status_t;

	d->last_status_t = now;
	d->next_status += 1;
	if (d->next_status < now)
		d->next_status = now + 1;
	vg_windows_get_stats(rc->agg.win, &ws);
	if (rc->agg.alerts)
		vg_alerts_counts(rc->agg.alerts, &pending, &firing);
	if (ws.watermark_ms != INT64_MIN)
		vg_clock_format_rfc3339(ws.watermark_ms, et);
	snprintf(line, sizeof(line),
		 "demo %4.0fs  %7.0f records/s  lag %7lld  windows closed %5llu  alerts pending %zu firing %zu  "
		 "event time %.19s",
		 now - d->t0, span > 0 ? (double)(ks.messages - d->last_messages) / span : 0.0, (long long)rc->lag_now,
		 (unsigned long long)ws.closed, pending, firing, et);
	d->last_messages = ks.messages;
	if (d->tty)
		fprintf(stderr, "\r%s\033[K", line);
	else
		fprintf(stderr, "%s\n", line);
	d->status_shown = true;
}

/* A string member of one of vigil's own NDJSON alert lines ("" when absent). */
static void alert_member(const char *line, const char *key, char *out, size_t n)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	if (!(p = strstr(line, pat)))
		return;
	p += strlen(pat);
	e = strchr(p, '"');
	snprintf(out, n, "%.*s", e ? (int)(e - p) : 0, p);
}

/* The alert feed, told as a story: each alert that fired, when, and when
 * it resolved (event time). Counts what fired and what resolved. */
static void demo_alerts(const struct demo *d, unsigned *fired, unsigned *resolved)
{
	FILE *f = fopen(d->alerts, "r");
	char line[8192], name[128], state[16], labels[1024], starts[40], ends[40];

	*fired = *resolved = 0;
	printf("alerts (event time; the alert feed is %s):\n", d->alerts);
	while (f && fgets(line, sizeof(line), f)) {
		const char *l = strstr(line, "\"labels\":{");

		alert_member(line, "alertname", name, sizeof(name));
		alert_member(line, "state", state, sizeof(state));
		alert_member(line, "startsAt", starts, sizeof(starts));
		alert_member(line, "endsAt", ends, sizeof(ends));
		snprintf(labels, sizeof(labels), "%s", l ? l + 9 : "{}");
		size_t cut = strcspn(labels, "}"); /* label values never hold a brace in vigil's own output */

		if (cut + 1 < sizeof(labels))
			labels[cut + 1] = '\0';
		bool l2 = strstr(line, "\"escalation\":\"L2\"") != NULL; /* the same alert, escalated */

		if (strcmp(state, "firing") == 0 && !l2) {
			(*fired)++;
			printf("  FIRING   %.19s  %s %s\n", starts, name, labels);
		} else if (strcmp(state, "resolved") == 0 && !l2) {
			(*resolved)++;
			printf("  RESOLVED %.19s  %s %s (fired %.19s)\n", ends, name, labels, starts);
		}
	}
	if (f)
		fclose(f);
	printf("  %u fired, %u resolved\n", *fired, *resolved);
}

/* Archive files with their sizes, and the compression ratio. */
static void demo_archive(const struct demo *d, const struct run_result *res)
{
	struct vg_reader_list l;
	char err[PATH_MAX + 128];
	size_t shown = 0;

	printf("archive %s: %llu records in %llu files, %.1f MB -> %.1f MB (ratio %.1f)\n", d->archive,
	       (unsigned long long)res->archive.records, (unsigned long long)res->archive.files,
	       (double)res->archive.bytes_in / 1e6, (double)res->archive.bytes_out / 1e6,
	       res->archive.bytes_out ? (double)res->archive.bytes_in / (double)res->archive.bytes_out : 0.0);
	if (vg_reader_list(d->archive, &l, err, sizeof(err)) != VG_OK) {
		printf("  (cannot list it: %s)\n", err);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct stat st;

		if (stat(l.files[i].path, &st) != 0)
			continue;
		if (shown++ < 12)
			printf("  %9lld  %s\n", (long long)st.st_size, l.files[i].path + strlen(d->archive) + 1);
	}
	if (shown > 12)
		printf("  ... and %zu more\n", shown - 12);
	vg_reader_list_free(&l);
}

static int cmd_demo(int argc, char **argv)
{
	struct demo d = {.rate = 20000, .duration = 60, .gen_fd = -1};
	const char *dir_opt = NULL, *gen_opt = NULL;
	long workers = -1;
	int log_level = VG_LOG_WARNING; /* keeps the status lines readable */
	char gen[PATH_MAX], dir[PATH_MAX], tried[4 * PATH_MAX], err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--duration") == 0 && i + 1 < argc) {
			char *end;
			double v = strtod(argv[++i], &end);
			int64_t ms = *end ? vg_config_parse_duration(argv[i]) : (int64_t)(v * 1000);

			if (ms < 1000) {
				fprintf(stderr,
					"vigil demo: --duration: expected seconds or a duration (30s, 2m), got '%s'\n",
					argv[i]);
				return EXIT_USAGE;
			}
			d.duration = (double)ms / 1000;
		} else if (strcmp(a, "--rate") == 0 && i + 1 < argc) {
			d.rate = strtod(argv[++i], NULL);
			if (!(d.rate >= 1000 && d.rate <= 1e7)) {
				fprintf(stderr, "vigil demo: --rate: 1000 to 10000000 records/s, got '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--dir") == 0 && i + 1 < argc) {
			dir_opt = argv[++i];
		} else if (strcmp(a, "--gen") == 0 && i + 1 < argc) {
			gen_opt = argv[++i];
		} else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
			workers = strtol(argv[++i], NULL, 10);
		} else if (strcmp(a, "--http") == 0 && i + 1 < argc) {
			d.http_listen = argv[++i];
		} else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			if ((log_level = log_level_arg("demo", argv[++i])) < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "vigil demo: unknown option '%s'\n%s", a, usage);
			return EXIT_USAGE;
		}
	}
	d.count = (uint64_t)(d.rate * d.duration);
	if (d.count < (uint64_t)DEMO_MIN_EVENT_S * DEMO_EVENTS_PER_S) {
		fprintf(stderr,
			"vigil demo: the incident script needs 20 minutes of event time, i.e. rate x duration >= %d "
			"records (bench/gen writes %d per second of event time); got %.0f x %.0f s\n",
			DEMO_MIN_EVENT_S * DEMO_EVENTS_PER_S, DEMO_EVENTS_PER_S, d.rate, d.duration);
		return EXIT_USAGE;
	}
	if (!demo_find_gen(gen_opt, gen, sizeof(gen), tried, sizeof(tried))) {
		fprintf(stderr,
			"vigil demo: cannot find bench/gen, the demo's log generator (looked for %s): build it "
			"(make), install it (make install puts it in PREFIX/libexec/vigil/gen), or name it with "
			"--gen PATH or VIGIL_GEN=PATH\n",
			tried);
		return EXIT_USAGE;
	}
	if (demo_make_dir(dir_opt, dir, sizeof(dir)) != 0) {
		fprintf(stderr, "vigil demo: %s: %s\n", dir_opt ? dir_opt : dir, strerror(errno));
		return EXIT_IO;
	}
	if ((size_t)snprintf(d.archive, sizeof(d.archive), "%s/archive", dir) >= sizeof(d.archive) ||
	    (size_t)snprintf(d.alerts, sizeof(d.alerts), "%s/alerts.ndjson", dir) >= sizeof(d.alerts) ||
	    (size_t)snprintf(d.outbox, sizeof(d.outbox), "%s/outbox", dir) >= sizeof(d.outbox)) {
		fprintf(stderr, "vigil demo: --dir: path too long\n");
		return EXIT_USAGE;
	}
	demo_rmtree(d.archive); /* a fresh start: what the summary lists is this run's */
	demo_rmtree(d.outbox);
	unlink(d.alerts);
	vg_log_set_level(log_level);
	catch_stop_signals();

	struct vg_broker *b;
	int status = EXIT_OK;

	if (vg_broker_start(&b, 1, err, sizeof(err)) != VG_OK ||
	    vg_broker_command(b, "topic logs " DEMO_PARTITIONS, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil demo: embedded broker: %s\n", err);
		return EXIT_IO;
	}
	double event_s = (double)d.count / DEMO_EVENTS_PER_S;

	d.event_start_ms = vg_clock_now_ms() - (int64_t)(event_s * 1000);
	printf("vigil demo: embedded Kafka broker at %s (topic logs, %s partitions)\n", vg_broker_bootstraps(b),
	       DEMO_PARTITIONS);
	printf("  %s: %llu service log records at %.0f/s for %.0f s, with incidents: 5xx on orders, failed "
	       "logins on auth-service, latency on payments, notifications silent\n",
	       gen, (unsigned long long)d.count, d.rate, d.duration);
	printf("  event time runs %.0fx wall time: bench/gen writes ~%d records per second of event time, so the "
	       "shipped rules' `for: 5m` pass in %.0f s\n",
	       d.rate / DEMO_EVENTS_PER_S, DEMO_EVENTS_PER_S, 300 / (d.rate / DEMO_EVENTS_PER_S));
	printf("  pipeline: vigil run's, with the shipped rules and allowed lateness scaled alike (%.0f s of event "
	       "time = 5 s wall); archive %s, alerts %s\n",
	       5 * d.rate / DEMO_EVENTS_PER_S, d.archive, d.alerts);
	fflush(stdout);

	if (!(d.producer = producer_new(vg_broker_bootstraps(b), NULL, 0, err, sizeof(err))) ||
	    demo_spawn_gen(&d, gen) != VG_OK) {
		fprintf(stderr, "vigil demo: %s\n", d.producer ? "cannot start bench/gen" : err);
		if (d.producer)
			rd_kafka_destroy(d.producer);
		vg_broker_stop(b);
		return EXIT_IO;
	}
	pthread_t producer;

	d.tty = isatty(STDERR_FILENO);
	d.t0 = vg_clock_mono_s();
	d.next_status = d.t0 + 1;
	d.last_status_t = d.t0;
	d.cap_s = 3 * d.duration + 60;
	if (pthread_create(&producer, NULL, demo_produce, &d) != 0) {
		fprintf(stderr, "vigil demo: cannot start the producer\n");
		status = EXIT_IO;
		goto out_gen;
	}

	/* Lateness is event time too: the configured 5 s would be a quarter of a
	 * wall second at 20x, less than the partitions' spread. The stop bound
	 * is generous: the last flush closes every window still open, each
	 * evaluated by every rule (slow under the sanitizers). */
	int64_t lateness_ms = (int64_t)(5000 * d.rate / DEMO_EVENTS_PER_S);
	struct run_result res = {0};
	struct run_opts o = {.brokers = vg_broker_bootstraps(b), .group = "vigil-demo", .topics = {"logs"},
			     .n_topics = 1, .archive_dir = d.archive, .alerts_path = d.alerts, .outbox_dir = d.outbox,
			     .http_listen = d.http_listen,
			     .workers = workers, .log_level = log_level, .lateness_ms = lateness_ms, .skew_behind_ms = -1,
			     .shutdown_timeout_ms = 60000,
			     .on_tick = demo_tick, .on_tick_arg = &d,
			     .result = &res};

	status = run_pipeline(&o);
	if (d.status_shown && d.tty)
		fputc('\n', stderr);
	stop_requested = 1; /* the producer, if the pipeline ended first */
	pthread_join(producer, NULL);

	/* The story. */
	unsigned fired, resolved;
	uint64_t produced = atomic_load(&d.produced);

	bool interrupted = atomic_load(&d.producer_done) == 3;

	printf("\n== vigil demo: summary%s\n", interrupted ? " (interrupted: the stream was cut short)" : "");
	printf("records: %llu produced, %llu processed in %.1f s (%.0f records/s)%s\n", (unsigned long long)produced,
	       (unsigned long long)res.kafka.messages, res.seconds,
	       res.seconds > 0 ? (double)res.kafka.messages / res.seconds : 0.0,
	       res.kafka.messages == produced || interrupted ? "" : "  <- not all processed");
	demo_alerts(&d, &fired, &resolved);
	demo_archive(&d, &res);
	if (d.http[0])
		printf("served (stopped now): http://%s/metrics, /health, /ready and /alerts; the embedded broker at %s\n",
		       d.http, vg_broker_bootstraps(b));
	else
		printf("served (stopped now): the embedded broker at %s; no HTTP endpoints (http.listen off or taken)\n",
		       vg_broker_bootstraps(b));
	printf("look further:\n");
	printf("  vigil verify %s\n", d.archive);
	printf("  vigil stats %s\n", d.archive);
	printf("  vigil cat --level error --category security %s | head\n", d.archive);
	printf("  grep '\"state\":\"firing\"' %s | head -n 3\n", d.alerts);
	/* Interrupted (SIGINT, SIGTERM): what was processed is summed up, and
	 * that is not a failure. Otherwise every record must have come through. */
	if (!interrupted && status == EXIT_OK && (atomic_load(&d.producer_done) != 1 || res.kafka.messages != produced))
		status = EXIT_IO;

out_gen:
	if (d.gen_fd >= 0)
		close(d.gen_fd);
	if (d.gen_pid > 0) {
		kill(d.gen_pid, SIGTERM); /* done already, unless stopped early */
		waitpid(d.gen_pid, NULL, 0);
	}
	rd_kafka_destroy(d.producer);
	vg_broker_stop(b);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "classify") == 0)
		return cmd_classify(argc - 1, argv + 1);
	if (strcmp(argv[1], "aggregate") == 0)
		return cmd_aggregate(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "broker") == 0)
		return cmd_broker(argc - 1, argv + 1);
	if (strcmp(argv[1], "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	if (strcmp(argv[1], "produce") == 0)
		return cmd_produce(argc - 1, argv + 1);
	if (strcmp(argv[1], "config") == 0)
		return cmd_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "cat") == 0)
		return cmd_cat(argc - 1, argv + 1);
	if (strcmp(argv[1], "prune") == 0)
		return cmd_prune(argc - 1, argv + 1);
	if (strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return EXIT_OK;
	}
	fprintf(stderr, "vigil: unknown command '%s'\n%s", argv[1], usage);
	return EXIT_USAGE;
}
