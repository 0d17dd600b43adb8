/* Tests for parse/json: validation, every reason of rejection, extraction. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "parse/json.h"

static struct vg_json_paths *paths;
static struct vg_config *cfg;
static const struct vg_json_limits limits = {.max_bytes = 1 << 20, .max_depth = 64};

static void setup(void)
{
	char err[512];
	const char *const *p[VG_F_COUNT];
	size_t n[VG_F_COUNT];

	cr_assert_eq(vg_config_load(&cfg, NULL, err, sizeof(err)), VG_OK, "%s", err);
	for (int f = 0; f < VG_F_COUNT; f++) {
		p[f] = (const char *const *)cfg->paths[f].v;
		n[f] = cfg->paths[f].n;
	}
	cr_assert_eq(vg_json_paths_create(&paths, p, n, err, sizeof(err)), VG_OK, "%s", err);
}

static void teardown(void)
{
	vg_json_paths_destroy(paths);
	vg_config_free(cfg);
}

TestSuite(json, .init = setup, .fini = teardown);

static int parse_n(const char *s, size_t len, struct vg_record *rec, struct vg_json_error *e)
{
	/* Copy into an exact-size heap buffer so ASan sees any read past the end. */
	char *buf = calloc(1, len ? len : 1);
	int rc;

	cr_assert_not_null(buf);
	memcpy(buf, s, len);
	rc = vg_json_extract(paths, &limits, buf, len, rec, e);
	free(buf);
	return rc;
}

static int reason_of_n(const char *s, size_t len)
{
	struct vg_record rec;
	struct vg_json_error e = {0};

	if (parse_n(s, len, &rec, &e) == VG_OK)
		return VG_JR_OK;
	return e.reason;
}

static int reason_of(const char *s)
{
	return reason_of_n(s, strlen(s));
}

#define REJECT(doc, why)                                                                                         \
	cr_expect_eq(reason_of(doc), why, "%s: got %s, want %s", doc, vg_json_reason_str(reason_of(doc)),        \
		     vg_json_reason_str(why))
#define ACCEPT(doc) REJECT(doc, VG_JR_OK)

Test(json, accepts_every_type_and_nesting)
{
	ACCEPT("{}");
	ACCEPT("{\"a\":1,\"b\":-1.5e3,\"c\":\"x\",\"d\":true,\"e\":false,\"f\":null}");
	ACCEPT("{\"g\":[1,[2,{\"h\":[]}],{},\"s\",null,true,false,-0,0.5,1E+2,2e-3]}");
	ACCEPT("{\"i\":{\"j\":{\"k\":{\"l\":[[[[]]]]}}}}");
	ACCEPT(" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \r\n");
	ACCEPT("{\"\":\"\"}");
	ACCEPT("{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}");
	ACCEPT("{\"u\":\"\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xee\x80\x80\"}");
	ACCEPT("{\"n\":[0,-0,1,-1,0.0,1.25,-9.75e-10,1e308,123456789012345678901234567890]}");
}

Test(json, rejects_empty_and_whitespace)
{
	REJECT("", VG_JR_EMPTY);
	REJECT("   \t\r\n ", VG_JR_EMPTY);
}

Test(json, rejects_non_objects_at_top)
{
	REJECT("[1,2]", VG_JR_NOT_OBJECT);
	REJECT("\"s\"", VG_JR_NOT_OBJECT);
	REJECT("42", VG_JR_NOT_OBJECT);
	REJECT("-1", VG_JR_NOT_OBJECT);
	REJECT("null", VG_JR_NOT_OBJECT);
	REJECT("true", VG_JR_NOT_OBJECT);
	REJECT("hello", VG_JR_SYNTAX);
	REJECT("not json", VG_JR_SYNTAX); /* regression: was not_object from its first byte */
	REJECT("nul", VG_JR_SYNTAX);
	REJECT("falsey", VG_JR_NOT_OBJECT);
	REJECT("\xef\xbb\xbf{}", VG_JR_SYNTAX); /* a byte-order mark is not JSON */
}

Test(json, rejects_truncation)
{
	REJECT("{", VG_JR_SYNTAX);
	REJECT("{\"a\"", VG_JR_SYNTAX);
	REJECT("{\"a\":", VG_JR_SYNTAX);
	REJECT("{\"a\":1", VG_JR_SYNTAX);
	REJECT("{\"a\":\"x", VG_JR_SYNTAX);
	REJECT("{\"a\":[1,2", VG_JR_SYNTAX);
	REJECT("{\"a\":tru", VG_JR_SYNTAX);
	REJECT("{\"a\":\"\\u12", VG_JR_ESCAPE);
	REJECT("{\"a\":\"\\", VG_JR_ESCAPE);
}

Test(json, rejects_trailing_garbage)
{
	REJECT("{} x", VG_JR_TRAILING);
	REJECT("{}{}", VG_JR_TRAILING);
	REJECT("{\"a\":1}}", VG_JR_TRAILING);
	REJECT("{\"a\":1},", VG_JR_TRAILING);
}

Test(json, rejects_bad_structure)
{
	REJECT("{\"a\":1,}", VG_JR_SYNTAX);
	REJECT("{\"a\":[1,]}", VG_JR_SYNTAX);
	REJECT("{\"a\" 1}", VG_JR_SYNTAX);
	REJECT("{\"a\":1 \"b\":2}", VG_JR_SYNTAX);
	REJECT("{a:1}", VG_JR_SYNTAX);
	REJECT("{'a':1}", VG_JR_SYNTAX);
	REJECT("{\"a\":'x'}", VG_JR_SYNTAX);
	REJECT("{\"a\":[1}", VG_JR_SYNTAX);
	REJECT("{\"a\":{]}", VG_JR_SYNTAX);
	REJECT("{\"a\":1 // c\n}", VG_JR_SYNTAX);
	REJECT("{\"a\":nul}", VG_JR_SYNTAX);
	REJECT("{\"a\":True}", VG_JR_SYNTAX);
	REJECT("{,}", VG_JR_SYNTAX);
	REJECT("{\"a\":1,,\"b\":2}", VG_JR_SYNTAX);
	REJECT("{\"a\"::1}", VG_JR_SYNTAX);
}

Test(json, rejects_bad_numbers)
{
	REJECT("{\"a\":01}", VG_JR_NUMBER);
	REJECT("{\"a\":-01}", VG_JR_NUMBER);
	REJECT("{\"a\":00}", VG_JR_NUMBER);
	REJECT("{\"a\":1.}", VG_JR_NUMBER);
	REJECT("{\"a\":-}", VG_JR_NUMBER);
	REJECT("{\"a\":1e}", VG_JR_NUMBER);
	REJECT("{\"a\":1e+}", VG_JR_NUMBER);
	REJECT("{\"a\":.5}", VG_JR_SYNTAX);
	REJECT("{\"a\":+1}", VG_JR_SYNTAX);
	REJECT("{\"a\":NaN}", VG_JR_SYNTAX);
	REJECT("{\"a\":Infinity}", VG_JR_SYNTAX);
	REJECT("{\"a\":-Infinity}", VG_JR_NUMBER);
	REJECT("{\"a\":0x10}", VG_JR_SYNTAX);
	REJECT("{\"a\":1.5.2}", VG_JR_SYNTAX);
}

Test(json, rejects_bad_escapes_and_surrogates)
{
	REJECT("{\"a\":\"\\x\"}", VG_JR_ESCAPE);
	REJECT("{\"a\":\"\\U0041\"}", VG_JR_ESCAPE);
	REJECT("{\"a\":\"\\u00G1\"}", VG_JR_ESCAPE);
	REJECT("{\"a\":\"\\ud800\"}", VG_JR_ESCAPE);        /* lone high */
	REJECT("{\"a\":\"\\udc00\"}", VG_JR_ESCAPE);        /* lone low */
	REJECT("{\"a\":\"\\udc00\\ud800\"}", VG_JR_ESCAPE); /* reversed */
	REJECT("{\"a\":\"\\ud800\\u0041\"}", VG_JR_ESCAPE); /* high + non-low */
	REJECT("{\"a\":\"\\ud800x\"}", VG_JR_ESCAPE);
	REJECT("{\"k\\q\":1}", VG_JR_ESCAPE); /* in a key too */
}

Test(json, rejects_each_kind_of_bad_utf8)
{
	REJECT("{\"a\":\"\x80\"}", VG_JR_UTF8);             /* stray continuation */
	REJECT("{\"a\":\"\xc0\x80\"}", VG_JR_UTF8);         /* overlong 2-byte */
	REJECT("{\"a\":\"\xc1\xbf\"}", VG_JR_UTF8);         /* overlong 2-byte */
	REJECT("{\"a\":\"\xe0\x80\x80\"}", VG_JR_UTF8);     /* overlong 3-byte */
	REJECT("{\"a\":\"\xe0\x9f\xbf\"}", VG_JR_UTF8);     /* overlong 3-byte */
	REJECT("{\"a\":\"\xf0\x80\x80\x80\"}", VG_JR_UTF8); /* overlong 4-byte */
	REJECT("{\"a\":\"\xed\xa0\x80\"}", VG_JR_UTF8);     /* surrogate U+D800 */
	REJECT("{\"a\":\"\xed\xbf\xbf\"}", VG_JR_UTF8);     /* surrogate U+DFFF */
	REJECT("{\"a\":\"\xf4\x90\x80\x80\"}", VG_JR_UTF8); /* U+110000 */
	REJECT("{\"a\":\"\xf5\x80\x80\x80\"}", VG_JR_UTF8); /* lead past F4 */
	REJECT("{\"a\":\"\xff\"}", VG_JR_UTF8);
	REJECT("{\"a\":\"\xe2\x82\"}", VG_JR_UTF8);         /* truncated 3-byte */
	REJECT("{\"a\":\"\xf0\x9f\x98\"}", VG_JR_UTF8);     /* truncated 4-byte */
	REJECT("{\"a\":\"\xc3\"}", VG_JR_UTF8);             /* truncated 2-byte */
	REJECT("{\"a\":\"x\xc3", VG_JR_UTF8);               /* truncated at end of input */
	REJECT("{\"\xc3\x28\":1}", VG_JR_UTF8);             /* in a key */
	/* Long ASCII runs before the bad byte exercise the 16-byte scanner. */
	REJECT("{\"a\":\"0123456789abcdef0123456789abcdef\xe0\x80\x80\"}", VG_JR_UTF8);
}

Test(json, rejects_raw_control_characters)
{
	REJECT("{\"a\":\"x\x01y\"}", VG_JR_CONTROL);
	REJECT("{\"a\":\"tab\there\"}", VG_JR_CONTROL);
	REJECT("{\"a\":\"line\nbreak\"}", VG_JR_CONTROL);
	REJECT("{\"a\":\"0123456789abcdef0123456789\x1f\"}", VG_JR_CONTROL);
	struct vg_record rec;
	struct vg_json_error e;
	static const char nul[] = "{\"a\":\"x\0y\"}";

	cr_expect_eq(parse_n(nul, sizeof(nul) - 1, &rec, &e), VG_ERR_PARSE);
	cr_expect_eq(e.reason, VG_JR_CONTROL);
}

static char *nested(int depth)
{
	/* {"a":{"a":...{}...}} with depth objects. */
	char *s = malloc((size_t)depth * 6 + 8);
	size_t o = 0;

	for (int i = 0; i < depth; i++) {
		if (i == depth - 1) {
			s[o++] = '{';
		} else {
			memcpy(s + o, "{\"a\":", 5);
			o += 5;
		}
	}
	for (int i = 0; i < depth; i++)
		s[o++] = '}';
	s[o] = '\0';
	return s;
}

Test(json, depth_limit)
{
	char *ok = nested(64), *deep = nested(65);

	ACCEPT(ok);
	REJECT(deep, VG_JR_DEPTH);
	free(ok);
	free(deep);
	/* Arrays count too. */
	char arr[200];
	size_t o = 0;

	arr[o++] = '{';
	memcpy(arr + o, "\"a\":", 4);
	o += 4;
	for (int i = 0; i < 64; i++)
		arr[o++] = '[';
	for (int i = 0; i < 64; i++)
		arr[o++] = ']';
	arr[o++] = '}';
	arr[o] = '\0';
	REJECT(arr, VG_JR_DEPTH); /* 1 object + 64 arrays = 65 */
}

Test(json, size_limit)
{
	struct vg_json_limits lim = {.max_bytes = 32, .max_depth = 64};
	struct vg_record rec;
	struct vg_json_error e;
	const char *exact = "{\"a\":\"012345678901234567890123\"}"; /* 32 bytes */
	const char *over = "{\"a\":\"0123456789012345678901234\"}"; /* 33 bytes */

	cr_assert_eq(strlen(exact), 32);
	cr_expect_eq(vg_json_extract(paths, &lim, exact, strlen(exact), &rec, &e), VG_OK);
	cr_expect_eq(vg_json_extract(paths, &lim, over, strlen(over), &rec, &e), VG_ERR_PARSE);
	cr_expect_eq(e.reason, VG_JR_SIZE);
}

static struct vg_record extract(const char *doc)
{
	struct vg_record rec;
	struct vg_json_error e = {0};

	cr_assert_eq(parse_n(doc, strlen(doc), &rec, &e), VG_OK, "%s: %s at %zu", doc, vg_json_reason_str(e.reason),
		     e.offset);
	return rec;
}

/* Views must point into the parsed buffer, so compare on a stable copy. */
static const char *doc_keep;

static struct vg_record extract_keep(const char *doc)
{
	struct vg_record rec;
	struct vg_json_error e = {0};

	doc_keep = doc;
	cr_assert_eq(vg_json_extract(paths, &limits, doc, strlen(doc), &rec, &e), VG_OK, "%s: %s", doc,
		     vg_json_reason_str(e.reason));
	return rec;
}

#define EXPECT_RAW(rec, fld, want)                                                                               \
	cr_expect(vg_str_eq_cstr((rec).f[fld].raw, want), "field %d: got '%.*s' want '%s'", fld,                \
		  (int)(rec).f[fld].raw.len, (rec).f[fld].raw.p ? (rec).f[fld].raw.p : "", want)

Test(json, extracts_top_level_and_nested_fields)
{
	struct vg_record r = extract_keep("{\"timestamp\":\"2026-11-01T00:00:00Z\",\"level\":\"error\","
					  "\"service\":\"orders\",\"message\":\"boom\",\"http\":{\"method\":\"POST\","
					  "\"path\":\"/a/1\",\"status\":503,\"duration_ms\":12.5},"
					  "\"exception\":{\"type\":\"TimeoutError\",\"message\":\"x\"}}");

	EXPECT_RAW(r, VG_F_TIME, "2026-11-01T00:00:00Z");
	EXPECT_RAW(r, VG_F_LEVEL, "error");
	EXPECT_RAW(r, VG_F_SERVICE, "orders");
	EXPECT_RAW(r, VG_F_MESSAGE, "boom");
	EXPECT_RAW(r, VG_F_METHOD, "POST");
	EXPECT_RAW(r, VG_F_ENDPOINT, "/a/1");
	EXPECT_RAW(r, VG_F_EXCEPTION, "TimeoutError");
	cr_expect_eq(r.f[VG_F_STATUS].type, VG_J_NUMBER);
	cr_expect_eq(r.f[VG_F_STATUS].num, 503.0);
	cr_expect_eq(r.f[VG_F_DURATION].num, 12.5);
	cr_expect_eq(r.f[VG_F_CATEGORY].type, VG_J_NONE);
	cr_expect_eq(r.f[VG_F_USER_ID].type, VG_J_NONE);
}

Test(json, dotted_path_matches_literal_key)
{
	struct vg_record r = extract_keep("{\"log.level\":\"WARN\",\"service.name\":\"auth\",\"http.status\":404}");

	EXPECT_RAW(r, VG_F_LEVEL, "WARN");
	EXPECT_RAW(r, VG_F_SERVICE, "auth");
	cr_expect_eq(r.f[VG_F_STATUS].num, 404.0);
	r = extract_keep("{\"log\":{\"level\":\"ERROR\",\"logger\":\"x.y\"},\"service\":{\"name\":\"pay\"}}");
	EXPECT_RAW(r, VG_F_LEVEL, "ERROR");
	EXPECT_RAW(r, VG_F_LOGGER, "x.y");
	EXPECT_RAW(r, VG_F_SERVICE, "pay");
}

Test(json, first_listed_path_wins_whatever_the_order)
{
	/* time paths: timestamp, @timestamp, time, ts */
	struct vg_record r = extract_keep("{\"ts\":1,\"time\":2,\"timestamp\":\"T\",\"@timestamp\":\"A\"}");

	EXPECT_RAW(r, VG_F_TIME, "T");
	r = extract_keep("{\"ts\":1,\"time\":2}");
	EXPECT_RAW(r, VG_F_TIME, "2");
	/* status: http.status before status */
	r = extract_keep("{\"status\":200,\"http\":{\"status\":500}}");
	cr_expect_eq(r.f[VG_F_STATUS].num, 500.0);
}

Test(json, duplicate_key_last_wins)
{
	struct vg_record r = extract_keep("{\"level\":\"info\",\"level\":\"error\"}");

	EXPECT_RAW(r, VG_F_LEVEL, "error");
	r = extract_keep("{\"http\":{\"status\":200},\"http\":{\"status\":502}}");
	cr_expect_eq(r.f[VG_F_STATUS].num, 502.0);
}

Test(json, values_inside_arrays_and_unknown_objects_are_not_matched)
{
	struct vg_record r = extract_keep("{\"items\":[{\"level\":\"error\"}],\"ctx\":{\"level\":\"warn\"}}");

	cr_expect_eq(r.f[VG_F_LEVEL].type, VG_J_NONE);
	r = extract_keep("{\"http\":[{\"status\":500}]}");
	cr_expect_eq(r.f[VG_F_STATUS].type, VG_J_NONE);
}

Test(json, escaped_key_is_matched_after_decoding)
{
	struct vg_record r = extract_keep("{\"lev\\u0065l\":\"error\"}");

	EXPECT_RAW(r, VG_F_LEVEL, "error");
}

Test(json, typed_values)
{
	struct vg_record r = extract_keep("{\"level\":null,\"service\":true,\"message\":false,\"status\":\"503\","
					  "\"duration_ms\":-0.25,\"user_id\":{\"a\":[1,{}]},\"request_id\":[1,2]}");

	cr_expect_eq(r.f[VG_F_LEVEL].type, VG_J_NULL);
	cr_expect_eq(r.f[VG_F_SERVICE].type, VG_J_TRUE);
	cr_expect_eq(r.f[VG_F_MESSAGE].type, VG_J_FALSE);
	cr_expect_eq(r.f[VG_F_STATUS].type, VG_J_STRING);
	cr_expect_eq(r.f[VG_F_DURATION].num, -0.25);
	cr_expect_eq(r.f[VG_F_USER_ID].type, VG_J_OBJECT);
	EXPECT_RAW(r, VG_F_USER_ID, "{\"a\":[1,{}]}");
	cr_expect_eq(r.f[VG_F_REQUEST_ID].type, VG_J_ARRAY);
	EXPECT_RAW(r, VG_F_REQUEST_ID, "[1,2]");
}

Test(json, numbers_convert_exactly)
{
	static const struct {
		const char *txt;
		double want;
	} cases[] = {
		{"0", 0},         {"200", 200},         {"12.345", 12.345},
		{"-7.5", -7.5},   {"1e3", 1000},        {"2.5E-3", 0.0025},
		{"0.1", 0.1},     {"1793491200.123456", 1793491200.123456},
		{"1793491200123", 1793491200123.0},     {"123456789012345678901", 123456789012345678901.0},
		{"0.000001234", 0.000001234},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char doc[96];

		snprintf(doc, sizeof(doc), "{\"duration_ms\":%s}", cases[i].txt);
		struct vg_record r = extract(doc);

		cr_expect_eq(r.f[VG_F_DURATION].num, cases[i].want, "%s -> %.17g", cases[i].txt, r.f[VG_F_DURATION].num);
	}
}

Test(json, string_flags_and_decode)
{
	struct vg_record r = extract_keep("{\"message\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\\t\","
					  "\"service\":\"plain\"}");
	char out[128];

	cr_expect(r.f[VG_F_MESSAGE].flags & VG_V_ESCAPED);
	cr_expect_not(r.f[VG_F_SERVICE].flags & VG_V_ESCAPED);
	size_t n = vg_json_decode(r.f[VG_F_MESSAGE].raw, out);

	cr_expect_eq(n, strlen("caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \n\t"));
	cr_expect(memcmp(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \n\t", n) == 0);
}

Test(json, error_offset_points_at_the_problem)
{
	struct vg_record rec;
	struct vg_json_error e;
	const char *doc = "{\"a\":1,\"b\":\"x\x01\"}";

	cr_assert_eq(parse_n(doc, strlen(doc), &rec, &e), VG_ERR_PARSE);
	cr_expect_eq(e.reason, VG_JR_CONTROL);
	cr_expect_eq(e.offset, 13u);
}

/* The last string of a record, within 16 bytes of its end, is scanned in
 * the input's final 16 bytes with the bytes before it masked off: whatever
 * its distance from the end, it ends at its own quote, and an escape, a
 * multi-byte character, a control byte or bad UTF-8 in it is seen there. */
Test(json, last_string_at_every_distance_from_the_end)
{
	static const struct {
		const char *tail; /* the string's last bytes, before its quote */
		int reason;
		uint8_t flags;
	} cases[] = {
		{"", VG_JR_OK, 0},
		{"\\\"", VG_JR_OK, VG_V_ESCAPED},
		{"\\u00e9", VG_JR_OK, VG_V_ESCAPED},
		{"caf\xc3\xa9", VG_JR_OK, 0},
		{"\x01", VG_JR_CONTROL, 0},
		{"\xff", VG_JR_UTF8, 0},
	};
	char doc[128];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int n = 0; n <= 40; n++) {
			struct vg_record rec;
			struct vg_json_error e = {0};
			int len = snprintf(doc, sizeof(doc), "{\"a\":\"b\",\"message\":\"%.*s%s\"}", n,
					   "........................................", cases[c].tail);

			cr_assert(len > 0 && (size_t)len < sizeof(doc));
			int rc = parse_n(doc, (size_t)len, &rec, &e);
			size_t at = strlen("{\"a\":\"b\",\"message\":\"") + (size_t)n;

			if (cases[c].reason != VG_JR_OK) {
				cr_expect_eq(rc, VG_ERR_PARSE, "case %zu, n=%d", c, n);
				cr_expect_eq(e.reason, cases[c].reason, "case %zu, n=%d: %s", c, n,
					     vg_json_reason_str(e.reason));
				cr_expect_eq(e.offset, at + strlen(cases[c].tail) - 1, "case %zu, n=%d", c, n);
				continue;
			}
			cr_assert_eq(rc, VG_OK, "case %zu, n=%d: %s at %zu", c, n, vg_json_reason_str(e.reason),
				     e.offset);
			cr_expect_eq(rec.f[VG_F_MESSAGE].raw.len, (size_t)n + strlen(cases[c].tail), "case %zu, n=%d", c,
				     n);
			cr_expect_eq(rec.f[VG_F_MESSAGE].flags, cases[c].flags, "case %zu, n=%d", c, n);
		}
		/* The same record cut anywhere inside the string: unterminated. */
		int len = snprintf(doc, sizeof(doc), "{\"message\":\"................%s", cases[c].tail);

		for (int cut = (int)strlen("{\"message\":\""); cut <= len; cut++) {
			int r = reason_of_n(doc, (size_t)cut);

			if (cases[c].reason != VG_JR_OK && cut == len)
				cr_expect_eq(r, cases[c].reason, "case %zu, cut=%d", c, cut);
			else if (!cases[c].tail[0])
				cr_expect_eq(r, VG_JR_SYNTAX, "case %zu, cut=%d", c, cut);
			else
				cr_expect_neq(r, VG_JR_OK, "case %zu, cut=%d", c, cut);
		}
	}
}

Test(json, reason_names_are_stable)
{
	cr_expect_str_eq(vg_json_reason_str(VG_JR_SYNTAX), "syntax");
	cr_expect_str_eq(vg_json_reason_str(VG_JR_UTF8), "utf8");
	cr_expect_str_eq(vg_json_reason_str(VG_JR_DEPTH), "depth");
	cr_expect_str_eq(vg_json_reason_str(VG_JR_SIZE), "size");
	cr_expect_str_eq(vg_json_reason_str(VG_JR_NOT_OBJECT), "not_object");
	cr_expect_str_eq(vg_json_reason_str(VG_JR_EMPTY), "empty");
	cr_expect_str_eq(vg_json_reason_str(99), "unknown");
}

Test(json, paths_refuse_conflicts)
{
	struct vg_json_paths *jp = NULL;
	char err[256];
	const char *lv[] = {"level"}, *sv[] = {"level"}, *bad[] = {"a..b"};
	const char *const *p[VG_F_COUNT] = {0};
	size_t n[VG_F_COUNT] = {0};

	p[VG_F_LEVEL] = lv;
	n[VG_F_LEVEL] = 1;
	p[VG_F_SERVICE] = sv;
	n[VG_F_SERVICE] = 1;
	cr_expect_eq(vg_json_paths_create(&jp, p, n, err, sizeof(err)), VG_ERR_CONFIG);
	cr_expect_null(jp);
	n[VG_F_SERVICE] = 0;
	p[VG_F_LEVEL] = bad;
	cr_expect_eq(vg_json_paths_create(&jp, p, n, err, sizeof(err)), VG_ERR_CONFIG);
	cr_expect(strstr(err, "empty") != NULL, "%s", err);
}

/* Regression: with no paths at all (bench/gen --check and the poison tool
 * only validate), creating them handed qsort a NULL array (UBSan). */
Test(json, no_paths_only_validate)
{
	struct vg_json_paths *jp = NULL;
	char err[256];
	const char *const *p[VG_F_COUNT] = {0};
	size_t n[VG_F_COUNT] = {0};
	struct vg_record rec;
	struct vg_json_error e = {0};
	const char ok[] = "{\"level\":\"ERROR\",\"message\":\"m\"}", bad[] = "{\"level\":01}";

	cr_assert_eq(vg_json_paths_create(&jp, p, n, err, sizeof(err)), VG_OK, "%s", err);
	cr_expect_eq(vg_json_extract(jp, &limits, ok, sizeof(ok) - 1, &rec, &e), VG_OK);
	for (int f = 0; f < VG_F_COUNT; f++)
		cr_expect_eq(rec.f[f].type, VG_J_NONE, "field %d", f);
	cr_expect_eq(vg_json_extract(jp, &limits, bad, sizeof(bad) - 1, &rec, &e), VG_ERR_PARSE);
	cr_expect_eq(e.reason, VG_JR_NUMBER);
	vg_json_paths_destroy(jp);
}

Test(json, utf8_validator)
{
	cr_expect(vg_json_utf8_valid("plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 15));
	cr_expect_not(vg_json_utf8_valid("\xed\xa0\x80", 3));
	cr_expect_not(vg_json_utf8_valid("\xc0\xaf", 2));
	cr_expect_not(vg_json_utf8_valid("\xe2\x82", 2));
}
