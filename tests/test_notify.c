/* Tests for sink/notify's notifiers, against real receivers on 127.0.0.1:
 * the HTTP listener of tests/notify_fixture.h and the embedded Kafka broker
 * read back with a librdkafka consumer. Checked: the Alertmanager API v2
 * body and its re-sends, the webhook payload and its HMAC signature
 * (recomputed here from SHA-256), the file and Kafka notifiers, and the
 * parameters create refuses. Delivery (retries, drain, the outbox) is
 * tests/test_outbox.c. */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <openssl/sha.h>

#include "ingest/broker.h"
#include "tests/notify_fixture.h"

TestSuite(notify, .init = setup, .fini = teardown);

/* An Alertmanager request: the array of a (and b when not NULL). */
static const char *am_array(const char *a, const char *b)
{
	static char out[8][4096];
	static int k;

	k = (k + 1) % 8;
	snprintf(out[k], sizeof(out[k]), "[%s%s%s]", a, b ? "," : "", b ? b : "");
	return out[k];
}

/* ---- HMAC-SHA256 (RFC 2104), built here on SHA-256 --------------------- */

static void hmac_sha256_hex(const char *key, const char *msg, char hex[65])
{
	unsigned char k[64] = {0}, pad[64], inner[32], mac[32];
	size_t klen = strlen(key), mlen = strlen(msg);
	unsigned char *buf = malloc(64 + (mlen > 32 ? mlen : 32));

	cr_assert_not_null(buf);
	if (klen > 64)
		SHA256((const unsigned char *)key, klen, k);
	else
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	memcpy(buf, pad, 64);
	memcpy(buf + 64, msg, mlen);
	SHA256(buf, 64 + mlen, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	memcpy(buf, pad, 64);
	memcpy(buf + 64, inner, 32);
	SHA256(buf, 64 + 32, mac);
	free(buf);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

Test(notify, the_test_hmac_matches_rfc_4231)
{
	char hex[65], big[132];

	hmac_sha256_hex("Jefe", "what do ya want for nothing?", hex); /* test case 2 */
	cr_expect_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(big, 0xaa, 131); /* test case 6: a key longer than the block */
	big[131] = '\0';
	hmac_sha256_hex(big, "Test Using Larger Than Block-Size Key - Hash Key First", hex);
	cr_expect_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* ---- Alertmanager -------------------------------------------------------- */

Test(notify, alertmanager_gets_api_v2_alerts)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	struct vg_notify_stats s;

	p.alertmanager_url = url(l, "/"); /* a trailing slash is dropped */
	struct vg_notify *n = create(&p);
	struct vg_alert firing = alert("orders", FP_A, VG_ALERT_FIRING),
	                resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &firing);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	push(n, &resolved);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	cr_assert(listen_await(l, 2));
	struct req a = listen_req(l, 0), b = listen_req(l, 1);

	cr_expect_str_eq(a.method, "POST");
	cr_expect_str_eq(a.path, "/api/v2/alerts");
	cr_expect_str_eq(a.ctype, "application/json");
	cr_expect(!a.has_sig, "Alertmanager requests are not signed");
	cr_expect_str_eq(a.body, am_array(expect_body(AM, "orders", FP_A_HEX, false), NULL));
	cr_expect_str_eq(b.path, "/api/v2/alerts");
	cr_expect_str_eq(b.body, am_array(expect_body(AM, "orders", FP_A_HEX, true), NULL));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 1u);
	expect_counts(&s, "alertmanager", 2, 0, 0, 0, 0);
	cr_expect(!s.failing[0]);
	vg_notify_destroy(n);
	/* Regression: the first re-send went out at once, a duplicate of the
	 * change just delivered (the resend clock started at 0). */
	cr_expect_eq(listen_count(l), 2u, "one request per change, no re-send within resend_ms");
	listen_stop(l);
}

Test(notify, alertmanager_gets_the_firing_set_again_every_resend_interval)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();

	p.alertmanager_url = url(l, "");
	p.resend_ms = 50;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                a_resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &a);
	push(n, &b);
	/* A re-send carries every firing alert in one request... */
	const char *am_a = expect_body(AM, "orders", FP_A_HEX, false), *am_b = expect_body(AM, "cart", FP_B_HEX, false);
	const char *both1 = am_array(am_a, am_b), *both2 = am_array(am_b, am_a);
	const char *resolved = am_array(expect_body(AM, "orders", FP_A_HEX, true), NULL),
	           *b_alone = am_array(am_b, NULL);
	size_t seen = 0;
	bool found = false;

	for (; !found && listen_await(l, seen + 1); seen++) {
		struct req r = listen_req(l, seen);

		cr_expect_str_eq(r.path, "/api/v2/alerts");
		found = strcmp(r.body, both1) == 0 || strcmp(r.body, both2) == 0;
	}
	cr_expect(found, "no re-send of both firing alerts in %zu requests", seen);
	/* ...and a resolved one leaves it. */
	push(n, &a_resolved);
	found = false;
	for (bool resolved_sent = false; !found && listen_await(l, seen + 1); seen++) {
		struct req r = listen_req(l, seen);

		if (strcmp(r.body, resolved) == 0)
			resolved_sent = true;
		else if (resolved_sent)
			found = strcmp(r.body, b_alone) == 0;
	}
	cr_expect(found, "no re-send of the one alert still firing after the resolution");
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.sent[0], 3u, "sent counts the 3 changes, not the re-sends");
	cr_expect_geq(s.resent[0], 1u, "the re-sends have their own count (the last one seen may still be in flight)");
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- webhooks -------------------------------------------------------------- */

Test(notify, webhooks_get_the_v4_payload_signed_with_their_secret)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	char long_secret[101], hex[65], want[80];

	memset(long_secret, 'k', 100); /* longer than HMAC's block: hashed first */
	long_secret[100] = '\0';
	const struct vg_notify_webhook hooks[] = {
	        {url(l, "/signed"), "s3cret"},
	        {url(l, "/plain"), NULL},
	        {url(l, "/long"), long_secret},
	};

	p.webhooks = hooks;
	p.n_webhooks = 3;
	struct vg_notify *n = create(&p);
	struct vg_alert firing = alert("orders", FP_A, VG_ALERT_FIRING),
	                resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &firing);
	push(n, &resolved);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	cr_assert(listen_await(l, 6));
	int seen[3] = {0};

	for (size_t i = 0; i < 6; i++) {
		struct req r = listen_req(l, i);
		int k = strcmp(r.path, "/signed") == 0 ? 0 : strcmp(r.path, "/plain") == 0 ? 1 : 2;
		const char *body = seen[k]++ == 0 ? expect_body(HOOK, "orders", FP_A_HEX, false)
		                                  : expect_body(HOOK, "orders", FP_A_HEX, true);

		cr_expect_str_eq(r.method, "POST");
		cr_expect_str_eq(r.ctype, "application/json");
		cr_expect_str_eq(r.body, body, "%s", r.path);
		if (k == 1) {
			cr_expect(!r.has_sig, "a webhook without a secret sent X-Vigil-Signature: %s", r.sig);
			continue;
		}
		hmac_sha256_hex(k == 0 ? "s3cret" : long_secret, r.body, hex);
		snprintf(want, sizeof(want), "sha256=%s", hex);
		cr_expect(r.has_sig, "%s: no signature", r.path);
		cr_expect_str_eq(r.sig, want, "%s", r.path);
	}
	cr_expect(seen[0] == 2 && seen[1] == 2 && seen[2] == 2, "%d %d %d", seen[0], seen[1], seen[2]);
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 3u);
	expect_counts(&s, "webhook0", 2, 0, 0, 0, 0);
	expect_counts(&s, "webhook1", 2, 0, 0, 0, 0);
	expect_counts(&s, "webhook2", 2, 0, 0, 0, 0);
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- the file notifier --------------------------------------------------------- */

Test(notify, the_file_gets_one_json_line_per_change)
{
	struct vg_notify_params p = params();
	char path[PATH_MAX + 16];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"earlier\":true}\n", f); /* appended to, never truncated */
	fclose(f);
	p.file = path;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &b);
	push(n, &c);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 1u);
	expect_counts(&s, "file", 3, 0, 0, 0, 0);
	vg_notify_destroy(n);
	char *text = slurp(path);

	char want_text[8192];

	snprintf(want_text, sizeof(want_text), "{\"earlier\":true}\n%s\n%s\n%s\n",
	         expect_body(LINE, "orders", FP_A_HEX, false), expect_body(LINE, "cart", FP_B_HEX, false),
	         expect_body(LINE, "orders", FP_A_HEX, true));
	cr_expect_str_eq(text, want_text);
	free(text);
	/* The lines are vg_alert_json's, as --alerts and vigil replay write. */
	struct vg_buf want = {0};

	vg_alert_json(&c, &want);
	vg_buf_putc(&want, '\0');
	cr_expect_str_eq(want.p, expect_body(LINE, "orders", FP_A_HEX, true));
	vg_buf_free(&want);
}

/* ---- the Kafka notifier ---------------------------------------------------------- */

/* Every message of topic's partition 0 (at most max), by a consumer of
 * its own: keys and values, NUL-terminated, caller frees. */
static int read_topic(const char *bootstraps, const char *topic, char **keys, char **values, int max, int want)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *c;
	int got = 0;

	rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", "test_notify", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	cr_assert_not_null(c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)), "%s", err);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	/* Up to the partition's end once want messages came (so a duplicate
	 * would show), bounded by WAIT_MS. */
	for (int64_t until = now_ms() + WAIT_MS; now_ms() < until;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);

		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			if (got >= want)
				break;
			continue;
		}
		cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_err2str(m->err));
		if (got < max) {
			keys[got] = strndup(m->key ? m->key : "", m->key_len);
			values[got] = strndup(m->payload ? m->payload : "", m->len);
		}
		got++;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	return got;
}

Test(notify, kafka_gets_key_fingerprint_value_the_alert_json)
{
	struct vg_broker *b = NULL;
	char err[256];
	struct vg_notify_params p = params();
	const char *props[] = {"client.id", "vigil-test-notify"};
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;
	char *keys[4] = {0}, *values[4] = {0};

	cr_assert_eq(vg_broker_start(&b, 1, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "topic alerts 1", err, sizeof(err)), VG_OK, "%s", err);
	p.kafka_brokers = vg_broker_bootstraps(b);
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 2;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &c);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "kafka", 2, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_assert_eq(read_topic(vg_broker_bootstraps(b), "alerts", keys, values, 4, 2), 2);
	cr_expect_str_eq(keys[0], FP_A_HEX);
	cr_expect_str_eq(values[0], expect_body(LINE, "orders", FP_A_HEX, false));
	cr_expect_str_eq(keys[1], FP_A_HEX);
	cr_expect_str_eq(values[1], expect_body(LINE, "orders", FP_A_HEX, true));
	for (int i = 0; i < 4; i++) {
		free(keys[i]);
		free(values[i]);
	}
	vg_broker_stop(b);
}

static bool kafka_sent(const struct vg_notify_stats *s, size_t i)
{
	return s->sent[i] > 0;
}

Test(notify, kafka_counts_a_change_sent_only_once_the_broker_acknowledged_it)
{
	struct vg_broker *b = NULL;
	char err[256];
	struct vg_notify_params p = params();
	/* Reconnect promptly once the broker is back. */
	const char *props[] = {"reconnect.backoff.ms", "10", "reconnect.backoff.max.ms", "100"};
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING);
	struct vg_notify_stats s;
	char *keys[4] = {0}, *values[4] = {0};

	cr_assert_eq(vg_broker_start(&b, 1, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "topic alerts 1", err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "down 1", err, sizeof(err)), VG_OK, "%s", err);
	p.kafka_brokers = vg_broker_bootstraps(b);
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 4;
	p.timeout_ms = 200;
	struct vg_notify *n = create(&p);

	push(n, &a);
	s = await_stats(n, "kafka", has_retried);
	cr_expect_eq(s.sent[0], 0u, "sent with the broker down");
	cr_expect_geq(s.retried[0], 1u);
	cr_expect_eq(s.pending[0], 1u);
	cr_expect(s.failing[0]);
	cr_assert_eq(vg_broker_command(b, "up 1", err, sizeof(err)), VG_OK, "%s", err);
	s = await_stats(n, "kafka", kafka_sent);
	cr_expect_eq(s.sent[0], 1u);
	cr_expect_eq(s.pending[0], 0u);
	cr_expect(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	/* Produced once, however many tries it took. */
	cr_expect_eq(read_topic(vg_broker_bootstraps(b), "alerts", keys, values, 4, 1), 1);
	cr_expect_str_eq(keys[0], FP_A_HEX);
	for (int i = 0; i < 4; i++) {
		free(keys[i]);
		free(values[i]);
	}
	vg_broker_stop(b);
}

/* ---- parameters ---------------------------------------------------------------- */

/* create fails with rc and an errbuf naming want. */
static void refused(const struct vg_notify_params *p, int rc, const char *want)
{
	struct vg_notify *n = (struct vg_notify *)&n; /* must be reset */
	char err[256] = "";

	cr_expect_eq(vg_notify_create(&n, p, err, sizeof(err)), rc, "expected %s: %s", vg_err_str(rc), err);
	cr_expect_null(n);
	cr_expect(strstr(err, want), "\"%s\" does not say \"%s\"", err, want);
}

Test(notify, no_notifier_no_instance)
{
	struct vg_notify_params p = params();
	struct vg_notify *n = (struct vg_notify *)&n;
	char err[64];

	cr_expect_eq(vg_notify_create(&n, &p, err, sizeof(err)), VG_OK);
	cr_expect_null(n);
	vg_notify_destroy(NULL);
}

Test(notify, bad_parameters_are_refused_with_a_reason)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hooks[9];
	char path[PATH_MAX + 32];
	const char *props[] = {"no.such.property", "1"};

	for (int i = 0; i < 9; i++)
		hooks[i] = (struct vg_notify_webhook){"http://127.0.0.1:1/", NULL};
	p.webhooks = hooks;
	p.n_webhooks = 9;
	refused(&p, VG_ERR_CONFIG, "notify.webhooks: at most 8");

	p = params();
	p.kafka_brokers = "127.0.0.1:1";
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 2;
	refused(&p, VG_ERR_CONFIG, "no.such.property");
	refused(&p, VG_ERR_CONFIG, "notify.kafka.properties");

	p = params();
	snprintf(path, sizeof(path), "%s/no/such/dir/alerts.ndjson", dir);
	p.file = path;
	refused(&p, VG_ERR_IO, "notify.file.path");
	refused(&p, VG_ERR_IO, "No such file or directory");

	/* Out of range (the configuration's checks, for every caller). */
	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	p = params();
	hooks[0].url = NULL;
	p.webhooks = hooks;
	p.n_webhooks = 1;
	refused(&p, VG_ERR_CONFIG, "webhook 0 has no url");
	hooks[0].url = "";
	refused(&p, VG_ERR_CONFIG, "webhook 0 has no url");
	p = params();
	p.alertmanager_url = "http://127.0.0.1:1";
	p.resend_ms = 0;
	refused(&p, VG_ERR_CONFIG, "notify.alertmanager.resend_interval");
	p = params();
	p.kafka_topic = "alerts";
	refused(&p, VG_ERR_CONFIG, "notify.kafka.brokers");
	p = params();
	p.file = path;
	p.outbox_dir = NULL;
	refused(&p, VG_ERR_CONFIG, "notify.outbox.dir");
	p.outbox_dir = "";
	refused(&p, VG_ERR_CONFIG, "notify.outbox.dir");
	p = params();
	p.file = path;
	p.outbox_max = 0;
	refused(&p, VG_ERR_CONFIG, "notify.outbox.max");
	p = params();
	p.file = path;
	p.timeout_ms = 0;
	refused(&p, VG_ERR_CONFIG, "notify.timeout");

	/* An outbox directory that cannot be made: under a regular file. */
	p = params();
	p.file = path;
	snprintf(outbox, sizeof(outbox), "%s/alerts.ndjson/outbox", dir);
	refused(&p, VG_ERR_IO, "notify.outbox.dir");
}
