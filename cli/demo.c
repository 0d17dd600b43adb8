/* vigil demo: the whole pipeline on an embedded broker (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "ingest/broker.h"
#include "pipeline/run.h"
#include "pipeline/stop.h"
#include "sink/reader.h"

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
	_Atomic bool capped; /* stopped at cap_s, not by the user */
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
	struct vg_cli_producer pr = {.rk = d->producer, .topic = "logs", .rate = d->rate, .t0 = vg_clock_mono_s(),
				 .consumed = &d->consumed, .max_ahead = DEMO_MAX_AHEAD};
	int rc = vg_cli_produce_fd(&pr, d->gen_fd, "bench/gen");

	if (rd_kafka_flush(d->producer, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		rc = VG_ERR_IO;
	atomic_store(&d->produced, pr.produced);
	if (rc == VG_ERR_LIMIT)
		atomic_store(&d->producer_done, 3);
	else
		atomic_store(&d->producer_done, rc == VG_OK && vg_cli_produce_failed() == 0 ? 1 : 2);
	return NULL;
}

/* Every tick of the pipeline (closer thread): a status line a second, and
 * the end once everything produced has been processed. */
static void demo_tick(const struct vg_run_status *st, void *arg)
{
	struct demo *d = arg;
	double now = vg_clock_mono_s();
	int done = atomic_load(&d->producer_done);

	atomic_store(&d->consumed, st->messages);
	if (!d->http[0] && st->http_addr) {
		snprintf(d->http, sizeof(d->http), "%s", st->http_addr);
		fprintf(stderr, "vigil demo: while it runs: curl http://%s/metrics (and /health, /ready, /alerts)\n",
			d->http);
	}
	if (done && st->messages >= atomic_load(&d->produced))
		vg_stop_request();
	if (now - d->t0 > d->cap_s && !vg_stop_requested()) {
		vg_log_kv(VG_LOG_WARNING, "demo",
			  "the demo ran far past its duration; stopping with what was processed",
			  VG_LOG_I("seconds", (int64_t)(now - d->t0)));
		atomic_store(&d->capped, true);
		vg_stop_request();
	}
	if (now < d->next_status)
		return;
	char et[32] = "-", line[256];

	double span = now - d->last_status_t;

	d->last_status_t = now;
	d->next_status += 1;
	if (d->next_status < now)
		d->next_status = now + 1;
	if (st->watermark_ms != INT64_MIN)
		vg_clock_format_rfc3339(st->watermark_ms, et);
	snprintf(line, sizeof(line),
		 "demo %4.0fs  %7.0f records/s  lag %7lld  windows closed %5llu  alerts pending %zu firing %zu  "
		 "event time %.19s",
		 now - d->t0, span > 0 ? (double)(st->messages - d->last_messages) / span : 0.0, (long long)st->lag,
		 (unsigned long long)st->windows_closed, st->alerts_pending, st->alerts_firing, et);
	d->last_messages = st->messages;
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
static void demo_archive(const struct demo *d, const struct vg_run_result *res)
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

int vg_cli_demo(int argc, char **argv)
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
				return VG_EXIT_USAGE;
			}
			d.duration = (double)ms / 1000;
		} else if (strcmp(a, "--rate") == 0 && i + 1 < argc) {
			char *end;

			d.rate = strtod(argv[++i], &end);
			if (*end || !(d.rate >= 1000 && d.rate <= 1e7)) {
				fprintf(stderr, "vigil demo: --rate: 1000 to 10000000 records/s, got '%s'\n", argv[i]);
				return VG_EXIT_USAGE;
			}
		} else if (strcmp(a, "--dir") == 0 && i + 1 < argc) {
			dir_opt = argv[++i];
		} else if (strcmp(a, "--gen") == 0 && i + 1 < argc) {
			gen_opt = argv[++i];
		} else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
			if (!vg_cli_int_arg("demo", a, argv[++i], 1, VG_RUN_MAX_WORKERS, &workers))
				return VG_EXIT_USAGE;
		} else if (strcmp(a, "--http") == 0 && i + 1 < argc) {
			d.http_listen = argv[++i];
		} else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			if ((log_level = vg_cli_log_level_arg("demo", argv[++i])) < 0)
				return VG_EXIT_USAGE;
		} else {
			return vg_cli_bad_option("demo", argc, argv, i);
		}
	}
	d.count = (uint64_t)(d.rate * d.duration);
	if (d.count < (uint64_t)DEMO_MIN_EVENT_S * DEMO_EVENTS_PER_S) {
		fprintf(stderr,
			"vigil demo: the incident script needs 20 minutes of event time, i.e. rate x duration >= %d "
			"records (bench/gen writes %d per second of event time); got %.0f x %.0f s\n",
			DEMO_MIN_EVENT_S * DEMO_EVENTS_PER_S, DEMO_EVENTS_PER_S, d.rate, d.duration);
		return VG_EXIT_USAGE;
	}
	if (!demo_find_gen(gen_opt, gen, sizeof(gen), tried, sizeof(tried))) {
		fprintf(stderr,
			"vigil demo: cannot find bench/gen, the demo's log generator (looked for %s): build it "
			"(make), install it (make install puts it in PREFIX/libexec/vigil/gen), or name it with "
			"--gen PATH or VIGIL_GEN=PATH\n",
			tried);
		return VG_EXIT_USAGE;
	}
	if (demo_make_dir(dir_opt, dir, sizeof(dir)) != 0) {
		fprintf(stderr, "vigil demo: %s: %s\n", dir_opt ? dir_opt : dir, strerror(errno));
		return VG_EXIT_IO;
	}
	if ((size_t)snprintf(d.archive, sizeof(d.archive), "%s/archive", dir) >= sizeof(d.archive) ||
	    (size_t)snprintf(d.alerts, sizeof(d.alerts), "%s/alerts.ndjson", dir) >= sizeof(d.alerts) ||
	    (size_t)snprintf(d.outbox, sizeof(d.outbox), "%s/outbox", dir) >= sizeof(d.outbox)) {
		fprintf(stderr, "vigil demo: --dir: path too long\n");
		return VG_EXIT_USAGE;
	}
	demo_rmtree(d.archive); /* a fresh start: what the summary lists is this run's */
	demo_rmtree(d.outbox);
	unlink(d.alerts);
	vg_log_set_level(log_level);
	vg_stop_catch();

	struct vg_broker *b;
	int status = VG_EXIT_OK;

	if (vg_broker_start(&b, 1, err, sizeof(err)) != VG_OK ||
	    vg_broker_command(b, "topic logs " DEMO_PARTITIONS, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil demo: embedded broker: %s\n", err);
		return VG_EXIT_IO;
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

	if (!(d.producer = vg_cli_producer_new(vg_broker_bootstraps(b), NULL, 0, err, sizeof(err))) ||
	    demo_spawn_gen(&d, gen) != VG_OK) {
		fprintf(stderr, "vigil demo: %s\n", d.producer ? "cannot start bench/gen" : err);
		if (d.producer)
			rd_kafka_destroy(d.producer);
		vg_broker_stop(b);
		return VG_EXIT_IO;
	}
	pthread_t producer;

	d.tty = isatty(STDERR_FILENO);
	d.t0 = vg_clock_mono_s();
	d.next_status = d.t0 + 1;
	d.last_status_t = d.t0;
	d.cap_s = 3 * d.duration + 60;
	if (pthread_create(&producer, NULL, demo_produce, &d) != 0) {
		fprintf(stderr, "vigil demo: cannot start the producer\n");
		status = VG_EXIT_IO;
		goto out_gen;
	}

	/* Lateness is event time too: the configured 5 s would be a quarter of a
	 * wall second at 20x, less than the partitions' spread. The stop bound
	 * is generous: the last flush closes every window still open, each
	 * evaluated by every rule (slow under the sanitizers). */
	int64_t lateness_ms = (int64_t)(5000 * d.rate / DEMO_EVENTS_PER_S);
	struct vg_run_result res = {0};
	struct vg_run_opts o = {.brokers = vg_broker_bootstraps(b), .group = "vigil-demo", .topics = {"logs"},
			     .n_topics = 1, .archive_dir = d.archive, .alerts_path = d.alerts, .outbox_dir = d.outbox,
			     .http_listen = d.http_listen,
			     .workers = workers, .log_level = log_level, .lateness_ms = lateness_ms, .skew_behind_ms = -1,
			     .shutdown_timeout_ms = 60000,
			     .on_tick = demo_tick, .on_tick_arg = &d,
			     .result = &res};

	status = vg_run_main(&o);
	if (d.status_shown && d.tty)
		fputc('\n', stderr);
	vg_stop_request(); /* the producer, if the pipeline ended first */
	pthread_join(producer, NULL);

	/* The story. */
	unsigned fired, resolved;
	uint64_t produced = atomic_load(&d.produced);

	bool capped = atomic_load(&d.capped);
	bool interrupted = atomic_load(&d.producer_done) == 3 && !capped;

	printf("\n== vigil demo: summary%s\n", capped        ? " (stopped: it ran far past its duration)"
	                                         : interrupted ? " (interrupted: the stream was cut short)"
	                                                       : "");
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
	if (!interrupted && status == VG_EXIT_OK && (atomic_load(&d.producer_done) != 1 || res.kafka.messages != produced))
		status = VG_EXIT_IO;

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

