/* Tests for parse/endpoint: normalisation keeps label cardinality bounded. */
#include <criterion/criterion.h>
#include <string.h>

#include "parse/endpoint.h"

static void expect(const char *in, const char *want)
{
	char out[VG_ENDPOINT_MAX];
	size_t n = vg_endpoint_normalize(in, strlen(in), out);

	cr_expect(n == strlen(want) && memcmp(out, want, n) == 0, "%s -> '%.*s', want '%s'", in, (int)n, out, want);
}

Test(endpoint, ids_become_placeholders)
{
	expect("/api/v1/events/123", "/api/v1/events/:id");
	expect("/api/v1/orders/98765/items", "/api/v1/orders/:id/items");
	expect("/api/v1/users/3f2504e0-4f89-41d3-9a0c-0305e82c3301", "/api/v1/users/:id");
	expect("/api/v1/users/3F2504E0-4F89-41D3-9A0C-0305E82C3301/x", "/api/v1/users/:id/x");
	expect("/api/v1/products/5f8d0d55b54764421b7156c9", "/api/v1/products/:id");
	expect("/blobs/deadbeef12", "/blobs/:id");
	expect("/a/1/b/2/c/3", "/a/:id/b/:id/c/:id");
}

Test(endpoint, words_stay)
{
	expect("/api/v1/search", "/api/v1/search");
	expect("/health", "/health");
	expect("/api/v2/payments", "/api/v2/payments");
	expect("/files/deadbeef", "/files/deadbeef");     /* hex letters only: a word */
	expect("/files/abc123", "/files/abc123");         /* too short for a hex id */
	/* not a UUID: only its 8-hex token is an id */
	expect("/x/3f2504e0-4f89-41d3-9a0c", "/x/:id-4f89-41d3-9a0c");
}

Test(endpoint, query_and_fragment_dropped)
{
	expect("/api/v1/search?q=shoes&page=2", "/api/v1/search");
	expect("/api/v1/orders/12?expand=items/x", "/api/v1/orders/:id");
	expect("/docs#section/1", "/docs");
	expect("?only=query", "");
}

Test(endpoint, absolute_urls_keep_the_path)
{
	expect("https://shop.example.com/api/v1/orders/7", "/api/v1/orders/:id");
	expect("http://h:8080/x?y=1", "/x");
	expect("https://host", "/");
	expect("https://host?x=/y", "/");
}

Test(endpoint, edges)
{
	expect("", "");
	expect("/", "/");
	expect("/a/", "/a/");
	expect("//double//slash", "//double//slash");
	expect("relative/42", "relative/:id");
}

Test(endpoint, long_paths_are_cut)
{
	char in[2048], out[VG_ENDPOINT_MAX];

	for (size_t i = 0; i < sizeof(in) - 1; i++)
		in[i] = (i % 10 == 0) ? '/' : 'a';
	in[sizeof(in) - 1] = '\0';
	size_t n = vg_endpoint_normalize(in, strlen(in), out);

	cr_expect_leq(n, VG_ENDPOINT_MAX);
	cr_expect_gt(n, VG_ENDPOINT_MAX - 12);
	memset(in, 'b', sizeof(in) - 1);
	n = vg_endpoint_normalize(in, strlen(in), out);
	cr_expect_eq(n, VG_ENDPOINT_MAX);
}

/* A giant segment is cut where a character starts, never inside one: an
 * endpoint is a label value in JSON, alerts and /metrics, and PCRE2 (UTF)
 * refuses a subject with half a character. "x" then 200 "é" (2 bytes
 * each): the cut keeps "x" and 127 whole "é", 255 bytes. */
Test(endpoint, a_giant_segment_is_cut_between_characters)
{
	char in[512] = "x", out[VG_ENDPOINT_MAX];

	for (int i = 0; i < 200; i++)
		strcat(in, "\xc3\xa9");
	size_t n = vg_endpoint_normalize(in, strlen(in), out);

	cr_expect_eq(n, VG_ENDPOINT_MAX - 1);
	cr_expect_eq((unsigned char)out[n - 2], 0xc3);
	cr_expect_eq((unsigned char)out[n - 1], 0xa9);
}

Test(endpoint, hashed_tokens_within_a_segment)
{
	expect("/static/js/main.3f2a9c1b.js", "/static/js/main.:id.js");
	expect("/static/css/app-0a1b2c3d4e.min.css", "/static/css/app-:id.min.css");
	expect("/exports/report_20261101.csv", "/exports/report_:id.csv");
	expect("/a/x.deadbeef12.y.cafe0123", "/a/x.:id.y.:id");
	/* short numbers and words stay: versions, dates, names */
	expect("/lib/jquery-3.6.0.min.js", "/lib/jquery-3.6.0.min.js");
	expect("/reports/2026-11-01", "/reports/2026-11-01");
	expect("/api/user-profile.json", "/api/user-profile.json");
	expect("/a/accepted.deadbeef", "/a/accepted.deadbeef"); /* 8 hex letters, no digit */
	expect("/a/.12345678.", "/a/.:id.");
}
