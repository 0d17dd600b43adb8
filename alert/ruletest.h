/* vigil: rule tests (`vigil rules --test`): rules run over made-up series
 * of base windows, and the firing set checked at given times.
 *
 *   rule_files: [builtin]            # relative to the test file
 *   tests:
 *     - name: a 5xx burst pages
 *       series:                      # one value per base window, from t = 0
 *         - http: {service: orders, endpoint: /api, method: GET}
 *           values: "100/0x30 100/5x60"   # COUNT[/5XX][xREPEAT]
 *           latency_ms: 20
 *         - logs: {service: orders, category: application, level: ERROR}
 *           values: "2x90"
 *         - counter: {name: auth_failures, service: auth-service}
 *           values: "0x30 20x30"
 *       expect:                      # the firing set after the window ending at `at`
 *         - at: 10m
 *           firing: [{alertname: HTTP5xxErrorRate, service: orders}]
 *
 * An expectation passes when every listed alert fires (its labels include
 * the ones given) and nothing else fires. Each test runs its own store and
 * engine (alert/alerts.h), so a run keeps no state and any thread may run
 * one. */
#ifndef VG_RULETEST_H
#define VG_RULETEST_H

#include "alert/rules.h"

struct vg_table_params;

/* Run the rule test file at path. Returns 0 with *tests, *failures
 * and a report (failures, malloc'd, caller frees) set; VG_ERR_CONFIG /
 * VG_ERR_IO with errbuf set ("FILE:LINE: reason"); VG_ERR_NOMEM. */
int vg_ruletest_run(const char *path, const struct vg_rules_env *env, const struct vg_table_params *tp,
		    char **report, int *tests, int *failures, char *errbuf, size_t errlen);

#endif
