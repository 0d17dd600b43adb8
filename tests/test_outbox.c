/* Tests for sink/notify's delivery, against the HTTP listener of
 * tests/notify_fixture.h on 127.0.0.1: retries and refusals, drain, one
 * notifier failing or slow beside the others, the outbox across a destroy
 * and a crash, and the outbox bound. (The notifiers' payloads are
 * tests/test_notify.c.) */
#define _POSIX_C_SOURCE 200809L
#include "tests/notify_fixture.h"

TestSuite(outbox, .init = setup, .fini = teardown);

/* The next answers: statuses[0..n), then the default status. */
static void listen_script(struct listener *l, const int *statuses, size_t n)
{
	pthread_mutex_lock(&l->mu);
	cr_assert_leq(n, sizeof(l->script) / sizeof(l->script[0]));
	memcpy(l->script, statuses, n * sizeof(*statuses));
	l->n_script = n;
	l->next = 0;
	pthread_mutex_unlock(&l->mu);
}

static void listen_set(struct listener *l, int status, bool hold)
{
	pthread_mutex_lock(&l->mu);
	l->status = status;
	l->hold = hold;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Hold the requests from the nth on (0: none). */
static void listen_hold_from(struct listener *l, size_t n)
{
	pthread_mutex_lock(&l->mu);
	l->hold_from = n;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static bool sent_two(const struct vg_notify_stats *s, size_t i)
{
	return s->sent[i] >= 2;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- retries, refusals, drain ------------------------------------------------ */

Test(outbox, a_failed_delivery_is_retried_until_the_receiver_recovers)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	listen_script(l, (const int[]){500}, 1); /* 200 afterwards */
	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert al = alert("orders", FP_A, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	push(n, &al);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 1, 0, 0, 0);
	cr_expect(!s.failing[0]);
	cr_assert_eq(listen_count(l), 2u);
	struct req a = listen_req(l, 0), b = listen_req(l, 1);

	cr_expect_eq(a.status, 500);
	cr_expect_eq(b.status, 200);
	cr_expect_str_eq(a.body, b.body);
	cr_expect_str_eq(b.body, expect_body(HOOK, "orders", FP_A_HEX, false));
	vg_notify_destroy(n);
	listen_stop(l);
}

Test(outbox, a_refused_request_is_counted_failed_and_skipped)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	/* 429 (too many requests) is retried; 400 refuses: failed, never sent again. */
	listen_script(l, (const int[]){429, 400}, 2);
	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	push(n, &a);
	push(n, &b);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 1, 1, 0, 0);
	cr_assert_eq(listen_count(l), 3u);
	cr_expect_str_eq(listen_req(l, 0).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 1).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 2).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	cr_expect_eq(listen_req(l, 2).status, 200);
	vg_notify_destroy(n);
	listen_stop(l);
}

Test(outbox, drain_gives_up_while_the_receiver_stays_down)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert al = alert("orders", FP_A, VG_ALERT_FIRING);

	push(n, &al);
	cr_expect(!vg_notify_drain(n, 300));
	struct vg_notify_stats s = await_stats(n, "webhook0", has_retried);

	cr_expect_eq(s.sent[0], 0u);
	cr_expect_geq(s.retried[0], 1u);
	cr_expect_eq(s.failed[0], 0u, "a 500 is retried, never given up");
	cr_expect_eq(s.pending[0], 1u);
	cr_expect(s.failing[0]);
	cr_expect(!vg_notify_drain(n, 300));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* p with one webhook (hook) and the file notifier writing to path, a
 * file in the test's directory. */
static void hook_and_file(struct vg_notify_params *p, const struct vg_notify_webhook *hook, char *path, size_t cap)
{
	snprintf(path, cap, "%s/alerts.ndjson", dir);
	p->webhooks = hook;
	p->n_webhooks = 1;
	p->file = path;
}

Test(outbox, a_failing_notifier_does_not_hold_back_the_others)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];

	hook_and_file(&p, &hook, path, sizeof(path));
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	struct vg_notify_stats s = await_stats(n, "file", sent_two);

	expect_counts(&s, "file", 2, 0, 0, 0, 0);
	cr_expect_eq(s.sent[stat_of(&s, "webhook0")], 0u);
	cr_expect_eq(s.pending[stat_of(&s, "webhook0")], 2u);
	cr_expect(!vg_notify_drain(n, 100));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* Regression: the notifier thread delivered every pending change to one
 * notifier before the next had any, so a slow receiver starved the
 * others. Now each gets one change per round: while the webhook's second
 * request hangs, the file already has the first change. */
Test(outbox, a_slow_notifier_does_not_starve_the_others)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];

	hook_and_file(&p, &hook, path, sizeof(path));
	p.timeout_ms = 60000; /* the held request must not time out */
	listen_hold_from(l, 2);
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	cr_assert(listen_await(l, 2)); /* the webhook's second change, held */
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 1u, "the file had its first change before the webhook's second: %s", text);
	free(text);
	listen_hold_from(l, 0);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- the outbox -------------------------------------------------------------- */

Test(outbox, what_is_undelivered_at_destroy_is_delivered_by_the_next_instance)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 64];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &b);
	push(n, &c);
	cr_assert(listen_await(l, 1)); /* tried, and refused */
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.pending[0], 3u);
	vg_notify_destroy(n);

	/* One line per change in the outbox: seq, fingerprint, resolved, bodies. */
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 3u, "%s", text);
	cr_expect(strncmp(text, "1\t" FP_A_HEX "\t0\t", 21) == 0, "%.40s", text);
	cr_expect(strstr(text, "\n3\t" FP_A_HEX "\t1\t"), "%s", text);
	free(text);

	size_t before = listen_count(l);

	listen_set(l, 200, false);
	n = create(&p);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 3, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), before + 3);
	cr_expect_str_eq(listen_req(l, before).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, before + 1).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	cr_expect_str_eq(listen_req(l, before + 2).body, expect_body(HOOK, "orders", FP_A_HEX, true));
	/* Everything delivered: the outbox is emptied, and a third instance has
	 * nothing to send. */
	text = slurp(path);
	cr_expect_str_eq(text, "");
	free(text);
	n = create(&p);
	cr_expect(vg_notify_drain(n, 0));
	vg_notify_destroy(n);
	cr_expect_eq(listen_count(l), before + 3);
	listen_stop(l);
}

Test(outbox, what_was_pushed_before_a_crash_is_delivered_after_the_restart)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	pid_t pid;
	int status;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	/* A process that pushes two changes nobody can take, then dies
	 * without a destroy. */
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		struct vg_notify *n = NULL;
		char err[256];
		struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

		if (vg_notify_create(&n, &p, err, sizeof(err)) != VG_OK || vg_notify_push(n, &a) != VG_OK ||
		    vg_notify_push(n, &b) != VG_OK)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct listener *l = listen_start(200);

	hook.url = url(l, "/hook");
	struct vg_notify *n = create(&p);

	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), 2u);
	cr_expect_str_eq(listen_req(l, 0).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 1).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	listen_stop(l);
}

/* Regression: a notifier new to an existing outbox (added to the
 * configuration) started at cursor 0 below everything the outbox had
 * already let go, so it reported that many pending and drain never
 * returned true before the next push. */
Test(outbox, a_notifier_new_to_the_outbox_has_nothing_pending)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];
	struct vg_notify_stats s;

	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	p.file = path;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);

	p.webhooks = &hook;
	p.n_webhooks = 1;
	n = create(&p);
	cr_expect(vg_notify_drain(n, 200));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 0, 0, 0, 0, 0);
	expect_counts(&s, "file", 0, 0, 0, 0, 0);
	push(n, &a);
	cr_expect(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_expect_eq(listen_count(l), 1u);
	listen_stop(l);
}

/* Past outbox_max undelivered changes the oldest are dropped: counted per
 * notifier, logged, and never delivered; the rest arrive in order.
 * Regression: the change being delivered when it was dropped was freed
 * under the notifier thread (a use after free) and counted both dropped
 * and sent. */
Test(outbox, past_outbox_max_the_oldest_are_dropped_counted_and_logged)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char logpath[PATH_MAX + 16], svc[6][8];
	struct vg_alert al[6];
	int logfd;

	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	cr_assert_geq(logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
	vg_log_set_fd(logfd);
	p.webhooks = &hook;
	p.n_webhooks = 1;
	p.outbox_max = 3;
	p.timeout_ms = 60000; /* the held request must not time out */
	listen_set(l, 200, true);
	struct vg_notify *n = create(&p);

	for (int i = 0; i < 6; i++) {
		snprintf(svc[i], sizeof(svc[i]), "svc%d", i);
		al[i] = alert(svc[i], FP_A + (uint64_t)i, VG_ALERT_FIRING);
	}
	push(n, &al[0]);
	cr_assert(listen_await(l, 1)); /* change 1 in flight, held */
	for (int i = 1; i < 6; i++)
		push(n, &al[i]);
	listen_set(l, 200, false);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	/* 1 was in flight and delivered; 2 and 3 dropped; 4 to 6 delivered. */
	expect_counts(&s, "webhook0", 4, 0, 0, 2, 0);
	vg_notify_destroy(n);
	vg_log_set_fd(2);
	close(logfd);
	cr_assert_eq(listen_count(l), 4u);
	const char *want[] = {"\"service\":\"svc0\"", "\"service\":\"svc3\"", "\"service\":\"svc4\"",
	                      "\"service\":\"svc5\""};

	for (size_t i = 0; i < 4; i++)
		cr_expect(strstr(listen_req(l, i).body, want[i]), "request %zu: %s", i, listen_req(l, i).body);
	char *log = slurp(logpath);
	size_t drops = 0;

	for (const char *q = log; (q = strstr(q, "outbox full")); q++)
		drops++;
	cr_expect_eq(drops, 2u, "each change dropped from the outbox is logged: %s", log);
	free(log);
	listen_stop(l);
}

/* A line cut by a crash is cut off the file at the next start; before,
 * the next change was glued to it and both were unreadable after. */
Test(outbox, a_torn_last_line_of_the_outbox_is_cut_off)
{
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	char path[PATH_MAX + 64];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);

	push(n, &a);
	vg_notify_destroy(n);
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	fputs("2\t" FP_B_HEX "\t0\t{\"torn", f); /* no newline: the crash */
	fclose(f);
	n = create(&p);
	push(n, &b);
	vg_notify_destroy(n);
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 2u, "%s", text);
	cr_expect_null(strstr(text, "torn"), "%s", text);
	free(text);
	n = create(&p);
	vg_notify_get_stats(n, &s);
	/* Both pending. The notifier thread may have tried the refused webhook
	 * already (retried), before this thread got to ask. */
	expect_counts(&s, "webhook0", 0, s.retried[stat_of(&s, "webhook0")], 0, 0, 2);
	vg_notify_destroy(n);
}

/* With a notifier down, the file would keep every change: it is written
 * again past twice outbox_max, and a restart keeps only the newest
 * outbox_max (the rest counted dropped), then delivers them in order. */
Test(outbox, the_outbox_file_stays_bounded_with_a_notifier_down)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	char path[PATH_MAX + 64], svc[20][8];
	struct vg_alert al[20];
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	p.outbox_max = 4;
	struct vg_notify *n = create(&p);

	for (int i = 0; i < 20; i++) {
		snprintf(svc[i], sizeof(svc[i]), "svc%d", i);
		al[i] = alert(svc[i], FP_A + (uint64_t)i, VG_ALERT_FIRING);
		push(n, &al[i]);
	}
	vg_notify_destroy(n);
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	char *text = slurp(path);

	cr_expect_leq(count_lines(text), 8u, "at most twice outbox_max lines: %s", text);
	cr_expect(strstr(text, "\"service\":\"svc19\""), "the newest is kept");
	free(text);
	/* A restart with a smaller bound keeps the newest 2. */
	struct listener *l = listen_start(200);

	hook.url = url(l, "/hook");
	p.outbox_max = 2;
	n = create(&p);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.sent[stat_of(&s, "webhook0")], 2u);
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), 2u);
	cr_expect(strstr(listen_req(l, 0).body, "\"service\":\"svc18\""), "%s", listen_req(l, 0).body);
	cr_expect(strstr(listen_req(l, 1).body, "\"service\":\"svc19\""), "%s", listen_req(l, 1).body);
	listen_stop(l);
}
