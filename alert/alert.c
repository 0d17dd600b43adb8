/* vigil: alert JSON (see alert.h). */
#include "alert/alert.h"

#include <stdio.h>

#include "core/buf.h"
#include "core/record.h"

void vg_alert_json(const struct vg_alert *al, struct vg_buf *b)
{
	static const char *const states[] = {"pending", "firing", "resolved", "inactive"};
	char fp[20];

	vg_buf_puts(b, "{\"at\":");
	vg_buf_put_json_time(b, al->at);
	vg_buf_puts(b, ",\"alertname\":");
	vg_buf_put_json_str(b, vg_str_cstr(al->name));
	vg_buf_puts(b, ",\"state\":\"");
	vg_buf_puts(b, states[al->state]);
	vg_buf_puts(b, "\",\"severity\":\"");
	vg_buf_puts(b, al->severity);
	vg_buf_puts(b, "\",\"labels\":");
	vg_buf_put_json_object(b, al->label_names, al->label_values, al->n_labels);
	vg_buf_puts(b, ",\"value\":");
	vg_buf_put_double(b, al->value); /* null when not finite */
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)al->fingerprint);
	vg_buf_puts(b, ",\"fingerprint\":\"");
	vg_buf_puts(b, fp);
	vg_buf_puts(b, "\",\"annotations\":");
	vg_buf_put_json_object(b, al->annotation_names, al->annotation_values, al->n_annotations);
	vg_buf_puts(b, ",\"activeAt\":");
	vg_buf_put_json_time(b, al->active_at);
	if (al->fired_at) {
		vg_buf_puts(b, ",\"startsAt\":");
		vg_buf_put_json_time(b, al->fired_at);
	}
	if (al->state == VG_ALERT_RESOLVED) {
		vg_buf_puts(b, ",\"endsAt\":");
		vg_buf_put_json_time(b, al->resolved_at);
	}
	vg_buf_putc(b, '}');
}
