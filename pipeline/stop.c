/* vigil: the stop signals and the shutdown watchdog (see stop.h). */
#include "pipeline/stop.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

/* A lock-free atomic is safe to store in a handler, and sem_post is
 * async-signal-safe: a stop request wakes the watchdog from the handler. */
static atomic_int stop_requested;
static sem_t wake;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static atomic_int wake_ready;

/* The watchdog: its thread, bound, and whether it is to end quietly. */
static pthread_t dog;
static bool dog_running;
static int64_t dog_ms;
static atomic_int dog_disarmed;

static void wake_init(void)
{
	sem_init(&wake, 0, 0);
	atomic_store(&wake_ready, 1);
}

static void wake_post(void)
{
	if (atomic_load(&wake_ready))
		sem_post(&wake);
}

static void on_stop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	stop_requested = 1;
	wake_post();
	errno = saved;
}

void vg_stop_catch(void)
{
	struct sigaction sa;

	pthread_once(&wake_once, wake_init);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

bool vg_stop_requested(void)
{
	return atomic_load(&stop_requested) != 0;
}

void vg_stop_request(void)
{
	atomic_store(&stop_requested, 1);
	wake_post();
}

atomic_int *vg_stop_flag(void)
{
	return &stop_requested;
}

static void *dog_main(void *arg)
{
	struct timespec deadline;

	(void)arg;
	/* Until a stop is asked for (or the watchdog is disarmed first). */
	for (;;) {
		if (sem_wait(&wake) != 0)
			continue; /* EINTR */
		if (atomic_load(&dog_disarmed))
			return NULL;
		if (atomic_load(&stop_requested))
			break;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(dog_ms / 1000);
	deadline.tv_nsec += (long)(dog_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* Then the bound: other posts (a second signal) change nothing. */
	for (;;) {
		int r = sem_timedwait(&wake, &deadline);

		if (atomic_load(&dog_disarmed))
			return NULL;
		if (r != 0 && errno == ETIMEDOUT)
			break;
	}
	vg_log_kv(VG_LOG_ERROR, "run", "graceful stop took longer than the shutdown timeout; exiting",
	          VG_LOG_I("timeout_ms", dog_ms));
	_exit(VG_EXIT_IO);
	return NULL;
}

int vg_stop_watchdog_arm(int64_t timeout_ms)
{
	pthread_once(&wake_once, wake_init);
	if (dog_running)
		return VG_OK;
	dog_ms = timeout_ms;
	atomic_store(&dog_disarmed, 0);
	if (pthread_create(&dog, NULL, dog_main, NULL) != 0)
		return VG_ERR_NOMEM;
	dog_running = true;
	if (vg_stop_requested())
		wake_post(); /* asked before the semaphore could say it */
	return VG_OK;
}

void vg_stop_watchdog_disarm(void)
{
	if (!dog_running)
		return;
	atomic_store(&dog_disarmed, 1);
	wake_post();
	pthread_join(dog, NULL);
	dog_running = false;
}
