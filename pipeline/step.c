/* vigil: the one per-record step (see pipeline_internal.h): the files'
 * readers and vigil run's Kafka batches both take it. */
#include "pipeline/pipeline_internal.h"

#include "core/err.h"

bool vg_step_parse(struct vg_pipeline_worker *w, const char *p, size_t len, struct vg_record *rec, int *reason)
{
	struct vg_json_error jerr;

	w->records++;
	if (vg_json_extract(w->run->st.paths, &w->run->st.limits, p, len, rec, &jerr) != VG_OK) {
		w->rejected++;
		w->by_reason[jerr.reason]++;
		*reason = jerr.reason;
		return false;
	}
	vg_classify(w->ctx, rec);
	return true;
}

int64_t vg_step_add(struct vg_pipeline_worker *w, const struct vg_record *rec, int64_t fallback_ts, int32_t stream)
{
	int64_t ts = VG_TIME_NONE;

	if (vg_wworker_add(w->ww, rec, fallback_ts, stream, &ts) != VG_OK)
		w->err = VG_ERR_NOMEM;
	return ts;
}

void vg_step_line(struct vg_pipeline_worker *w, const char *p, size_t len)
{
	struct vg_record rec;
	int reason;

	if (vg_step_parse(w, p, len, &rec, &reason))
		vg_step_add(w, &rec, VG_TIME_NONE, 0);
}
