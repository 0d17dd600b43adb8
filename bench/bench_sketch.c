/* Sketch insert cost: ns per vg_sketch_add over a realistic latency mix,
 * median of 5 runs. Prints one JSON line. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "aggregate/sketch.h"
#include "core/clock.h"

#define N (1 << 22)

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	double *v = malloc(N * sizeof(*v)), runs[5];
	uint64_t s = 88172645463325252ull;
	struct vg_sketch sk;

	for (size_t i = 0; i < N; i++) { /* lognormal-ish latencies with a tail */
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		double u = ((double)(s >> 11) + 0.5) / 9007199254740992.0;

		v[i] = 25 * exp(2.0 * (u - 0.5)) * (u > 0.99 ? 40 * u : 1);
	}
	vg_sketch_init(&sk, vg_sketch_map_get(0.01));
	for (int r = 0; r < 5; r++) {
		vg_sketch_reset(&sk);
		double t0 = vg_clock_mono_s();

		for (size_t i = 0; i < N; i++)
			vg_sketch_add(&sk, v[i]);
		runs[r] = (vg_clock_mono_s() - t0) / N * 1e9;
	}
	qsort(runs, 5, sizeof(double), cmp);
	printf("{\"tool\":\"sketch_add\",\"ns_per_op\":%.2f,\"p99\":%.3f}\n", runs[2], vg_sketch_quantile(&sk, 0.99));
	vg_sketch_free(&sk);
	free(v);
	return 0;
}
