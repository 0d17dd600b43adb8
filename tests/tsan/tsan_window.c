/* ThreadSanitizer driver for the concurrent windows scenario (Criterion
 * cannot run under TSan: Criterion issue #274). Exits non-zero on any
 * difference from the single-thread result; TSan itself exits non-zero on
 * a race report. */
#include <stdbool.h>

static int failures;

#define CHECK(cond, ...)                                                                                         \
	do {                                                                                                     \
		if (!(cond)) {                                                                                   \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                     \
			fprintf(stderr, __VA_ARGS__);                                                            \
			fputc('\n', stderr);                                                                     \
			failures++;                                                                              \
			return;                                                                                  \
		}                                                                                                \
	} while (0)

#include "tests/window_scenario.h"

int main(void)
{
	unsigned writers[] = {2, 3, 4};
	int passed = 0;

	for (size_t i = 0; i < 2 * sizeof(writers) / sizeof(writers[0]); i++) {
		int before = failures;
		bool streams = i >= sizeof(writers) / sizeof(writers[0]);
		unsigned n = writers[i % (sizeof(writers) / sizeof(writers[0]))];

		concurrent_mode(n, streams);
		if (failures == before)
			passed++;
		printf("%s concurrent windows, %u writers and a closer%s\n", failures == before ? "ok" : "FAIL", n,
		       streams ? " (registered streams, as partitions)" : "");
	}
	printf("tsan: %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
