/* libFuzzer target for the extractor and classifier (make fuzz).
 *
 * Besides "no crash, no sanitizer report", it checks properties that would
 * break if the parser were wrong: a rejection always carries a reason and
 * an offset inside the input; an accepted document's string views lie
 * inside the input and decode to valid UTF-8 no longer than the raw bytes;
 * classification stays within its tables. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "parse/classify.h"
#include "parse/endpoint.h"
#include "parse/stage.h"
#include "parse/json.h"
#include "parse/level.h"

static struct vg_config *cfg;
static struct vg_json_paths *paths;
static struct vg_classifier *cls;
static struct vg_classify_ctx *ctx;

static void init(void)
{
	static struct vg_stage st;
	char err[512];

	if (vg_stage_load(&st, NULL, err, sizeof(err)) != 0)
		abort();
	cfg = st.cfg;
	paths = st.paths;
	cls = st.classifier;
	ctx = st.ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vg_json_limits lim = {.max_bytes = 1 << 16, .max_depth = 32};
	struct vg_record rec;
	struct vg_json_error e = {0};

	if (!cfg)
		init();
	/* An exact-size copy, so reading one byte past the end is caught. */
	char *buf = malloc(size ? size : 1);

	memcpy(buf, data, size);
	if (vg_json_extract(paths, &lim, buf, size, &rec, &e) != 0) {
		if (e.reason <= 0 || e.reason >= VG_JR_COUNT || e.offset > size)
			abort();
	} else {
		for (int f = 0; f < VG_F_COUNT; f++) {
			const struct vg_value *v = &rec.f[f];

			if (v->type == VG_J_NONE)
				continue;
			if (v->raw.p < buf || v->raw.p + v->raw.len > buf + size)
				abort();
			if (v->type == VG_J_STRING) {
				char *d = malloc(v->raw.len ? v->raw.len : 1);
				size_t dl = vg_json_decode(v->raw, d);

				if (dl > v->raw.len || !vg_json_utf8_valid(d, dl))
					abort();
				free(d);
			}
		}
		vg_classify(ctx, &rec);
		if (rec.level >= VG_LEVEL_COUNT || rec.category >= vg_classifier_category_count(cls) ||
		    rec.endpoint.len > VG_ENDPOINT_MAX || rec.retention_days == 0)
			abort();
	}
	/* The standalone helpers take arbitrary bytes too. */
	char ep[VG_ENDPOINT_MAX];

	if (vg_endpoint_normalize(buf, size, ep) > VG_ENDPOINT_MAX)
		abort();
	(void)vg_level_parse_text(buf, size);
	free(buf);
	return 0;
}
