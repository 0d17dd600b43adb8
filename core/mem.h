/* vigil: growing arrays. */
#ifndef VG_MEM_H
#define VG_MEM_H

#include <stddef.h>
#include <stdlib.h>

/* Make room for n elements of size elem in *p (capacity *cap), doubling
 * from first. Returns 0, or -1 when allocation failed (*p unchanged). */
static inline int vg_grow(void *p, size_t *cap, size_t n, size_t elem, size_t first)
{
	void **pp = (void **)p;

	if (n <= *cap)
		return 0;
	size_t c = *cap ? *cap : first;

	while (c < n)
		c *= 2;
	void *q = realloc(*pp, c * elem);

	if (!q)
		return -1;
	*pp = q;
	*cap = c;
	return 0;
}

#endif
