/* vigil: the parse + classify stage, assembled from a configuration.
 *
 * Everything one thread needs to turn a line into a classified record: the
 * configuration, the compiled field paths (parse/json.h), the classifier
 * (parse/classify.h), one classify context and the parser's limits. The
 * commands, the benchmarks, the fuzz target and the tests all build it
 * here, so they parse and classify alike.
 *
 * A vg_stage is a small value type owned by its caller. paths, classifier
 * and cfg are read-only once open and may be shared by threads; ctx belongs
 * to the thread that opened the stage (another thread makes its own with
 * vg_classify_ctx_create(&ctx, st->classifier)). */
#ifndef VG_STAGE_H
#define VG_STAGE_H

#include <stddef.h>

#include "core/config.h"
#include "parse/classify.h"
#include "parse/json.h"

struct vg_stage {
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *classifier;
	struct vg_classify_ctx *ctx;
	struct vg_json_limits limits;
};

/* Build the stage on cfg, which the stage then owns (freed by
 * vg_stage_close, also on failure). Returns 0, or an error with a sentence
 * in errbuf (VG_ERR_CONFIG: a field path or classify rule is wrong;
 * VG_ERR_NOMEM). On failure *st is all zero. */
int vg_stage_open(struct vg_stage *st, struct vg_config *cfg, char *errbuf, size_t errlen);

/* vg_config_load(path) (NULL: the defaults), then vg_stage_open on it.
 * Same returns; VG_ERR_IO when the file cannot be read. */
int vg_stage_load(struct vg_stage *st, const char *config_path, char *errbuf, size_t errlen);

/* Free what the stage holds; a zeroed or closed stage is a no-op. */
void vg_stage_close(struct vg_stage *st);

#endif
