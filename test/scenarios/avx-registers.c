/* Vector registers live across the dump: worker threads sit in an inline-asm loop that keeps a
 * per-thread pattern in zmm16-zmm31 and k1 (AVX-512F; ymm8-ymm15 with plain AVX) and compares
 * the registers with the pattern on every pass. The registers are loaded once, before the loop,
 * so the tasks are frozen, dumped and restored with the pattern only in registers; a register
 * that comes back different is counted as a mismatch from then on. The workers also run with a
 * non-default MXCSR. Pass "--ymm" to force the AVX path on an AVX-512 machine. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scenario.h"

#define N_WORKERS 2
#define N_ZMM	  16 /* zmm16-zmm31 */
#define N_YMM	  8  /* ymm8-ymm15 */
#define K1_BASE	  0xa5c3u
/* Round toward zero, flush-to-zero, denormals-are-zero, all exceptions masked. */
#define WORKER_MXCSR 0xffc0u

struct worker {
	/* Read by the asm loop only: what the registers must hold. */
	uint64_t pattern[N_ZMM * 8] __attribute__((aligned(64)));
	/* Written by the asm loop on a mismatch: the registers as they were. */
	uint64_t seen[N_ZMM * 8] __attribute__((aligned(64)));
	uint32_t k1_expected;
	uint32_t k1_seen;
	volatile uint64_t iterations;
	volatile uint64_t mismatches;
	volatile uint32_t stop;
	uint32_t mxcsr_after;
	pthread_t thread;
};

static struct worker workers[N_WORKERS];
static bool use_zmm;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* One compare of register r against the pattern slot i, or-ed into the accumulator zmm1. */
#define ZMM_CMP(i, r)                                                                              \
	"vpxorq " #i "*64(%[pat]), %%zmm" #r ", %%zmm0\n\t"                                        \
	"vporq %%zmm0, %%zmm1, %%zmm1\n\t"
#define ZMM_LOAD(i, r)	"vmovdqu64 " #i "*64(%[pat]), %%zmm" #r "\n\t"
#define ZMM_STORE(i, r) "vmovdqu64 %%zmm" #r ", " #i "*64(%[seen])\n\t"

__attribute__((target("avx512f"))) static void zmm_loop(struct worker *w)
{
	/* clang-format off */
	asm volatile(ZMM_LOAD(0, 16) ZMM_LOAD(1, 17) ZMM_LOAD(2, 18) ZMM_LOAD(3, 19)
		     ZMM_LOAD(4, 20) ZMM_LOAD(5, 21) ZMM_LOAD(6, 22) ZMM_LOAD(7, 23)
		     ZMM_LOAD(8, 24) ZMM_LOAD(9, 25) ZMM_LOAD(10, 26) ZMM_LOAD(11, 27)
		     ZMM_LOAD(12, 28) ZMM_LOAD(13, 29) ZMM_LOAD(14, 30) ZMM_LOAD(15, 31)
		     "kmovw %[kexp], %%k1\n\t"
		     "1:\n\t"
		     "vpxorq %%zmm1, %%zmm1, %%zmm1\n\t"
		     ZMM_CMP(0, 16) ZMM_CMP(1, 17) ZMM_CMP(2, 18) ZMM_CMP(3, 19)
		     ZMM_CMP(4, 20) ZMM_CMP(5, 21) ZMM_CMP(6, 22) ZMM_CMP(7, 23)
		     ZMM_CMP(8, 24) ZMM_CMP(9, 25) ZMM_CMP(10, 26) ZMM_CMP(11, 27)
		     ZMM_CMP(12, 28) ZMM_CMP(13, 29) ZMM_CMP(14, 30) ZMM_CMP(15, 31)
		     "vptestmq %%zmm1, %%zmm1, %%k2\n\t"
		     "kmovw %%k2, %%eax\n\t"
		     "kmovw %%k1, %%edx\n\t"
		     "xorl %[kexp], %%edx\n\t"
		     "orl %%edx, %%eax\n\t"
		     "jz 2f\n\t"
		     "incq %[bad]\n\t"
		     ZMM_STORE(0, 16) ZMM_STORE(1, 17) ZMM_STORE(2, 18) ZMM_STORE(3, 19)
		     ZMM_STORE(4, 20) ZMM_STORE(5, 21) ZMM_STORE(6, 22) ZMM_STORE(7, 23)
		     ZMM_STORE(8, 24) ZMM_STORE(9, 25) ZMM_STORE(10, 26) ZMM_STORE(11, 27)
		     ZMM_STORE(12, 28) ZMM_STORE(13, 29) ZMM_STORE(14, 30) ZMM_STORE(15, 31)
		     "kmovw %%k1, %[kseen]\n\t"
		     "2:\n\t"
		     "incq %[iter]\n\t"
		     "cmpl $0, %[stop]\n\t"
		     "je 1b\n\t"
		     : [iter] "+m"(w->iterations), [bad] "+m"(w->mismatches),
		       [kseen] "+m"(w->k1_seen)
		     : [pat] "r"(w->pattern), [seen] "r"(w->seen), [kexp] "r"(w->k1_expected),
		       [stop] "m"(w->stop)
		     : "rax", "rdx", "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
		       "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",
		       "xmm29", "xmm30", "xmm31", "k1", "k2", "cc", "memory");
	/* clang-format on */
}

#define YMM_CMP(i, r)                                                                              \
	"vxorps " #i "*32(%[pat]), %%ymm" #r ", %%ymm0\n\t"                                        \
	"vorps %%ymm0, %%ymm1, %%ymm1\n\t"
#define YMM_LOAD(i, r)	"vmovups " #i "*32(%[pat]), %%ymm" #r "\n\t"
#define YMM_STORE(i, r) "vmovups %%ymm" #r ", " #i "*32(%[seen])\n\t"

__attribute__((target("avx"))) static void ymm_loop(struct worker *w)
{
	/* Bitwise float ops need only AVX (not AVX2) and raise no FP exceptions. */
	/* clang-format off */
	asm volatile(YMM_LOAD(0, 8) YMM_LOAD(1, 9) YMM_LOAD(2, 10) YMM_LOAD(3, 11)
		     YMM_LOAD(4, 12) YMM_LOAD(5, 13) YMM_LOAD(6, 14) YMM_LOAD(7, 15)
		     "1:\n\t"
		     "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
		     YMM_CMP(0, 8) YMM_CMP(1, 9) YMM_CMP(2, 10) YMM_CMP(3, 11)
		     YMM_CMP(4, 12) YMM_CMP(5, 13) YMM_CMP(6, 14) YMM_CMP(7, 15)
		     "vptest %%ymm1, %%ymm1\n\t"
		     "jz 2f\n\t"
		     "incq %[bad]\n\t"
		     YMM_STORE(0, 8) YMM_STORE(1, 9) YMM_STORE(2, 10) YMM_STORE(3, 11)
		     YMM_STORE(4, 12) YMM_STORE(5, 13) YMM_STORE(6, 14) YMM_STORE(7, 15)
		     "2:\n\t"
		     "incq %[iter]\n\t"
		     "cmpl $0, %[stop]\n\t"
		     "je 1b\n\t"
		     : [iter] "+m"(w->iterations), [bad] "+m"(w->mismatches)
		     : [pat] "r"(w->pattern), [seen] "r"(w->seen), [stop] "m"(w->stop)
		     : "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15", "cc", "memory");
	/* clang-format on */
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint32_t mxcsr = WORKER_MXCSR;

	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	if (use_zmm)
		zmm_loop(w);
	else
		ymm_loop(w);
	asm volatile("stmxcsr %0" : "=m"(w->mxcsr_after));
	return NULL;
}

/* Waits (bounded) until every worker's counter moves past start[]. */
static bool workers_progress(const uint64_t *start)
{
	struct timespec ts = {0, 1000000};

	for (int tries = 0; tries < 10000; tries++) {
		int n_moved = 0;

		for (int i = 0; i < N_WORKERS; i++)
			n_moved += workers[i].iterations > start[i] + 1000;
		if (n_moved == N_WORKERS)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void report_mismatch(int i)
{
	const struct worker *w = &workers[i];
	int n_regs = use_zmm ? N_ZMM : N_YMM, words = use_zmm ? 8 : 4;

	for (int r = 0; r < n_regs; r++)
		for (int q = 0; q < words; q++)
			if (w->seen[r * words + q] != w->pattern[r * words + q])
				scenario_fail("worker %d: %cmm%d qword %d is %#llx, expected %#llx "
					      "(%llu mismatching passes)",
					      i, use_zmm ? 'z' : 'y', (use_zmm ? 16 : 8) + r, q,
					      (unsigned long long)w->seen[r * words + q],
					      (unsigned long long)w->pattern[r * words + q],
					      (unsigned long long)w->mismatches);
	scenario_fail("worker %d: k1 is %#x, expected %#x (%llu mismatching passes)", i, w->k1_seen,
		      w->k1_expected, (unsigned long long)w->mismatches);
}

int main(int argc, char **argv)
{
	uint64_t start[N_WORKERS] = {0};
	sigset_t usr1;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx"))
		scenario_skip("the CPU has no AVX");
	use_zmm = __builtin_cpu_supports("avx512f") && !(argc > 1 && !strcmp(argv[1], "--ymm"));

	for (int i = 0; i < N_WORKERS; i++) {
		for (int q = 0; q < N_ZMM * 8; q++)
			workers[i].pattern[q] = splitmix64(((uint64_t)i << 32) | (uint64_t)q);
		workers[i].k1_expected = K1_BASE ^ (uint32_t)i * 0x1111u;
	}

	/* Workers inherit a mask blocking SIGUSR1: the driver's signal is for main only. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	for (int i = 0; i < N_WORKERS; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			scenario_skip("pthread_create failed");
	/* The workers must be inside their loops, registers loaded, before the dump. */
	if (!workers_progress(start))
		scenario_fail("the workers never started their loops");

	scenario_ready();
	scenario_wait();

	for (int i = 0; i < N_WORKERS; i++)
		start[i] = workers[i].iterations;
	scenario_check(workers_progress(start), "a worker made no progress after SIGUSR1");
	for (int i = 0; i < N_WORKERS; i++)
		workers[i].stop = 1;
	for (int i = 0; i < N_WORKERS; i++)
		pthread_join(workers[i].thread, NULL);
	for (int i = 0; i < N_WORKERS; i++) {
		if (workers[i].mismatches)
			report_mismatch(i);
		scenario_check(workers[i].mxcsr_after == WORKER_MXCSR,
			       "worker %d: MXCSR is %#x, expected %#x", i, workers[i].mxcsr_after,
			       WORKER_MXCSR);
	}
	scenario_pass();
}
