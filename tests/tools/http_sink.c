/* A minimal HTTP receiver for tests: listens on 127.0.0.1 (an ephemeral
 * port, printed on the first line of standard output), answers every
 * request with 200 and appends each request body, on one line, to the file
 * named by argv[1]. Serves until killed. Enough for webhook payloads; not
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

	if (argc != 2 || s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0) {
		fprintf(stderr, "usage: http_sink FILE (and a free loopback port)\n");
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
