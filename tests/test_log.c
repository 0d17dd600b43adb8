/* Tests for core/log: vigil's own JSON log lines. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static char path[] = "/tmp/vigil-test-log.XXXXXX";
static int fd = -1;

static void setup(void)
{
	strcpy(path, "/tmp/vigil-test-log.XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	vg_log_set_fd(fd);
	vg_log_set_level(VG_LOG_INFO);
}

static void teardown(void)
{
	vg_log_set_fd(STDERR_FILENO);
	close(fd);
	unlink(path);
}

/* What was logged so far (the caller frees it). */
static char *logged(size_t *len)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 1 << 22);
	size_t n;

	cr_assert(f && s);
	n = fread(s, 1, (1 << 22) - 1, f);
	fclose(f);
	if (len)
		*len = n;
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, one_line_with_level_component_msg_first)
{
	vg_log(VG_LOG_WARNING, "ingest", "commit failed %d times", 3);
	char *s = logged(NULL);

	const char *want =
		"{\"level\":\"WARNING\",\"component\":\"ingest\",\"msg\":\"commit failed 3 times\",\"time\":\"";

	cr_expect(strncmp(s, want, strlen(want)) == 0, "got %s", s);
	cr_expect(count_lines(s) == 1);
	cr_expect(strstr(s, "Z\"}\n") != NULL, "got %s", s);
	free(s);
}

Test(log, escaping)
{
	vg_log(VG_LOG_ERROR, "a\"b", "quote \" backslash \\ newline \n tab \t bell \a del \x7f utf8 \xc3\xa9");
	char *s = logged(NULL);

	cr_expect(strstr(s, "\"component\":\"a\\\"b\"") != NULL, "got %s", s);
	cr_expect(strstr(s, "quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 del \\u007f utf8 \xc3\xa9\"") !=
			  NULL,
		  "got %s", s);
	cr_expect(count_lines(s) == 1, "a newline in the message must not end the line");
	free(s);
}

Test(log, fields_typed_and_escaped)
{
	vg_log_kv(VG_LOG_INFO, "ingest", "partitions assigned", VG_LOG_S("topic", "lo\"gs"), VG_LOG_I("partition", -3),
		  VG_LOG_J("list", "[\"a/0\",\"a/1\"]"), VG_LOG_S("none", NULL));
	char *s = logged(NULL);

	cr_expect(strstr(s, "\"msg\":\"partitions assigned\",\"topic\":\"lo\\\"gs\",\"partition\":-3,"
			    "\"list\":[\"a/0\",\"a/1\"],\"none\":null,\"time\":") != NULL,
		  "got %s", s);
	free(s);
}

Test(log, level_filtering)
{
	vg_log_set_level(VG_LOG_WARNING);
	cr_expect(!vg_log_enabled(VG_LOG_INFO));
	cr_expect(vg_log_enabled(VG_LOG_ERROR));
	vg_log(VG_LOG_DEBUG, "t", "debug");
	vg_log(VG_LOG_INFO, "t", "info");
	vg_log_kv(VG_LOG_INFO, "t", "info kv", VG_LOG_I("n", 1));
	vg_log(VG_LOG_WARNING, "t", "warning");
	vg_log(VG_LOG_ERROR, "t", "error");
	vg_log_set_level(VG_LOG_DEBUG);
	vg_log(VG_LOG_DEBUG, "t", "debug again");
	char *s = logged(NULL);

	cr_expect(count_lines(s) == 3, "got %s", s);
	cr_expect(!strstr(s, "\"info"));
	cr_expect(strstr(s, "\"msg\":\"warning\"") && strstr(s, "\"msg\":\"error\"") &&
		  strstr(s, "\"level\":\"DEBUG\",\"component\":\"t\",\"msg\":\"debug again\""));
	free(s);
}

Test(log, level_names)
{
	cr_expect(vg_log_level_from_name("debug") == VG_LOG_DEBUG);
	cr_expect(vg_log_level_from_name("INFO") == VG_LOG_INFO);
	cr_expect(vg_log_level_from_name("warn") == VG_LOG_WARNING);
	cr_expect(vg_log_level_from_name("Warning") == VG_LOG_WARNING);
	cr_expect(vg_log_level_from_name("error") == VG_LOG_ERROR);
	cr_expect(vg_log_level_from_name("critical") == -1);
	cr_expect(vg_log_level_from_name("") == -1);
	cr_expect(vg_log_level_from_name(NULL) == -1);
	cr_expect_str_eq(vg_log_level_name(VG_LOG_WARNING), "WARNING");
}

Test(log, long_message_is_cut_but_stays_one_valid_line)
{
	size_t big = 10000, len;
	char *m = malloc(big + 1);

	memset(m, 'x', big);
	m[big] = '\0';
	m[5000] = '"'; /* an escape near the cut */
	vg_log(VG_LOG_INFO, "t", "%s", m);
	vg_log_kv(VG_LOG_INFO, "t", "short", VG_LOG_S("big", m), VG_LOG_I("after", 1));
	char *s = logged(&len);
	char *second = strchr(s, '\n') + 1;

	cr_expect(count_lines(s) == 2);
	cr_expect(second - s <= 4096, "a line must fit one atomic pipe write, got %td bytes", second - s);
	cr_expect(strstr(s, "x\",\"truncated\":true,\"time\":\"") != NULL);
	/* A field that does not fit is dropped whole, never half written. */
	const char *want = "{\"level\":\"INFO\",\"component\":\"t\",\"msg\":\"short\",\"truncated\":true,\"time\":";

	cr_expect(strncmp(second, want, strlen(want)) == 0, "got %.200s", second);
	free(m);
	free(s);
}

#define THREADS 8
#define PER_THREAD 500

static void *spam(void *arg)
{
	char pad[600];

	memset(pad, 'a' + (int)(intptr_t)arg, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < PER_THREAD; i++)
		vg_log(VG_LOG_INFO, "t", "thread %d line %d %s", (int)(intptr_t)arg, i, pad);
	return NULL;
}

Test(log, one_line_per_call_across_threads)
{
	pthread_t t[THREADS];
	size_t len;

	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, spam, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char *s = logged(&len);
	size_t lines = 0;

	/* Every line whole: it starts as a log line does, carries one thread's
	 * padding only, and ends the object. */
	for (char *p = s, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1, lines++) {
		int th = -1, n = -1;

		cr_assert(strncmp(p, "{\"level\":\"INFO\",\"component\":\"t\",\"msg\":\"thread ", 46) == 0,
			  "line %zu: %.80s", lines, p);
		cr_assert(sscanf(p + 46, "%d line %d", &th, &n) == 2);
		char want = (char)('a' + th);
		const char *pad = strstr(p + 46, " line ");

		cr_assert(pad && (pad = strchr(pad + 6, ' ')) != NULL);
		pad++;
		for (int k = 0; k < 599; k++)
			cr_assert(pad[k] == want, "line %zu: mixed with another thread's at %d", lines, k);
		cr_assert(strncmp(pad + 599, "\",\"time\":\"", 10) == 0, "line %zu", lines);
		cr_assert(memcmp(nl - 2, "\"}", 2) == 0, "line %zu ends badly", lines);
	}
	cr_expect(lines == THREADS * PER_THREAD, "got %zu lines", lines);
	free(s);
}

Test(log, librdkafka_levels_map_to_ours_and_fail_goes_to_debug)
{
	vg_log_librdkafka("rdkafka#consumer-1", 3, "ERROR", "broker down");
	vg_log_librdkafka("rdkafka#consumer-1", 4, "CONFWARN", "property ignored");
	vg_log_librdkafka("rdkafka#consumer-1", 6, "MEMBERID", "member id \"x\"");
	vg_log_librdkafka("rdkafka#consumer-1", 7, "FETCH", "fetching");
	vg_log_librdkafka("rdkafka#consumer-1", 3, "FAIL", "connect failed");
	char *s = logged(NULL);

	cr_expect(strstr(s, "{\"level\":\"ERROR\",\"component\":\"kafka\",\"msg\":\"broker down\",\"facility\":\"ERROR\","
			    "\"client\":\"rdkafka#consumer-1\","));
	cr_expect(strstr(s, "{\"level\":\"WARNING\",\"component\":\"kafka\",\"msg\":\"property ignored\""));
	cr_expect(strstr(s, "{\"level\":\"INFO\",\"component\":\"kafka\",\"msg\":\"member id \\\"x\\\"\""));
	cr_expect(!strstr(s, "fetching"), "debug is below the default level");
	cr_expect(!strstr(s, "connect failed"), "a connection failure is said by the error callback");
	cr_expect_eq(count_lines(s), 3);
	free(s);
	vg_log_set_level(VG_LOG_DEBUG);
	vg_log_librdkafka("c", 3, "FAIL", "connect failed");
	s = logged(NULL);
	cr_expect(strstr(s, "{\"level\":\"DEBUG\",\"component\":\"kafka\",\"msg\":\"connect failed\",\"facility\":\"FAIL\""));
	free(s);
}
