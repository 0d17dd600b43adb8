/* vigil: the stop signals.
 *
 * SIGTERM and SIGINT ask a command to stop gracefully: they set a flag that
 * the pipeline's loops and the demo's producer poll, and blocking calls
 * return EINTR. The flag is the process's one piece of signal state. */
#ifndef VG_STOP_H
#define VG_STOP_H

#include <stdatomic.h>
#include <stdbool.h>

/* Install the handlers; also ignore SIGPIPE (a closed peer is a write
 * error) and SIGXFSZ (a file-size limit is a write error the archive
 * rides out like a full disk). */
void vg_stop_catch(void);

/* Has a stop been asked for? Any thread. */
bool vg_stop_requested(void);

/* Ask for a stop, as the signals do. Any thread. */
void vg_stop_request(void);

/* The flag itself, for loops that take one (vg_kafka_run). */
atomic_int *vg_stop_flag(void);

#endif
