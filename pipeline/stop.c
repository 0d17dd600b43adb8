/* vigil: the stop signals (see stop.h). */
#include "pipeline/stop.h"

#include <signal.h>
#include <string.h>

/* A lock-free atomic is safe to store in a handler. */
static atomic_int stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void vg_stop_catch(void)
{
	struct sigaction sa;

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
}

atomic_int *vg_stop_flag(void)
{
	return &stop_requested;
}
