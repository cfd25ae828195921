/* Interval timers and POSIX timers, each checked after the restore by what it does:
 *   - a child with alarm(2): one SIGALRM, never before its time;
 *   - a child whose periodic ITIMER_REAL expired while SIGALRM was blocked (it reads "0 left"
 *     until the signal is taken): still periodic after the restore;
 *   - ITIMER_REAL periodic (200 ms): same period, keeps firing;
 *   - ITIMER_VIRTUAL and ITIMER_PROF, partly used up before the dump (CPU time): the time left
 *     comes back, not the time first set, and they fire while the check burns CPU;
 *   - POSIX timers, ids with gaps (timers made and deleted in between):
 *       a CLOCK_REALTIME absolute one-shot: fires once, never before its deadline, which the
 *       restore keeps on the wall clock;
 *       a CLOCK_MONOTONIC periodic (100 ms), a CLOCK_BOOTTIME one-shot, a CPU-time periodic;
 *       a SIGEV_THREAD_ID periodic aimed at a second thread: its signals reach that thread;
 *       a SIGEV_NONE one-shot read with timer_gettime;
 *       a disarmed one, armed by the check;
 *       a periodic one whose signal is blocked and pending at the dump: pending once after
 *       the restore (queued by the timer itself, so not twice), then it goes on and counts
 *       the expiries its signal waits through as overruns (si_overrun, timer_getoverrun);
 *     every signal carries SI_TIMER, its timer's id and its sigev_value, and /proc/self/timers
 *     lists the same timers.
 * The case thread-clock (a CLOCK_THREAD_CPUTIME_ID timer in a process of two threads) must be
 * refused by the dump: the kernel does not show which thread such a timer measures. The case
 * high-id holds a timer with id 70000 (made through PR_TIMER_CREATE_RESTORE_IDS where the
 * kernel has it), which a restore without that prctl cannot reach in time. The case overrun
 * (a periodic timer whose last signal was taken with an overrun count, which no call sets
 * again) must be refused by the dump. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define MS		 1000000LL
#define NSEC		 1000000000LL
#define WAIT_ROUNDS	 1000 /* of 10 ms: a hang guard, not a timing assertion */
#define HIGH_ID		 70000
#define PR_RESTORE_IDS	 77 /* PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15+ */
#define DEADLINE_SLACK	 (200 * MS)
#define ALARM_SECONDS	 2
#define ITIMER_REAL_MS	 200
#define VIRTUAL_FIRST_MS 100
#define PROF_FIRST_MS	 150
#define CPU_USED_MS	 50

enum { T_REALTIME, T_MONO, T_BOOT, T_CPU, T_THREAD, T_NONE, T_DISARMED, T_BLOCKED, N_TIMERS };

struct ptimer {
	const char *name;
	clockid_t clock;
	int notify;
	int sig_offset;	  /* signal SIGRTMIN + this */
	int64_t value_ms; /* first expiry (absolute for T_REALTIME: from now on the clock) */
	int64_t interval_ms;
	/* set up */
	int signo;
	timer_t id;
	intptr_t sigval;
	struct timespec armed_at, deadline; /* on its clock */
	struct itimerspec at_ready;	    /* timer_gettime() right before scenario_ready() */
	/* seen by the handler */
	atomic_int hits, bad_code, bad_id, bad_value, bad_thread;
	struct timespec first_hit;
};

static struct ptimer timers[N_TIMERS] = {
    [T_REALTIME] = {"CLOCK_REALTIME absolute", CLOCK_REALTIME, SIGEV_SIGNAL, 0, 2500, 0},
    [T_MONO] = {"CLOCK_MONOTONIC periodic", CLOCK_MONOTONIC, SIGEV_SIGNAL, 1, 100, 100},
    [T_BOOT] = {"CLOCK_BOOTTIME one-shot", CLOCK_BOOTTIME, SIGEV_SIGNAL, 2, 1500, 0},
    [T_CPU] = {"CPU-time periodic", CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, 3, 40, 40},
    [T_THREAD] = {"SIGEV_THREAD_ID periodic", CLOCK_MONOTONIC, SIGEV_THREAD_ID, 4, 150, 150},
    [T_NONE] = {"SIGEV_NONE one-shot", CLOCK_MONOTONIC, SIGEV_NONE, 0, 3600 * 1000, 0},
    [T_DISARMED] = {"disarmed", CLOCK_MONOTONIC, SIGEV_SIGNAL, 5, 0, 0},
    [T_BLOCKED] = {"blocked periodic", CLOCK_MONOTONIC, SIGEV_SIGNAL, 6, 20, 100},
};

static atomic_int alrm_hits, vtalrm_hits, prof_hits;
static pid_t second_tid;

/* A child with timers of its own: it says it is ready, waits for the command to check itself,
 * and exits with first_code + i for why[i] (0 when all is well). */
struct helper_child {
	const char *name;
	pid_t pid;
	int cmd[2], ready[2];
	int first_code;
	const char *const *why;
	int n_why;
};

static struct helper_child alarm_child = {
    .name = "alarm child",
    .first_code = 10,
    .why = (const char *const[]){"no command", "no SIGALRM", "two SIGALRMs",
				 "SIGALRM before its time", "alarm still armed"},
    .n_why = 5,
};
static struct helper_child expired_child = {
    .name = "expired-ITIMER_REAL child",
    .first_code = 20,
    .why = (const char *const[]){"no command", "its ITIMER_REAL never expired",
				 "its ITIMER_REAL is no longer periodic",
				 "its ITIMER_REAL stopped after the pending SIGALRM"},
    .n_why = 4,
};

/* In the child: tells it is ready and waits for the command. */
static bool helper_ready(struct helper_child *h)
{
	char c = 0;

	return write(h->ready[1], &c, 1) == 1 && read(h->cmd[0], &c, 1) == 1;
}

static void start_helper(struct helper_child *h, void (*child_main)(void))
{
	char c;

	if (pipe(h->cmd) < 0 || pipe(h->ready) < 0)
		scenario_skip("pipe: %m");
	h->pid = fork();
	if (h->pid < 0)
		scenario_skip("fork: %m");
	if (h->pid == 0)
		child_main();
	if (read(h->ready[0], &c, 1) != 1)
		scenario_skip("the %s did not start", h->name);
}

static void check_helper(struct helper_child *h)
{
	int status = 0, code;
	char c = 1;

	scenario_check(write(h->cmd[1], &c, 1) == 1, "cannot command the %s: %m", h->name);
	scenario_check(waitpid(h->pid, &status, 0) == h->pid, "waitpid(%s): %m", h->name);
	h->pid = 0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) - h->first_code : -1;
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s (%#x)", h->name,
		       code >= 0 && code < h->n_why ? h->why[code] : "died", status);
}

static int64_t ns_of(const struct timespec *t)
{
	return t->tv_sec * NSEC + t->tv_nsec;
}

static int64_t now_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return ns_of(&t);
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / NSEC, .tv_nsec = ns % NSEC};
}

static struct ptimer *timer_of_signal(int sig)
{
	for (int i = 0; i < N_TIMERS; i++)
		if (timers[i].notify != SIGEV_NONE && timers[i].signo == sig)
			return &timers[i];
	return NULL;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	struct ptimer *t = timer_of_signal(sig);

	(void)uc;
	if (!t)
		return;
	if (atomic_fetch_add(&t->hits, 1) == 0)
		clock_gettime(t->clock == CLOCK_PROCESS_CPUTIME_ID ? CLOCK_MONOTONIC : t->clock,
			      &t->first_hit);
	if (si->si_code != SI_TIMER)
		atomic_fetch_add(&t->bad_code, 1);
	if (si->si_timerid != (int)(intptr_t)t->id)
		atomic_fetch_add(&t->bad_id, 1);
	if ((intptr_t)si->si_value.sival_ptr != t->sigval)
		atomic_fetch_add(&t->bad_value, 1);
	if (t->notify == SIGEV_THREAD_ID && syscall(SYS_gettid) != second_tid)
		atomic_fetch_add(&t->bad_thread, 1);
}

static void on_itimer(int sig)
{
	atomic_fetch_add(sig == SIGALRM	    ? &alrm_hits
			 : sig == SIGVTALRM ? &vtalrm_hits
					    : &prof_hits,
			 1);
}

static void sleep_ms(int ms)
{
	struct timespec t = {0, ms * MS};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Burns CPU time in this thread until ms of it have passed. */
static void burn_cpu_ms(int ms)
{
	int64_t until = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * MS;
	volatile uint64_t x = 0;

	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i;
	(void)x;
}

/* ---- the child: alarm(2) -------------------------------------------------------------------- */

static volatile sig_atomic_t child_alarms;
static struct timespec child_alarm_at;

static void child_on_alarm(int sig)
{
	(void)sig;
	if (child_alarms++ == 0)
		clock_gettime(CLOCK_MONOTONIC, &child_alarm_at);
}

/* Exit statuses: 0 fine, 10 no command, 11 no alarm, 12 two alarms, 13 early, 14 armed still. */
static __attribute__((noreturn)) void child_main(void)
{
	struct sigaction sa = {.sa_handler = child_on_alarm, .sa_flags = SA_RESTART};
	int64_t set_at = now_ns(CLOCK_MONOTONIC);

	sigaction(SIGALRM, &sa, NULL);
	alarm(ALARM_SECONDS);
	if (!helper_ready(&alarm_child))
		_exit(10);
	for (int i = 0; i < WAIT_ROUNDS && !child_alarms; i++)
		sleep_ms(10);
	sleep_ms(50); /* a second one would come now */
	if (!child_alarms)
		_exit(11);
	if (child_alarms > 1)
		_exit(12);
	if (ns_of(&child_alarm_at) < set_at + ALARM_SECONDS * NSEC)
		_exit(13);
	if (alarm(0) != 0)
		_exit(14);
	_exit(0);
}

static void kill_child(void)
{
	if (alarm_child.pid > 0)
		kill(alarm_child.pid, SIGKILL);
	if (expired_child.pid > 0)
		kill(expired_child.pid, SIGKILL);
}

/* ---- the second child: a periodic ITIMER_REAL expired under a blocked SIGALRM ---------------- */

/* The timer reads "0 left" until its SIGALRM is taken, when the kernel arms it again: restore must
 * not take that for a disarmed timer. */
static volatile sig_atomic_t expired_alarms;

static void expired_on_alarm(int sig)
{
	(void)sig;
	expired_alarms++;
}

/* Exit statuses: 0 fine, 20 no command, 21 never expired, 22 no longer periodic, 23 stopped. */
static __attribute__((noreturn)) void expired_child_main(void)
{
	struct sigaction sa = {.sa_handler = expired_on_alarm, .sa_flags = SA_RESTART};
	struct itimerval period = {{0, 50000}, {0, 50000}}, got;
	sigset_t alrm;

	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	setitimer(ITIMER_REAL, &period, NULL);
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		getitimer(ITIMER_REAL, &got);
		if (!got.it_value.tv_sec && !got.it_value.tv_usec)
			break;
		sleep_ms(10);
	}
	if (got.it_value.tv_sec || got.it_value.tv_usec)
		_exit(21);
	if (!helper_ready(&expired_child))
		_exit(20);
	getitimer(ITIMER_REAL, &got);
	if (got.it_interval.tv_sec || got.it_interval.tv_usec != 50000)
		_exit(22);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL); /* the pending one, then one every 50 ms */
	for (int i = 0; i < WAIT_ROUNDS && expired_alarms < 3; i++)
		sleep_ms(10);
	_exit(expired_alarms >= 3 ? 0 : 23);
}

/* ---- the second thread, target of the SIGEV_THREAD_ID timer ---------------------------------- */

static pthread_mutex_t tid_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tid_known = PTHREAD_COND_INITIALIZER;

static void *second_thread(void *arg)
{
	sigset_t only_its;

	(void)arg;
	pthread_mutex_lock(&tid_lock);
	second_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&tid_known);
	pthread_mutex_unlock(&tid_lock);
	/* it takes its own timer's signal and nothing else */
	sigfillset(&only_its);
	sigdelset(&only_its, timers[T_THREAD].signo);
	for (;;)
		sigsuspend(&only_its);
	return NULL;
}

/* ---- set up ---------------------------------------------------------------------------------- */

static void make_timer(struct ptimer *t)
{
	struct sigevent sev = {0};

	t->signo = SIGRTMIN + t->sig_offset;
	t->sigval = 0x1000 + (t - timers) * 0x111;
	sev.sigev_notify = t->notify;
	sev.sigev_signo = t->signo;
	sev.sigev_value.sival_ptr = (void *)t->sigval;
	if (t->notify == SIGEV_THREAD_ID)
		sev._sigev_un._tid = second_tid;
	if (timer_create(t->clock, &sev, &t->id) < 0)
		scenario_skip("timer_create(%s): %m", t->name);
}

static void arm_timer(struct ptimer *t)
{
	struct itimerspec its = {.it_interval = ts_of(t->interval_ms * MS)};
	int flags = 0;

	clock_gettime(t->clock, &t->armed_at);
	t->deadline = ts_of(ns_of(&t->armed_at) + t->value_ms * MS);
	its.it_value = ts_of(t->value_ms * MS);
	if (t->clock == CLOCK_REALTIME) {
		its.it_value = t->deadline;
		flags = TIMER_ABSTIME;
	}
	if (t->value_ms && timer_settime(t->id, flags, &its, NULL) < 0)
		scenario_skip("timer_settime(%s): %m", t->name);
}

/* A timer made and deleted: the next id skips its id. */
static void waste_an_id(void)
{
	timer_t id;

	if (timer_create(CLOCK_MONOTONIC, NULL, &id) < 0 || timer_delete(id) < 0)
		scenario_skip("timer_create: %m");
}

static void set_itimer(int which, int64_t first_ms, int64_t every_ms)
{
	struct itimerval v = {
	    .it_interval = {every_ms / 1000, (every_ms % 1000) * 1000},
	    .it_value = {first_ms / 1000, (first_ms % 1000) * 1000},
	};

	if (setitimer(which, &v, NULL) < 0)
		scenario_skip("setitimer(%d): %m", which);
}

/* What each timer has left when the dump may come: afterwards, a one-shot can only have less. */
static void note_ready(void)
{
	for (int i = 0; i < N_TIMERS; i++)
		if (timer_gettime(timers[i].id, &timers[i].at_ready) < 0)
			scenario_skip("timer_gettime(%s): %m", timers[i].name);
}

static void set_up(void)
{
	struct sigaction sa = {.sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction isa = {.sa_handler = on_itimer, .sa_flags = SA_RESTART};
	pthread_t thread;
	sigset_t block;

	start_helper(&alarm_child, child_main);
	start_helper(&expired_child, expired_child_main);
	for (int i = 0; i < N_TIMERS; i++)
		if (timers[i].notify != SIGEV_NONE)
			sigaction(SIGRTMIN + timers[i].sig_offset, &sa, NULL);
	sigaction(SIGALRM, &isa, NULL);
	sigaction(SIGVTALRM, &isa, NULL);
	sigaction(SIGPROF, &isa, NULL);
	/* the blocked timer's signal stays pending; the thread timer's goes to its thread only */
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN + timers[T_BLOCKED].sig_offset);
	sigaddset(&block, SIGRTMIN + timers[T_THREAD].sig_offset);
	sigprocmask(SIG_BLOCK, &block, NULL);
	timers[T_THREAD].signo = SIGRTMIN + timers[T_THREAD].sig_offset;
	if (pthread_create(&thread, NULL, second_thread, NULL) != 0)
		scenario_skip("pthread_create failed");
	pthread_mutex_lock(&tid_lock);
	while (!second_tid)
		pthread_cond_wait(&tid_known, &tid_lock);
	pthread_mutex_unlock(&tid_lock);

	for (int i = 0; i < N_TIMERS; i++) {
		make_timer(&timers[i]);
		if (i % 2)
			waste_an_id();
	}
	for (int i = 0; i < N_TIMERS; i++)
		arm_timer(&timers[i]);
	set_itimer(ITIMER_REAL, ITIMER_REAL_MS, ITIMER_REAL_MS);
	set_itimer(ITIMER_VIRTUAL, VIRTUAL_FIRST_MS, 50);
	set_itimer(ITIMER_PROF, PROF_FIRST_MS, 70);
	/* some of the CPU-time timers is used up before the dump: the rest must come back */
	burn_cpu_ms(CPU_USED_MS);
	/* the blocked timer has fired: its signal is pending when the dump comes */
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		sigset_t pending;

		sigpending(&pending);
		if (sigismember(&pending, timers[T_BLOCKED].signo)) {
			note_ready();
			return;
		}
		sleep_ms(10);
	}
	scenario_skip("the blocked timer's signal never became pending");
}

/* ---- checks ---------------------------------------------------------------------------------- */

static struct itimerspec gettime(const struct ptimer *t)
{
	struct itimerspec its;

	scenario_check(timer_gettime(t->id, &its) == 0, "%s: timer %d is gone: %m", t->name,
		       (int)(intptr_t)t->id);
	return its;
}

/* /proc/self/timers lists exactly our timers: ids, signals, values, clocks. */
static void check_proc_timers(void)
{
	FILE *f = fopen("/proc/self/timers", "re");
	char line[256];
	int n = 0, id = -1;

	scenario_check(f != NULL, "cannot open /proc/self/timers: %m");
	while (fgets(line, sizeof(line), f)) {
		const struct ptimer *t = NULL;
		int signo, clock;
		unsigned long long value;

		if (sscanf(line, "ID: %d", &id) == 1) {
			n++;
			continue;
		}
		for (int i = 0; i < N_TIMERS; i++)
			if ((int)(intptr_t)timers[i].id == id)
				t = &timers[i];
		scenario_check(t != NULL, "/proc/self/timers lists timer %d, which is not ours",
			       id);
		if (sscanf(line, "signal: %d/%llx", &signo, &value) == 2)
			scenario_check((t->notify == SIGEV_NONE || signo == t->signo) &&
					   (intptr_t)value == t->sigval,
				       "%s: /proc shows signal %d value %#llx", t->name, signo,
				       value);
		/* CLOCK_PROCESS_CPUTIME_ID shows as the CPU clock it becomes */
		if (sscanf(line, "ClockID: %d", &clock) == 1 &&
		    t->clock != CLOCK_PROCESS_CPUTIME_ID)
			scenario_check(clock == t->clock, "%s: /proc shows clock %d", t->name,
				       clock);
	}
	fclose(f);
	scenario_check(n == N_TIMERS, "/proc/self/timers lists %d timers, not %d", n, N_TIMERS);
}

static void check_signals_of(const struct ptimer *t)
{
	scenario_check(!t->bad_code && !t->bad_id && !t->bad_value && !t->bad_thread,
		       "%s: signals with another si_code (%d), timer id (%d), si_value (%d) or "
		       "thread (%d)",
		       t->name, t->bad_code, t->bad_id, t->bad_value, t->bad_thread);
}

/* Waits until t (or the counter) has hit `more` more times than it had. */
static bool wait_hits(atomic_int *hits, int more, bool burn)
{
	int want = atomic_load(hits) + more;

	for (int i = 0; i < WAIT_ROUNDS && atomic_load(hits) < want; i++) {
		if (burn)
			burn_cpu_ms(10);
		else
			sleep_ms(10);
	}
	return atomic_load(hits) >= want;
}

static void check_periodic(struct ptimer *t)
{
	struct itimerspec its = gettime(t);

	scenario_check(ns_of(&its.it_interval) == t->interval_ms * MS,
		       "%s: period %lld ns, expected %lld ms", t->name,
		       (long long)ns_of(&its.it_interval), (long long)t->interval_ms);
	scenario_check(ns_of(&its.it_value) > 0 && ns_of(&its.it_value) <= t->interval_ms * MS,
		       "%s: %lld ns left of a %lld ms period", t->name,
		       (long long)ns_of(&its.it_value), (long long)t->interval_ms);
	scenario_check(wait_hits(&t->hits, 3, t->clock == CLOCK_PROCESS_CPUTIME_ID),
		       "%s: stopped firing (%d signals)", t->name, atomic_load(&t->hits));
	check_signals_of(t);
}

/* One-shot: it fires exactly once, and never before its expiry (time that passes between
 * dump and restore can only make it later). */
static void check_one_shot(struct ptimer *t)
{
	scenario_check(wait_hits(&t->hits, atomic_load(&t->hits) ? 0 : 1, false), "%s: never fired",
		       t->name);
	sleep_ms(20);
	scenario_check(atomic_load(&t->hits) == 1, "%s: fired %d times", t->name,
		       atomic_load(&t->hits));
	scenario_check(ns_of(&t->first_hit) >= ns_of(&t->deadline),
		       "%s: fired %lld ns before its expiry", t->name,
		       (long long)(ns_of(&t->deadline) - ns_of(&t->first_hit)));
	check_signals_of(t);
}

/* The wall-clock deadline is kept: what is left reads as that deadline. */
static void check_realtime_deadline(struct ptimer *t)
{
	struct itimerspec its = gettime(t);
	int64_t now = now_ns(CLOCK_REALTIME), left = ns_of(&its.it_value);

	if (atomic_load(&t->hits) || !left)
		return;
	scenario_check(llabs(now + left - ns_of(&t->deadline)) < DEADLINE_SLACK,
		       "%s: expires %lld ms away from its deadline", t->name,
		       (long long)((now + left - ns_of(&t->deadline)) / MS));
}

static void check_none(struct ptimer *t)
{
	struct itimerspec its = gettime(t);
	int64_t left = ns_of(&its.it_value);

	scenario_check(
	    left > 0 && left <= ns_of(&t->at_ready.it_value) && left > (t->value_ms - 600000) * MS,
	    "%s: %lld ms left of %lld (%lld at the dump)", t->name, (long long)(left / MS),
	    (long long)t->value_ms, (long long)(ns_of(&t->at_ready.it_value) / MS));
	scenario_check(!its.it_interval.tv_sec && !its.it_interval.tv_nsec, "%s: has a period",
		       t->name);
}

static void check_disarmed(struct ptimer *t)
{
	struct itimerspec its = gettime(t);
	struct itimerspec once = {.it_value = {0, 10 * MS}};

	scenario_check(!ns_of(&its.it_value) && !ns_of(&its.it_interval), "%s: armed (%lld ns)",
		       t->name, (long long)ns_of(&its.it_value));
	scenario_check(timer_settime(t->id, 0, &once, NULL) == 0, "%s: cannot arm: %m", t->name);
	scenario_check(wait_hits(&t->hits, 1, false), "%s: armed, it never fired", t->name);
	check_signals_of(t);
}

/* Pending once, as the timer queued it; taken, the timer goes on and queues the next. */
static void check_blocked(struct ptimer *t)
{
	struct timespec zero = {0, 0};
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, t->signo);
	scenario_check(sigtimedwait(&set, &si, &zero) == t->signo, "%s: its signal is not pending",
		       t->name);
	scenario_check(si.si_code == SI_TIMER && si.si_timerid == (int)(intptr_t)t->id &&
			   (intptr_t)si.si_value.sival_ptr == t->sigval,
		       "%s: pending signal with code %d, timer %d, value %p", t->name, si.si_code,
		       si.si_timerid, si.si_value.sival_ptr);
	scenario_check(sigtimedwait(&set, &si, &zero) < 0,
		       "%s: its signal was pending twice (queued again besides its timer)",
		       t->name);
	/* its next signal waits, blocked, through a few more expiries: overruns */
	sleep_ms((int)(t->interval_ms * 7 / 2));
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		struct timespec ten = {0, 10 * MS};

		if (sigtimedwait(&set, &si, &ten) == t->signo) {
			int overrun = timer_getoverrun(t->id);

			scenario_check(
			    si.si_overrun >= 1 && overrun == si.si_overrun,
			    "%s: si_overrun %d, timer_getoverrun %d after %lld ms blocked", t->name,
			    si.si_overrun, overrun, (long long)(t->interval_ms * 7 / 2));
			return;
		}
	}
	scenario_fail("%s: no signal after the pending one was taken", t->name);
}

static void check_itimers(void)
{
	struct itimerval real, virt, prof;

	getitimer(ITIMER_REAL, &real);
	getitimer(ITIMER_VIRTUAL, &virt);
	getitimer(ITIMER_PROF, &prof);
	scenario_check(real.it_interval.tv_sec == 0 &&
			   real.it_interval.tv_usec == ITIMER_REAL_MS * 1000 &&
			   (real.it_value.tv_sec || real.it_value.tv_usec),
		       "ITIMER_REAL: %ld.%06ld s left, every %ld.%06ld s", real.it_value.tv_sec,
		       real.it_value.tv_usec, real.it_interval.tv_sec, real.it_interval.tv_usec);
	/* the set up used CPU_USED_MS, some of it user time (the kernel samples the split at its
	 * ticks): what is left of each is well below the first value, not that value again (or,
	 * had it fired, within a period) */
	scenario_check(virt.it_interval.tv_usec == 50000 && virt.it_value.tv_sec == 0 &&
			   virt.it_value.tv_usec > 0 &&
			   virt.it_value.tv_usec <= (VIRTUAL_FIRST_MS - 15) * 1000,
		       "ITIMER_VIRTUAL: %ld us left, every %ld us", virt.it_value.tv_usec,
		       virt.it_interval.tv_usec);
	scenario_check(prof.it_interval.tv_usec == 70000 && prof.it_value.tv_sec == 0 &&
			   prof.it_value.tv_usec > 0 &&
			   prof.it_value.tv_usec <= (PROF_FIRST_MS - CPU_USED_MS + 15) * 1000,
		       "ITIMER_PROF: %ld us left, every %ld us", prof.it_value.tv_usec,
		       prof.it_interval.tv_usec);
	scenario_check(wait_hits(&alrm_hits, 3, false), "ITIMER_REAL stopped firing");
	scenario_check(wait_hits(&vtalrm_hits, 3, true), "ITIMER_VIRTUAL never fired");
	scenario_check(wait_hits(&prof_hits, 3, true), "ITIMER_PROF never fired");
}

/* ---- refused and high-id cases -----------------------------------------------------------------
 */

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void thread_clock_case(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	pthread_t thread;
	timer_t id;

	if (pthread_create(&thread, NULL, idle_thread, NULL) != 0)
		scenario_skip("pthread_create failed");
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, NULL, &id) < 0 ||
	    timer_settime(id, 0, &its, NULL) < 0)
		scenario_skip("timer_create(CLOCK_THREAD_CPUTIME_ID): %m");
	scenario_ready();
	scenario_wait();
	scenario_check(timer_gettime(id, &its) == 0 && its.it_value.tv_sec > 3000,
		       "the thread CPU-time timer changed");
	scenario_pass();
}

/* A periodic timer's signal taken after it waited through expiries: timer_getoverrun() says
 * how many until the next one is taken, and no call can make a restored timer say it. */
static void overrun_case(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	struct itimerspec fast = {.it_value = {0, MS}, .it_interval = {0, MS}};
	int overrun;
	sigset_t block;
	siginfo_t si;
	timer_t id;

	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (timer_create(CLOCK_MONOTONIC, &sev, &id) < 0 || timer_settime(id, 0, &fast, NULL) < 0)
		scenario_skip("timer_create: %m");
	sleep_ms(30);
	if (sigwaitinfo(&block, &si) != SIGRTMIN || si.si_overrun < 1)
		scenario_skip("no overrun after 30 ms of a 1 ms timer");
	/* its next signal stays pending (blocked): the count stays until it is taken */
	overrun = timer_getoverrun(id);
	if (overrun < 1)
		scenario_skip("timer_getoverrun: %d", overrun);
	scenario_ready();
	scenario_wait();
	scenario_check(timer_getoverrun(id) >= overrun, "the overrun count went from %d to %d",
		       overrun, timer_getoverrun(id));
	scenario_pass();
}

static void high_id_case(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	struct itimerspec its = {.it_value = {3600, 0}};
	int id = HIGH_ID;
	timer_t t;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (prctl(PR_RESTORE_IDS, 1, 0, 0, 0) == 0) {
		if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) < 0)
			scenario_skip("timer_create(id %d): %m", HIGH_ID);
		prctl(PR_RESTORE_IDS, 0, 0, 0, 0);
	} else {
		for (id = -1; id < HIGH_ID;) {
			if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) < 0)
				scenario_skip("timer_create: %m");
			if (id < HIGH_ID)
				syscall(SYS_timer_delete, id);
		}
	}
	t = (timer_t)(intptr_t)id;
	if (id != HIGH_ID || timer_settime(t, 0, &its, NULL) < 0)
		scenario_skip("no timer with id %d", HIGH_ID);
	scenario_ready();
	scenario_wait();
	scenario_check(timer_gettime(t, &its) == 0 && its.it_value.tv_sec > 3000,
		       "timer %d is gone or changed", HIGH_ID);
	scenario_pass();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "thread-clock"))
		thread_clock_case();
	if (argc > 1 && !strcmp(argv[1], "high-id"))
		high_id_case();
	if (argc > 1 && !strcmp(argv[1], "overrun"))
		overrun_case();
	if (argc > 1)
		scenario_skip("no case '%s'", argv[1]);
	atexit(kill_child);
	set_up();
	scenario_ready();
	scenario_wait();

	check_proc_timers();
	check_itimers();
	check_realtime_deadline(&timers[T_REALTIME]);
	check_blocked(&timers[T_BLOCKED]);
	check_periodic(&timers[T_MONO]);
	check_periodic(&timers[T_THREAD]);
	check_periodic(&timers[T_CPU]);
	check_none(&timers[T_NONE]);
	check_disarmed(&timers[T_DISARMED]);
	check_one_shot(&timers[T_BOOT]);
	check_one_shot(&timers[T_REALTIME]);
	check_helper(&alarm_child);
	check_helper(&expired_child);
	scenario_pass();
}
