/* Tests for aggregate/epcap: the alert store's endpoint cap. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "aggregate/epcap.h"
#include "core/err.h"

static struct vg_epcap *make(unsigned cap, bool hold_404, int64_t horizon_ms)
{
	struct vg_epcap *c;
	struct vg_epcap_params p = {.max_per_service = cap, .hold_404 = hold_404, .horizon_ms = horizon_ms};

	cr_assert_eq(vg_epcap_create(&c, &p), VG_OK);
	return c;
}

static bool admit(struct vg_epcap *c, const char *svc, const char *ep, uint64_t n, uint64_t n404, int64_t now)
{
	bool keep;

	cr_assert_eq(vg_epcap_admit(c, vg_str_cstr(svc), vg_str_cstr(ep), n, n404, now, &keep), VG_OK);
	return keep;
}

Test(epcap, past_the_cap_a_service_new_endpoints_are_turned_away_counted)
{
	struct vg_epcap *c = make(3, false, 3600000);
	struct vg_epcap_stats st;
	char ep[32];

	for (int i = 0; i < 10; i++) {
		snprintf(ep, sizeof(ep), "/w%d", i);
		cr_expect_eq(admit(c, "web", ep, 5, 0, 1000), i < 3, "endpoint %d", i);
	}
	/* The known ones stay known; another service has its own room. */
	cr_expect(admit(c, "web", "/w1", 5, 0, 2000));
	cr_expect(admit(c, "api", "/w9", 5, 0, 2000));
	/* The window's own __other__ is never turned away. */
	cr_expect(admit(c, "web", "__other__", 5, 0, 2000));
	cr_expect(admit(c, "__other__", "__other__", 5, 0, 2000));
	vg_epcap_stats(c, &st);
	cr_expect_eq(st.known, 4u);
	cr_expect_eq(st.folded_cap, 7u);
	cr_expect_eq(st.folded_404, 0u);
	vg_epcap_destroy(c);
}

Test(epcap, a_new_endpoint_answering_only_404_is_no_key_until_it_answers_otherwise)
{
	struct vg_epcap *c = make(0, true, 3600000);
	struct vg_epcap_stats st;

	cr_expect_not(admit(c, "web", "/wp-login.php", 3, 3, 1000), "a scanner's probe");
	cr_expect_not(admit(c, "web", "/wp-login.php", 1, 1, 2000));
	cr_expect(admit(c, "web", "/wp-login.php", 4, 3, 3000), "answered once: a key of its own");
	cr_expect(admit(c, "web", "/wp-login.php", 2, 2, 4000), "known: its 404s stay its own");
	cr_expect(admit(c, "web", "/orders", 1, 0, 4000));
	vg_epcap_stats(c, &st);
	cr_expect_eq(st.known, 2u);
	cr_expect_eq(st.folded_404, 2u);
	vg_epcap_destroy(c);
}

Test(epcap, endpoints_unseen_for_the_horizon_are_forgotten_and_free_their_room)
{
	struct vg_epcap *c = make(2, false, 10000);
	struct vg_epcap_stats st;

	cr_expect(admit(c, "web", "/a", 1, 0, 1000));
	cr_expect(admit(c, "web", "/b", 1, 0, 5000));
	cr_expect_not(admit(c, "web", "/c", 1, 0, 6000));
	vg_epcap_expire(c, 11000); /* /a last seen at 1000: gone */
	vg_epcap_stats(c, &st);
	cr_expect_eq(st.known, 1u);
	cr_expect(admit(c, "web", "/c", 1, 0, 11000));
	cr_expect_not(admit(c, "web", "/a", 1, 0, 11000), "the room is /c's now");
	vg_epcap_expire(c, 100000);
	vg_epcap_stats(c, &st);
	cr_expect_eq(st.known, 0u);
	vg_epcap_destroy(c);
}

Test(epcap, many_services_and_endpoints_rehash_and_stay_exact)
{
	struct vg_epcap *c = make(50, false, 3600000);
	struct vg_epcap_stats st;
	char svc[16], ep[16];
	size_t kept = 0;

	for (int s = 0; s < 200; s++)
		for (int e = 0; e < 80; e++) {
			snprintf(svc, sizeof(svc), "s%d", s);
			snprintf(ep, sizeof(ep), "/e%d", e);
			kept += admit(c, svc, ep, 1, 0, 1000);
		}
	cr_expect_eq(kept, 200u * 50);
	for (int s = 0; s < 200; s++) {
		snprintf(svc, sizeof(svc), "s%d", s);
		cr_expect(admit(c, svc, "/e49", 1, 0, 2000));
		cr_expect_not(admit(c, svc, "/e50", 1, 0, 2000));
	}
	vg_epcap_stats(c, &st);
	cr_expect_eq(st.known, 200u * 50);
	vg_epcap_destroy(c);
}
