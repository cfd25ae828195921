/* mem-dump.h: dump the address space of one seized, stopped process: mm-<pid>.img (mm fields,
 * auxv, exe, every VMA with its smaps VmFlags), pagemap-<pid>.img and pages-<pid>.img (the
 * pages pagemap says the image must keep, read from /proc/PID/mem). It never writes to the task. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Dumps the memory of process pid (every thread stopped; no parasite mapped any more). brk is
 * the task's brk(0). Refuses (one error line naming pid, the mapping and why) what resume cannot
 * rebuild: deleted or SysV-shm mappings, device mappings, a vdso layout other than minicr's
 * (own_special_sizes, from mem_own_special_sizes()).
 * Returns 0 or -errno (logged once). */
int mem_dump(int img_dirfd, pid_t pid, uint64_t brk, const uint64_t own_special_sizes[3]);

/* The sizes of minicr's own [vvar], [vvar_vclock] and [vdso] (a dumped task's must match):
 * read once per dump. Returns 0 or -errno (logged). */
int mem_own_special_sizes(uint64_t sizes[3]);

struct mm_vma;
/* Reads and parses /proc/PID/smaps (pid 0: /proc/self). Returns 0 or -errno (logged). */
int mem_read_vmas(pid_t pid, struct mm_vma **ret_vmas, size_t *ret_n);
