/* vigil: the parse + classify stage (see stage.h). */
#include "parse/stage.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

void vg_stage_close(struct vg_stage *st)
{
	vg_classify_ctx_destroy(st->ctx);
	vg_classifier_destroy(st->classifier);
	vg_json_paths_destroy(st->paths);
	vg_config_free(st->cfg);
	memset(st, 0, sizeof(*st));
}

int vg_stage_open(struct vg_stage *st, struct vg_config *cfg, char *errbuf, size_t errlen)
{
	const char *const *paths[VG_F_COUNT];
	size_t n[VG_F_COUNT];
	int rc;

	memset(st, 0, sizeof(*st));
	st->cfg = cfg;
	for (int f = 0; f < VG_F_COUNT; f++) {
		paths[f] = (const char *const *)cfg->paths[f].v;
		n[f] = cfg->paths[f].n;
	}
	if ((rc = vg_json_paths_create(&st->paths, paths, n, errbuf, errlen)) != VG_OK)
		goto out_close;
	if ((rc = vg_classifier_create(&st->classifier, cfg, errbuf, errlen)) != VG_OK)
		goto out_close;
	if ((rc = vg_classify_ctx_create(&st->ctx, st->classifier)) != VG_OK) {
		snprintf(errbuf, errlen, "%s", vg_err_str(rc));
		goto out_close;
	}
	st->limits.max_bytes = cfg->max_record_bytes;
	st->limits.max_depth = cfg->max_depth;
	return VG_OK;

out_close:
	vg_stage_close(st);
	return rc;
}

int vg_stage_load(struct vg_stage *st, const char *config_path, char *errbuf, size_t errlen)
{
	struct vg_config *cfg;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = vg_config_load(&cfg, config_path, errbuf, errlen)) != VG_OK)
		return rc;
	return vg_stage_open(st, cfg, errbuf, errlen);
}
