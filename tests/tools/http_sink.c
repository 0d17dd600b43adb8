/* A minimal HTTP receiver for tests: listens on 127.0.0.1 (an ephemeral
 * port, printed on the first line of standard output), answers every
 * request with 200 and appends each request body, on one line, to the file
 * named by argv[1]; with argv[2], the X-Vigil-Signature header's value (or
 * "-") to that file, a line per request. Serves until killed. Enough for webhook payloads; not
 * a general HTTP server (no chunked bodies, one request per connection). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc < 2 || argc > 3 || s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0) {
		fprintf(stderr, "usage: http_sink BODIES [SIGNATURES] (and a free loopback port)\n");
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
