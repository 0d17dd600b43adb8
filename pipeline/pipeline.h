/* vigil: the pipeline over files: vigil aggregate and vigil replay.
 *
 * The stages assembled: parse and classify (parse/stage.h), windows
 * (aggregate/window.h) on 1 to VG_PIPELINE_MAX_THREADS worker threads, the
 * window store, the rules and alerts (alert/alerts.h), the notifiers
 * (sink/notify.h), window rows on standard output and the summary line on
 * standard error. vigil run drives the same stages from Kafka
 * (pipeline/run.h): the per-record step and the closer are one copy.
 *
 * Use: vg_files_open, then vg_files_read on every input in turn (from one
 * thread), then vg_files_finish, which frees the pipeline. Errors are said
 * on standard error as "vigil CMD: ..."; the functions return vigil's exit
 * statuses (enum vg_exit). Not thread-safe: one thread drives a pipeline
 * (it starts and joins its own workers). */
#ifndef VG_PIPELINE_H
#define VG_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#define VG_PIPELINE_MAX_THREADS 256

struct vg_pipeline;

struct vg_files_opts {
	const char *cmd;         /* "aggregate" or "replay", for messages */
	const char *config_path; /* NULL: the defaults */
	int64_t window_ms;       /* > 0: over aggregate.window */
	unsigned threads;        /* 1 to VG_PIPELINE_MAX_THREADS */
	bool exact;              /* exact quantiles (samples kept) */
	bool quiet;              /* no window rows */
	bool alerts_stdout;      /* the alert changes are the output (replay) */
	bool no_notify;          /* the notify section is ignored (replay without --notify) */
	const char *alerts_path; /* NDJSON of alert changes; NULL: logged on stderr */
	int log_level;           /* >= 0: over log.level */
};

/* Load the configuration and start the stages. Returns VG_EXIT_OK with
 * *out set, or an exit status with nothing left to free. */
int vg_files_open(struct vg_pipeline **out, const struct vg_files_opts *o);

/* Read one input to its end (fd stays open; name is for messages):
 * a regular file with several threads is read in parallel ranges, a pipe
 * in chunks, one thread inline. Windows close as event time passes.
 * arg is the pipeline (the signature of an input callback). Returns 0 or
 * an error (a read error said on stderr). */
int vg_files_read(void *arg, int fd, const char *name);

/* The end of input: flush every window, write what is left, print the
 * summary and free the pipeline. read_rc: the last vg_files_read's result;
 * status: the exit status so far. Returns the exit status. */
int vg_files_finish(struct vg_pipeline *p, int read_rc, int status);

#endif
