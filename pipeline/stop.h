/* vigil: the stop signals and the shutdown watchdog.
 *
 * SIGTERM and SIGINT ask a command to stop gracefully: they set a flag that
 * the pipeline's loops and the demo's producer poll, and blocking calls
 * return EINTR. The flag is the process's one piece of signal state; the
 * watchdog, which bounds the stop, is the other. */
#ifndef VG_STOP_H
#define VG_STOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

/* Arm the shutdown watchdog: a thread that, timeout_ms after a stop is
 * asked for (a signal or vg_stop_request, also one asked before this
 * call), logs "graceful stop took longer than the shutdown timeout" and
 * ends the process with _exit(VG_EXIT_IO), whatever the other threads are
 * doing (a start-up phase that does not return, a consumer that does not
 * leave its group). Arm it before anything slow. One per process: arming
 * an armed watchdog does nothing. Returns 0 or VG_ERR_NOMEM (no thread). */
int vg_stop_watchdog_arm(int64_t timeout_ms);

/* The stop finished in time (or none was asked for): end the watchdog's
 * thread and join it. Not armed: a no-op. Call it from the thread that
 * armed it. */
void vg_stop_watchdog_disarm(void);

#endif
