/* resume.h: the last step of restore for one process: rebuild its address space, registers and
 * threads from core/mm/pagemap/pages images and let it continue where it was frozen. */
#pragma once

#include <sys/types.h>

struct resume_task;

/* Reads and validates the process's core and memory images (in minicr, before anything on the
 * system changes). Returns 0 or -errno (logged, naming the image). */
int resume_task_load(int img_dirfd, pid_t pid, struct resume_task **ret_task);
struct resume_task *resume_task_free(struct resume_task *task);

/* Called inside the restored process itself, after its pid, session, fds, cwd and root are in
 * place: hands over to the restorer blob. Does not return on success; returns -errno (logged). */
int resume_task_enter(struct resume_task *task);

/* Called by minicr (the tracer side) once the process signalled it is about to resume: removes
 * what the restore left in the process and lets it run. Returns 0 or -errno (logged). */
int resume_task_finish(struct resume_task *task, pid_t pid);
