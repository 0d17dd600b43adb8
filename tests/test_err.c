/* Tests for core/err: every error code has its own non-empty description,
 * and a code outside the enum still gets a string (never NULL). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/err.h"

static const int codes[] = {
        VG_OK, VG_ERR_NOMEM, VG_ERR_IO, VG_ERR_CONFIG, VG_ERR_PARSE, VG_ERR_LIMIT, VG_ERR_INVALID, VG_ERR_NOTFOUND,
};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

Test(err, every_code_has_a_distinct_description)
{
	for (size_t i = 0; i < N_CODES; i++) {
		const char *s = vg_err_str(codes[i]);

		cr_assert_not_null(s, "code %d", codes[i]);
		cr_expect_gt(strlen(s), 0u, "code %d", codes[i]);
		cr_expect_str_neq(s, vg_err_str(1000), "code %d has the unknown code's description", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(s, vg_err_str(codes[j]), "codes %d and %d share \"%s\"", codes[i], codes[j],
			                  s);
	}
}

Test(err, success_is_zero_and_failures_negative)
{
	cr_expect_eq(VG_OK, 0);
	for (size_t i = 1; i < N_CODES; i++)
		cr_expect_lt(codes[i], 0, "code %s", vg_err_str(codes[i]));
	cr_expect_str_eq(vg_err_str(VG_OK), "success");
	cr_expect_str_eq(vg_err_str(VG_ERR_NOMEM), "out of memory"); /* the header's example */
}

Test(err, an_unknown_code_still_has_a_description)
{
	const int unknown[] = {1, -8, -1000, 1 << 30, -(1 << 30)};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *s = vg_err_str(unknown[i]);

		cr_assert_not_null(s);
		cr_expect_str_eq(s, "unknown error", "code %d", unknown[i]);
	}
}
