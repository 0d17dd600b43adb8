/* A minimal HTTP receiver for tests: listens on 127.0.0.1 (an ephemeral
 * port, printed on the first line of standard output), answers every
 * request with 200 and appends each request body, on one line, to the file
 * named by argv[1]; with argv[2], the X-Vigil-Signature header's value (or
 * "-") to that file, a line per request. Serves until killed. Enough for webhook payloads; not
 * a general HTTP server (no chunked bodies, one request per connection).
 *
 * Faults, for the reliability tests, while a file exists (the test creates
 * and removes it, so it decides when the receiver recovers):
 *   --fail-while FILE   answer 500 (the body is not recorded);
 *   --slow-while FILE   answer 200 only after --delay SECONDS (default 10),
 *                       the body not recorded (the sender has given up).
 * Each fault answered is counted on standard error ("500" or "slow" lines). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *fail_while = NULL, *slow_while = NULL;
	int delay = 10;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--fail-while") == 0)
			fail_while = argv[2];
		else if (strcmp(argv[1], "--slow-while") == 0)
			slow_while = argv[2];
		else if (strcmp(argv[1], "--delay") == 0)
			delay = atoi(argv[2]);
		else
			break;
		argv += 2;
		argc -= 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a slow answer to a sender that has gone */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc < 2 || argc > 3 || s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0) {
		fprintf(stderr, "usage: http_sink [--fail-while FILE] [--slow-while FILE [--delay S]] BODIES "
		                "[SIGNATURES] (and a free loopback port)\n");
		return 2;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		static char buf[1 << 20];
		size_t n = 0;
		char *body = NULL;
		long want = -1;

		if (c < 0)
			continue;
		while (n < sizeof(buf) - 1) {
			ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);

			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = '\0';
			if (!body && (body = strstr(buf, "\r\n\r\n"))) {
				body += 4;
				for (char *h = buf; h < body; h = strstr(h, "\r\n") + 2)
					if (strncasecmp(h, "Content-Length:", 15) == 0)
						want = strtol(h + 15, NULL, 10);
			}
			if (body && (want < 0 || (long)(buf + n - body) >= want))
				break;
		}
		if (body && fail_while && access(fail_while, F_OK) == 0) {
			static const char e500[] =
			        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

			fprintf(stderr, "500\n");
			if (write(c, e500, sizeof(e500) - 1) < 0)
				perror("http_sink: write");
			close(c);
			continue;
		}
		if (body && slow_while && access(slow_while, F_OK) == 0) {
			struct timespec ts = {delay, 0};
			static const char late[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

			fprintf(stderr, "slow\n");
			nanosleep(&ts, NULL);
			if (write(c, late, sizeof(late) - 1) < 0)
				fprintf(stderr, "late\n"); /* the sender has usually gone */
			close(c);
			continue;
		}
		while (body && n > 0 && buf + n > body && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--; /* one line per body, whatever the sender ended it with */
		if (body && argc == 3) {
			FILE *f = fopen(argv[2], "a");
			const char *sig = "-";
			size_t sl = 1;

			for (char *h = buf; h < body; h = strstr(h, "\r\n") + 2)
				if (strncasecmp(h, "X-Vigil-Signature:", 18) == 0) {
					sig = h + 18 + strspn(h + 18, " ");
					sl = strcspn(sig, "\r");
				}
			if (f) {
				fprintf(f, "%.*s\n", (int)sl, sig);
				fclose(f);
			}
		}
		if (body) {
			FILE *f = fopen(argv[1], "a");

			if (f) {
				fwrite(body, 1, (size_t)(buf + n - body), f);
				fputc('\n', f);
				fclose(f);
			}
		}
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

		if (write(c, ok, sizeof(ok) - 1) < 0)
			perror("http_sink: write");
		close(c);
	}
}
