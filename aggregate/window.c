#define _POSIX_C_SOURCE 200809L
#include "aggregate/window.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"

/* Worker state word: IDLE, ENTERING (between announcing itself and
 * reading the epoch), or IN(e) while writing into shard[e & 1]. */
#define ST_IDLE 0u
#define ST_ENTERING 1u
#define ST_IN(e) (((uint64_t)(e) + 1) << 1)

/* One input stream of a worker (worker-private). */
struct stream {
	int32_t id;
	uint32_t gen;      /* registered: the assignment it belongs to */
	int64_t max_ts;    /* largest event time seen on it (skewed records aside) */
	int64_t ref_ts;    /* largest reference (Kafka time) of its skewed records */
	int64_t last_ts;   /* the previous record's, for records without one */
	int64_t active_ms; /* monotonic time of its last record */
	bool dirty;        /* registered: a record since the last publication */
};

/* A registered stream as the source and the closer see it. The source
 * writes state and gen; the stream's one worker writes max_ts and
 * active_ms at the end of a batch (before it releases its shard, so the
 * closer that reads them covers only records in drained shards). */
struct slot {
	_Atomic int state;         /* enum vg_wstream */
	_Atomic uint32_t gen;      /* bumped at each assignment */
	_Atomic int64_t max_ts;    /* newest event time, VG_TIME_NONE before the first */
	_Atomic int64_t ref_ts;    /* its skewed records' newest Kafka time, VG_TIME_NONE before one */
	_Atomic int64_t active_ms; /* monotonic time of the last record, or of the assignment */
};

struct vg_wworker {
	struct vg_windows *w;
	struct vg_table *shard[2];
	struct vg_table *cur;
	uint64_t epoch;
	struct stream *streams;
	size_t n_streams, cap_streams;
	struct stream *last; /* the stream of the previous record */
	int64_t now_ms;      /* clock at batch start */
	int64_t win, win_start, win_end; /* the previous record's window, in ms */
	uint64_t records, late, no_time, skew_ahead, skew_behind;
	uint64_t no_time_by[VG_TIME_ERR_COUNT];
	uint64_t duration_err[VG_DURATION_ERR_COUNT];
	int64_t newest; /* the newest event time it moved a stream to */
	/* Published to the closer. */
	_Atomic uint64_t state;
	_Atomic int64_t progress_ts;
	_Atomic int64_t active_ms; /* monotonic time of the last batch with records */
	_Atomic uint64_t pub_records, pub_late, pub_no_time, pub_skew_ahead, pub_skew_behind;
	_Atomic uint64_t pub_no_time_by[VG_TIME_ERR_COUNT];
	_Atomic uint64_t pub_duration_err[VG_DURATION_ERR_COUNT];
	_Atomic int64_t pub_newest;
	_Atomic bool finished;
	bool had_records; /* in this batch */
	/* Pad so two workers never share a cache line. */
	char pad[64];
};

struct pending {
	int64_t window;
	struct vg_table *table;
};

struct vg_windows {
	struct vg_windows_params p;
	struct vg_wworker *workers;
	struct slot *slots; /* max_streams of them */
	_Atomic uint64_t epoch;
	_Atomic int64_t open_from; /* windows below this are emitted */
	/* Closer-owned. */
	struct pending *pending;
	size_t n_pending, cap_pending;
	struct vg_table **spare; /* reset tables for reuse */
	size_t n_spare, cap_spare;
	uint64_t closed, merged_late, overflow;
	int64_t watermark;
	int64_t next_win; /* the next window to emit; INT64_MIN before the first */
	bool flipped;      /* a flip awaits its quiescent point */
	int64_t flip_wm;   /* watermark computed just before that flip */
	int64_t idle_since_ms, idle_base_ts; /* clock-driven watermark while all idle */
	int64_t last_wm, newest; /* for the stats: see vg_windows_stats */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t mono_ms(void)
{
	return (int64_t)(vg_clock_mono_s() * 1000.0);
}

int vg_windows_create(struct vg_windows **out, const struct vg_windows_params *p)
{
	struct vg_windows *w = calloc(1, sizeof(*w));
	int rc = VG_ERR_NOMEM;

	*out = NULL;
	if (!w)
		return VG_ERR_NOMEM;
	if (p->workers == 0 || p->window_ms <= 0) {
		free(w);
		return VG_ERR_INVALID;
	}
	w->p = *p;
	w->watermark = INT64_MIN;
	w->next_win = INT64_MIN;
	w->last_wm = INT64_MIN;
	w->newest = VG_TIME_NONE;
	w->idle_since_ms = -1;
	atomic_init(&w->epoch, 0);
	atomic_init(&w->open_from, INT64_MIN);
	if (!(w->workers = calloc(p->workers, sizeof(*w->workers))))
		goto out_free;
	if (p->max_streams && !(w->slots = calloc(p->max_streams, sizeof(*w->slots))))
		goto out_free;
	for (unsigned i = 0; i < p->max_streams; i++) {
		atomic_init(&w->slots[i].state, VG_WSTREAM_GONE);
		atomic_init(&w->slots[i].gen, 0);
		atomic_init(&w->slots[i].max_ts, VG_TIME_NONE);
		atomic_init(&w->slots[i].ref_ts, VG_TIME_NONE);
		atomic_init(&w->slots[i].active_ms, 0);
	}
	for (unsigned i = 0; i < p->workers; i++) {
		struct vg_wworker *ww = &w->workers[i];

		ww->w = w;
		atomic_init(&ww->state, ST_IDLE);
		atomic_init(&ww->progress_ts, VG_TIME_NONE);
		atomic_init(&ww->pub_newest, VG_TIME_NONE);
		ww->newest = VG_TIME_NONE;
		atomic_init(&ww->active_ms, mono_ms());
		atomic_init(&ww->finished, false);
		for (int k = 0; k < 2; k++) {
			if (vg_table_create(&ww->shard[k], &p->table) != VG_OK)
				goto out_free;
		}
	}
	*out = w;
	return VG_OK;

out_free:
	vg_windows_destroy(w);
	return rc;
}

void vg_windows_destroy(struct vg_windows *w)
{
	if (!w)
		return;
	for (unsigned i = 0; w->workers && i < w->p.workers; i++) {
		vg_table_destroy(w->workers[i].shard[0]);
		vg_table_destroy(w->workers[i].shard[1]);
		free(w->workers[i].streams);
	}
	free(w->workers);
	free(w->slots);
	for (size_t i = 0; i < w->n_pending; i++)
		vg_table_destroy(w->pending[i].table);
	free(w->pending);
	for (size_t i = 0; i < w->n_spare; i++)
		vg_table_destroy(w->spare[i]);
	free(w->spare);
	free(w);
}

struct vg_wworker *vg_windows_worker(struct vg_windows *w, unsigned i)
{
	return i < w->p.workers ? &w->workers[i] : NULL;
}

/* ---- source side -------------------------------------------------------- */

static struct slot *slot_of(const struct vg_windows *w, int32_t stream)
{
	return stream >= 0 && (unsigned)stream < w->p.max_streams ? &w->slots[stream] : NULL;
}

void vg_windows_stream_set(struct vg_windows *w, int32_t stream, enum vg_wstream st)
{
	struct slot *s = slot_of(w, stream);

	if (!s)
		return;
	if (atomic_load(&s->state) == VG_WSTREAM_GONE && st != VG_WSTREAM_GONE) {
		/* A new assignment: its event time is unknown until its first
		 * record; the idle timeout counts from now. Its worker starts
		 * the stream afresh when it sees the new generation. */
		atomic_store(&s->max_ts, VG_TIME_NONE);
		atomic_store(&s->ref_ts, VG_TIME_NONE);
		atomic_store(&s->active_ms, mono_ms());
		atomic_fetch_add(&s->gen, 1);
	}
	atomic_store(&s->state, st);
}

/* ---- worker side -------------------------------------------------------- */

void vg_wworker_begin(struct vg_wworker *ww)
{
	if (atomic_load_explicit(&ww->finished, memory_order_relaxed))
		atomic_store(&ww->finished, false); /* more input after all */
	/* Announce first, then read the epoch: with sequentially consistent
	 * order, the closer either sees ENTERING (and waits) or this load
	 * sees its new epoch. */
	atomic_store(&ww->state, ST_ENTERING);
	ww->epoch = atomic_load(&ww->w->epoch);
	atomic_store(&ww->state, ST_IN(ww->epoch));
	ww->cur = ww->shard[ww->epoch & 1];
	ww->had_records = false;
	ww->now_ms = mono_ms();
	ww->last = NULL; /* look the first stream up: it may have been assigned anew */
}

static struct stream *stream_get(struct vg_wworker *ww, int32_t id)
{
	const struct slot *slot;
	struct stream *s = NULL;

	if (ww->last && ww->last->id == id)
		return ww->last;
	for (size_t i = 0; i < ww->n_streams && !s; i++) {
		if (ww->streams[i].id == id)
			s = &ww->streams[i];
	}
	if (!s) {
		if (vg_grow(&ww->streams, &ww->cap_streams, ww->n_streams + 1, sizeof(*ww->streams), 8) != 0)
			return NULL;
		s = &ww->streams[ww->n_streams++];
		*s = (struct stream){.id = id, .gen = UINT32_MAX};
	}
	slot = slot_of(ww->w, id);
	uint32_t gen = slot ? atomic_load_explicit(&slot->gen, memory_order_acquire) : 0;

	if (s->gen != gen) /* new, or assigned anew: nothing of before counts */
		*s = (struct stream){.id = id, .gen = gen, .max_ts = VG_TIME_NONE, .ref_ts = VG_TIME_NONE,
				     .last_ts = VG_TIME_NONE, .active_ms = ww->now_ms};
	return ww->last = s;
}

/* The skew guard: the time a record with event time ts counts at, given
 * its reference (VG_TIME_NONE: none), counting a skewed one. */
static int64_t unskew(struct vg_wworker *ww, const struct stream *st, int64_t ts, int64_t ref)
{
	const struct vg_windows_params *p = &ww->w->p;
	int64_t ahead_of = ref, behind_of = ref, sane;

	if (ref == VG_TIME_NONE) { /* a file: the clock ahead, the stream behind */
		ahead_of = p->skew_ahead_ms ? vg_clock_now_ms() : VG_TIME_NONE;
		behind_of = st->max_ts;
	}
	if (p->skew_ahead_ms && ahead_of != VG_TIME_NONE && ts > ahead_of && ts - ahead_of > p->skew_ahead_ms)
		ww->skew_ahead++;
	else if (p->skew_behind_ms && behind_of != VG_TIME_NONE && ts < behind_of &&
		 behind_of - ts > p->skew_behind_ms)
		ww->skew_behind++;
	else
		return ts;
	/* Skewed: at the reference, or the stream's newest time when later
	 * (never late for being skewed), or the clock. */
	sane = ref != VG_TIME_NONE ? ref : st->max_ts != VG_TIME_NONE ? st->max_ts : vg_clock_now_ms();
	return st->max_ts != VG_TIME_NONE && st->max_ts > sane ? st->max_ts : sane;
}

const char *vg_windows_duration_err_str(int e)
{
	static const char *const names[VG_DURATION_ERR_COUNT] = {"negative", "over_bound", "not_finite"};

	return e >= 0 && e < VG_DURATION_ERR_COUNT ? names[e] : "?";
}

/* Why a duration (not NaN) cannot be real, or -1 when it can. */
static int duration_err(double ms, double max_ms)
{
	if (isinf(ms))
		return VG_DURATION_NOT_FINITE;
	if (ms < 0)
		return VG_DURATION_NEGATIVE;
	if (max_ms > 0 && ms > max_ms)
		return VG_DURATION_OVER_BOUND;
	return -1;
}

int vg_wworker_add(struct vg_wworker *ww, const struct vg_record *rec, int64_t ref_ms, int32_t stream,
		   int64_t *ts_out)
{
	struct vg_windows *w = ww->w;
	struct stream *st = stream_get(ww, stream);
	int64_t ts = rec->ts_ms;
	bool moves = true; /* may move its stream's event time */

	if (!st)
		return VG_ERR_NOMEM;
	if (ts == VG_TIME_NONE) {
		ww->no_time++;
		ww->no_time_by[rec->ts_err < VG_TIME_ERR_COUNT ? rec->ts_err : VG_TIME_SYNTAX]++;
		ts = ref_ms != VG_TIME_NONE ? ref_ms : st->last_ts != VG_TIME_NONE ? st->last_ts : vg_clock_now_ms();
	} else if (w->p.skew_ahead_ms || w->p.skew_behind_ms) {
		int64_t sane = unskew(ww, st, ts, ref_ms);

		/* Skewed, it moves nothing: not its forged time, and not its
		 * reference either, which may run ahead of its partition's
		 * event time (a backlog produced later than it was logged: the
		 * records after it would be late). Its Kafka time stands in
		 * for the partition's progress only while the partition has no
		 * event time of its own (every record skewed so far), so that
		 * one whose clock lags holds the watermark there, not at
		 * "unknown". */
		moves = sane == ts;
		if (!moves && ref_ms != VG_TIME_NONE && sane > st->ref_ts)
			st->ref_ts = sane;
		ts = sane;
	}
	if (ts_out)
		*ts_out = ts;
	st->last_ts = ts;
	st->active_ms = ww->now_ms;
	st->dirty = true;
	ww->had_records = true;
	if (ts < ww->win_start || ts >= ww->win_end) {
		/* Runs of records share a window: divide only on a change. */
		ww->win = floor_div(ts, w->p.window_ms);
		ww->win_start = ww->win * w->p.window_ms;
		ww->win_end = ww->win_start + w->p.window_ms;
	}
	int64_t win = ww->win;

	/* Late: the window ended more than the allowed lateness before the
	 * newest event of this stream (decided by the stream alone, not by
	 * when the closer runs), or it has been emitted already. */
	if ((st->max_ts != VG_TIME_NONE && ww->win_end <= st->max_ts - w->p.lateness_ms) ||
	    win < atomic_load_explicit(&w->open_from, memory_order_relaxed)) {
		ww->late++;
		return VG_OK;
	}
	if (moves && ts > st->max_ts) {
		st->max_ts = ts;
		if (ts > ww->newest)
			ww->newest = ts;
	}
	ww->records++;
	if (rec->status && !isnan(rec->duration_ms)) {
		int why = duration_err(rec->duration_ms, w->p.max_duration_ms);

		if (why >= 0) {
			/* Rare: a copy without the duration, so that the one
			 * per-record step (vg_table_add_record) stays as is. */
			struct vg_record r = *rec;

			ww->duration_err[why]++;
			r.duration_ms = NAN;
			return vg_table_add_record(ww->cur, win, &r);
		}
	}
	return vg_table_add_record(ww->cur, win, rec);
}

bool vg_wworker_later(const struct vg_wworker *ww, const struct vg_record *rec)
{
	return rec->ts_ms != VG_TIME_NONE && ww->win_end > ww->win_start && rec->ts_ms >= ww->win_end;
}

/* Registered streams: their newest event time and activity, for the
 * closer. */
static void publish_streams(struct vg_wworker *ww)
{
	for (size_t i = 0; i < ww->n_streams; i++) {
		struct stream *s = &ww->streams[i];
		struct slot *slot = slot_of(ww->w, s->id);

		if (!s->dirty || !slot)
			continue;
		s->dirty = false;
		/* A stream assigned anew since this batch began is not ours
		 * to update any more. */
		if (atomic_load_explicit(&slot->gen, memory_order_acquire) != s->gen)
			continue;
		atomic_store_explicit(&slot->ref_ts, s->ref_ts, memory_order_relaxed);
		atomic_store_explicit(&slot->max_ts, s->max_ts, memory_order_release);
		atomic_store_explicit(&slot->active_ms, s->active_ms, memory_order_relaxed);
	}
}

/* The worker's progress: the slowest of its active streams (all of them
 * when none is active). */
static int64_t worker_progress(const struct vg_wworker *ww)
{
	int64_t lo = INT64_MAX, hi = VG_TIME_NONE;

	for (size_t i = 0; i < ww->n_streams; i++) {
		const struct stream *s = &ww->streams[i];

		if (s->max_ts == VG_TIME_NONE)
			continue;
		if (s->max_ts > hi)
			hi = s->max_ts;
		if (ww->now_ms - s->active_ms < ww->w->p.idle_timeout_ms && s->max_ts < lo)
			lo = s->max_ts;
	}
	return lo != INT64_MAX ? lo : hi;
}

void vg_wworker_end(struct vg_wworker *ww)
{
	if (ww->w->slots)
		publish_streams(ww);
	atomic_store_explicit(&ww->pub_newest, ww->newest, memory_order_relaxed);
	atomic_store_explicit(&ww->progress_ts, worker_progress(ww), memory_order_release);
	atomic_store_explicit(&ww->pub_records, ww->records, memory_order_relaxed);
	atomic_store_explicit(&ww->pub_late, ww->late, memory_order_relaxed);
	atomic_store_explicit(&ww->pub_no_time, ww->no_time, memory_order_relaxed);
	atomic_store_explicit(&ww->pub_skew_ahead, ww->skew_ahead, memory_order_relaxed);
	atomic_store_explicit(&ww->pub_skew_behind, ww->skew_behind, memory_order_relaxed);
	for (int r = 0; r < VG_TIME_ERR_COUNT; r++)
		atomic_store_explicit(&ww->pub_no_time_by[r], ww->no_time_by[r], memory_order_relaxed);
	for (int r = 0; r < VG_DURATION_ERR_COUNT; r++)
		atomic_store_explicit(&ww->pub_duration_err[r], ww->duration_err[r], memory_order_relaxed);
	if (ww->had_records)
		atomic_store_explicit(&ww->active_ms, mono_ms(), memory_order_relaxed);
	/* Release: the closer that sees IDLE sees the shard writes too. */
	atomic_store_explicit(&ww->state, ST_IDLE, memory_order_release);
}

void vg_wworker_finish(struct vg_wworker *ww)
{
	atomic_store(&ww->finished, true);
}

/* ---- closer side -------------------------------------------------------- */

static struct vg_table *take_table(struct vg_windows *w)
{
	struct vg_table *t = NULL;

	if (w->n_spare)
		return w->spare[--w->n_spare];
	if (vg_table_create(&t, &w->p.table) != VG_OK)
		return NULL;
	return t;
}

static void give_table(struct vg_windows *w, struct vg_table *t)
{
	vg_table_reset(t);
	if (vg_grow(&w->spare, &w->cap_spare, w->n_spare + 1, sizeof(*w->spare), 8) != 0) {
		vg_table_destroy(t);
		return;
	}
	w->spare[w->n_spare++] = t;
}

/* Where window win is, or would go, in the pending list (kept in order). */
static size_t pending_at(const struct vg_windows *w, int64_t win)
{
	size_t i = 0;

	while (i < w->n_pending && w->pending[i].window < win)
		i++;
	return i;
}

/* Make table t window win's pending table, at position i. Returns 0 or
 * VG_ERR_NOMEM. */
static int pending_add(struct vg_windows *w, size_t i, int64_t win, struct vg_table *t)
{
	if (vg_grow(&w->pending, &w->cap_pending, w->n_pending + 1, sizeof(*w->pending), 8) != 0)
		return VG_ERR_NOMEM;
	memmove(&w->pending[i + 1], &w->pending[i], (w->n_pending - i) * sizeof(*w->pending));
	w->pending[i].window = win;
	w->pending[i].table = t;
	w->n_pending++;
	return VG_OK;
}

/* The pending table of a window, created in order. */
static struct vg_table *pending_for(struct vg_windows *w, int64_t win)
{
	size_t i = pending_at(w, win);
	struct vg_table *t;

	if (i < w->n_pending && w->pending[i].window == win)
		return w->pending[i].table;
	if (!(t = take_table(w)))
		return NULL;
	if (pending_add(w, i, win, t) != VG_OK) {
		give_table(w, t);
		return NULL;
	}
	return t;
}

/* A quiescent shard holding exactly one open window that has no pending
 * table yet becomes that table, and its worker gets a spare one: the
 * window's keys are not copied one by one into an empty table. This is
 * the common case when batches follow windows (vigil aggregate, one
 * thread). Returns true when the shard was taken. */
static bool hand_over(struct vg_windows *w, struct vg_table **slot)
{
	struct vg_table *shard = *slot, *fresh;

	if (vg_table_window_count(shard) != 1)
		return false;
	int64_t win = vg_table_window(shard, 0);
	size_t i = pending_at(w, win);

	if (win < atomic_load(&w->open_from) || (i < w->n_pending && w->pending[i].window == win))
		return false;
	if (!(fresh = take_table(w)))
		return false;
	if (pending_add(w, i, win, shard) != VG_OK) {
		give_table(w, fresh);
		return false;
	}
	/* The worker reads its shards only after loading the epoch, which
	 * the closer stores after this: it sees the fresh table. */
	*slot = fresh;
	return true;
}

/* Merge a quiescent shard into the pending windows and reset it, or hand
 * it over whole. */
static int drain_shard(struct vg_windows *w, struct vg_table **slot)
{
	struct vg_table *shard = *slot;
	int64_t open_from = atomic_load(&w->open_from);
	size_t n = vg_table_size(shard), nw = vg_table_window_count(shard);

	w->overflow += vg_table_overflow(shard);
	if (hand_over(w, slot))
		return VG_OK;
	for (size_t k = 0; k < nw; k++) {
		int64_t win = vg_table_window(shard, k);

		if (win < open_from) {
			/* Written just as the window closed: late after all.
			 * Every record has exactly one LOG entry, so those count
			 * records. */
			for (size_t i = 0; i < n; i++) {
				const struct vg_table_entry *e = vg_table_entry(shard, i);

				if (e->key.window == win && e->key.kind == VG_TABLE_LOG)
					w->merged_late += e->count;
			}
			continue;
		}
		struct vg_table *t = pending_for(w, win);

		if (!t || vg_table_absorb(t, shard, win, win + 1) != VG_OK)
			return VG_ERR_NOMEM;
	}
	vg_table_reset(shard);
	return VG_OK;
}

/* The watermark moves with the clock from the newest event time hi
 * while nothing holds it (everything idle). */
static int64_t by_clock(struct vg_windows *w, int64_t now, int64_t hi)
{
	if (w->idle_since_ms < 0) {
		w->idle_since_ms = now;
		w->idle_base_ts = hi;
	}
	return w->idle_base_ts - w->p.lateness_ms + (now - w->idle_since_ms);
}

/* The watermark from the registered streams (see window.h). INT64_MIN:
 * it stays where it is. */
static int64_t streams_watermark(struct vg_windows *w)
{
	int64_t now = mono_ms(), lo = INT64_MAX, hi = INT64_MIN;
	bool any = false, stay = false;

	for (unsigned i = 0; i < w->p.max_streams; i++) {
		struct slot *s = &w->slots[i];
		int st = atomic_load(&s->state);

		if (st == VG_WSTREAM_GONE)
			continue;
		any = true;
		int64_t ts = atomic_load_explicit(&s->max_ts, memory_order_acquire);

		if (ts == VG_TIME_NONE) /* every record skewed so far: their Kafka time */
			ts = atomic_load_explicit(&s->ref_ts, memory_order_relaxed);
		bool idle = now - atomic_load_explicit(&s->active_ms, memory_order_relaxed) >= w->p.idle_timeout_ms;

		if (ts != VG_TIME_NONE && ts > hi)
			hi = ts;
		if (st == VG_WSTREAM_CAUGHT_UP && idle)
			continue; /* nothing waits on it, nor came for idle_timeout */
		if (ts == VG_TIME_NONE)
			stay = true; /* records wait, their time unknown */
		else if (ts < lo)
			lo = ts;
	}
	if (hi > w->newest)
		w->newest = hi;
	/* Also what streams since assigned anew had reached. */
	for (unsigned i = 0; i < w->p.workers; i++) {
		int64_t n = atomic_load_explicit(&w->workers[i].pub_newest, memory_order_relaxed);

		if (n > w->newest)
			w->newest = n;
	}
	if (!any || stay)
		return INT64_MIN;
	if (lo != INT64_MAX) {
		w->idle_since_ms = -1;
		return lo - w->p.lateness_ms;
	}
	/* Nothing holds it: the clock moves it on from the newest time seen,
	 * also when the partitions were assigned anew and gave no record. */
	return w->newest == VG_TIME_NONE ? INT64_MIN : by_clock(w, now, w->newest);
}

/* The watermark from the workers' published progress. Finished and idle
 * workers do not hold it back; when none is active it is the newest
 * progress minus the lateness, and while every unfinished worker is idle
 * it also moves on with the clock. */
static int64_t compute_watermark(struct vg_windows *w)
{
	int64_t now = mono_ms(), lo = INT64_MAX, hi = INT64_MIN;
	bool any_active = false, any_idle = false;

	for (unsigned i = 0; i < w->p.workers; i++) {
		struct vg_wworker *ww = &w->workers[i];
		int64_t prog = atomic_load_explicit(&ww->progress_ts, memory_order_acquire);

		if (prog != VG_TIME_NONE && prog > hi)
			hi = prog;
		if (atomic_load(&ww->finished))
			continue;
		if (now - atomic_load_explicit(&ww->active_ms, memory_order_relaxed) >= w->p.idle_timeout_ms) {
			any_idle = true;
			continue;
		}
		any_active = true;
		if (prog == VG_TIME_NONE)
			lo = INT64_MIN; /* active but no event time yet: hold everything */
		else if (prog < lo)
			lo = prog;
	}
	if (hi == INT64_MIN)
		return INT64_MIN;
	if (hi > w->newest)
		w->newest = hi;
	if (any_active) {
		w->idle_since_ms = -1;
		return lo == INT64_MIN ? INT64_MIN : lo - w->p.lateness_ms;
	}
	if (!any_idle)
		return hi - w->p.lateness_ms; /* all finished */
	return by_clock(w, now, hi); /* everyone idle */
}

/* Have all workers left the batches they were in when the epoch became
 * `old + 1`? */
static bool quiescent(struct vg_windows *w, uint64_t old)
{
	for (unsigned i = 0; i < w->p.workers; i++) {
		/* Acquire pairs with the worker's release in vg_wworker_end. */
		uint64_t st = atomic_load_explicit(&w->workers[i].state, memory_order_acquire);

		if (st == ST_ENTERING || st == ST_IN(old))
			return false;
	}
	return true;
}

/* Start a phase: note the watermark, then flip. The watermark comes from
 * progress published before the flip: every record it covers was written
 * in a batch that has ended, so it is in a shard the phase drains. Progress
 * read after the flip could cover records still in the new shards. */
static void flip(struct vg_windows *w)
{
	w->flip_wm = w->slots ? streams_watermark(w) : compute_watermark(w);
	if (w->flip_wm != INT64_MIN && w->flip_wm > w->last_wm)
		w->last_wm = w->flip_wm;
	atomic_store(&w->epoch, atomic_load(&w->epoch) + 1);
	w->flipped = true;
}

/* Emit, in order, every window the watermark has passed: from the first
 * window that held records on, each one, empty or not, so that time
 * without records (an outage, a gap in a replayed file) still closes
 * windows and the rules still run. A flush (INT64_MAX) emits up to the
 * last window holding records, not beyond. */
static int emit_closed(struct vg_windows *w, int64_t wm, vg_window_fn fn, void *arg)
{
	int rc = VG_OK;

	if (wm > w->watermark)
		w->watermark = wm;
	for (;;) {
		bool have = w->n_pending > 0;
		int64_t win = w->next_win;

		if (have && (win == INT64_MIN || w->pending[0].window < win))
			win = w->pending[0].window;
		if (win == INT64_MIN || (!have && w->watermark == INT64_MAX))
			break;
		int64_t start = win * w->p.window_ms, end = start + w->p.window_ms;

		if (!(w->watermark >= end))
			break;
		bool held = have && w->pending[0].window == win;
		struct vg_table *t = held ? w->pending[0].table : take_table(w);

		if (!t)
			return VG_ERR_NOMEM;
		struct vg_window out = {.start_ms = start, .end_ms = end, .table = t};

		/* Close first: records for it from now on are late. */
		atomic_store(&w->open_from, win + 1);
		w->next_win = win + 1;
		rc = fn ? fn(&out, arg) : VG_OK;
		w->closed++;
		give_table(w, t);
		if (held) {
			memmove(&w->pending[0], &w->pending[1], (w->n_pending - 1) * sizeof(*w->pending));
			w->n_pending--;
		}
		if (rc != VG_OK)
			return rc;
	}
	/* Nothing pending but time moved on: windows below the watermark are
	 * closed too, so their stragglers count as late. */
	if (w->watermark != INT64_MIN && w->watermark != INT64_MAX && w->n_pending == 0) {
		int64_t below = floor_div(w->watermark, w->p.window_ms);

		if (below > atomic_load(&w->open_from))
			atomic_store(&w->open_from, below);
	}
	return VG_OK;
}

/* Finish the current phase: drain the old shards and emit. */
static int finish_phase(struct vg_windows *w, bool flush, vg_window_fn fn, void *arg)
{
	uint64_t old = atomic_load(&w->epoch) - 1;
	int rc;

	for (unsigned i = 0; i < w->p.workers; i++) {
		if ((rc = drain_shard(w, &w->workers[i].shard[old & 1])) != VG_OK)
			return rc;
	}
	w->flipped = false;
	return emit_closed(w, flush ? INT64_MAX : w->flip_wm, fn, arg);
}

int vg_windows_close(struct vg_windows *w, bool flush, vg_window_fn fn, void *arg)
{
	int rc;

	if (!flush) {
		/* Never wait: finish the phase if its workers are quiescent,
		 * then start the next one. */
		if (w->flipped) {
			if (!quiescent(w, atomic_load(&w->epoch) - 1))
				return VG_OK;
			if ((rc = finish_phase(w, false, fn, arg)) != VG_OK)
				return rc;
		}
		flip(w);
		/* Workers already past the new phase's quiescent point (a
		 * worker that closes between its own batches, or idle ones):
		 * finish it now, while the shards just written are still in
		 * the cache, rather than at the next call. */
		if (!quiescent(w, atomic_load(&w->epoch) - 1))
			return VG_OK;
		if ((rc = finish_phase(w, false, fn, arg)) != VG_OK)
			return rc;
		/* Still none in a batch: flip back, so that the next batches
		 * write into the shards just drained, which are warm, rather
		 * than into the others, untouched for a phase; the phase in
		 * between wrote nothing, and finishing it costs nothing. */
		if (!quiescent(w, atomic_load(&w->epoch)))
			return VG_OK;
		flip(w);
		if (quiescent(w, atomic_load(&w->epoch) - 1))
			return finish_phase(w, false, fn, arg);
		return VG_OK;
	}
	/* Flush: two full phases, waiting, so every shard is drained. */
	for (int phase = 0; phase < 2; phase++) {
		if (!w->flipped)
			flip(w);
		while (!quiescent(w, atomic_load(&w->epoch) - 1))
			sched_yield();
		if ((rc = finish_phase(w, phase == 1, fn, arg)) != VG_OK)
			return rc;
	}
	return VG_OK;
}

void vg_windows_get_stats(struct vg_windows *w, struct vg_windows_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < w->p.workers; i++) {
		struct vg_wworker *ww = &w->workers[i];

		out->records += atomic_load_explicit(&ww->pub_records, memory_order_relaxed);
		out->late += atomic_load_explicit(&ww->pub_late, memory_order_relaxed);
		out->no_time += atomic_load_explicit(&ww->pub_no_time, memory_order_relaxed);
		out->skewed_ahead += atomic_load_explicit(&ww->pub_skew_ahead, memory_order_relaxed);
		out->skewed_behind += atomic_load_explicit(&ww->pub_skew_behind, memory_order_relaxed);
		for (int r = 0; r < VG_TIME_ERR_COUNT; r++)
			out->no_time_by[r] += atomic_load_explicit(&ww->pub_no_time_by[r], memory_order_relaxed);
		for (int r = 0; r < VG_DURATION_ERR_COUNT; r++)
			out->duration_err[r] += atomic_load_explicit(&ww->pub_duration_err[r], memory_order_relaxed);
	}
	out->records -= w->merged_late;
	out->late += w->merged_late;
	out->closed = w->closed;
	out->overflow = w->overflow;
	out->watermark_ms = w->watermark;
	out->last_watermark_ms = w->last_wm;
	out->newest_ms = w->newest;
}
