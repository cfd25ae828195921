/* syscall.h: raw x86_64 system calls for freestanding parasite code. Each returns the kernel's
 * value: >= 0, or -errno (the host convention). No libc, no errno variable. */
#pragma once

#include <asm/unistd.h>

static inline long sys_call6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SYS0(nr)	     sys_call6((nr), 0, 0, 0, 0, 0, 0)
#define SYS1(nr, a)	     sys_call6((nr), (long)(a), 0, 0, 0, 0, 0)
#define SYS2(nr, a, b)	     sys_call6((nr), (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(nr, a, b, c)    sys_call6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(nr, a, b, c, d) sys_call6((nr), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(nr, a, b, c, d, e)                                                                    \
	sys_call6((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#define sys_close(fd)		     SYS1(__NR_close, fd)
#define sys_socket(d, t, p)	     SYS3(__NR_socket, d, t, p)
#define sys_connect(fd, a, l)	     SYS3(__NR_connect, fd, a, l)
#define sys_sendmsg(fd, m, f)	     SYS3(__NR_sendmsg, fd, m, f)
#define sys_recvmsg(fd, m, f)	     SYS3(__NR_recvmsg, fd, m, f)
#define sys_fcntl(fd, c, a)	     SYS3(__NR_fcntl, fd, c, a)
#define sys_poll(f, n, t)	     SYS3(__NR_poll, f, n, t)
#define sys_rt_sigaction(s, a, o, n) SYS4(__NR_rt_sigaction, s, a, o, n)
#define sys_sigaltstack(n, o)	     SYS2(__NR_sigaltstack, n, o)
#define sys_prctl(o, a, b, c, d)     SYS5(__NR_prctl, o, a, b, c, d)
#define sys_umask(m)		     SYS1(__NR_umask, m)
#define sys_personality(p)	     SYS1(__NR_personality, p)
#define sys_brk(p)		     SYS1(__NR_brk, p)
#define sys_getpid()		     SYS0(__NR_getpid)
#define sys_gettid()		     SYS0(__NR_gettid)
#define sys_prlimit64(p, r, n, o)    SYS4(__NR_prlimit64, p, r, n, o)
#define sys_rt_sigprocmask(h, n, o, s) SYS4(__NR_rt_sigprocmask, h, n, o, s)
#define sys_tgkill(p, t, s)	       SYS3(__NR_tgkill, p, t, s)
#define sys_munmap(a, l)	       SYS2(__NR_munmap, a, l)
#define sys_mmap(a, l, p, f, fd, o)                                                                \
	sys_call6(__NR_mmap, (long)(a), (long)(l), (long)(p), (long)(f), (long)(fd), (long)(o))
#define sys_getitimer(w, v)	       SYS2(__NR_getitimer, w, v)
#define sys_madvise(a, l, adv)	       SYS3(__NR_madvise, a, l, adv)
#define sys_mincore(a, l, vec)	       SYS3(__NR_mincore, a, l, vec)
