/* Several threads, each blocked in a different way, all counting on after the dump. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define N_THREADS 4

static atomic_long counters[N_THREADS];
static atomic_int stop;

static void *worker(void *arg)
{
	long i = (long)arg;
	struct timespec ts = {0, 1000000};

	while (!atomic_load(&stop)) {
		atomic_fetch_add(&counters[i], 1);
		if (i % 2)
			nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	pthread_t threads[N_THREADS];
	long before[N_THREADS];
	struct timespec ts = {0, 50000000};
	sigset_t usr1;

	/* Workers inherit a mask blocking SIGUSR1, so the driver's signal reaches the main
	 * thread waiting in sigsuspend rather than a worker. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	for (long i = 0; i < N_THREADS; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)i))
			scenario_skip("pthread_create");

	scenario_ready();
	scenario_wait();

	for (int i = 0; i < N_THREADS; i++)
		before[i] = atomic_load(&counters[i]);
	/* Every thread must count on; wait for each with a generous bound, since a loaded host
	 * (or an emulated CPU) may not schedule a thread for a while. */
	for (int i = 0; i < N_THREADS; i++) {
		for (int waited = 0; atomic_load(&counters[i]) == before[i]; waited++) {
			scenario_check(waited < 600, "thread %d stopped counting", i);
			nanosleep(&ts, NULL);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(threads[i], NULL);
	scenario_pass();
}
