/* shm-registry.h: the shared memory of a restored tree (MAP_SHARED anonymous and memfd
 * mappings): one object per dumped identity for the whole tree, created and filled in minicr,
 * reached by each restored task through the fd it inherited or through /proc/<minicr>/fd. The
 * registry is a value of the restore, not process-global state. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "mm.pb-c.h"

struct shm_registry;

struct shm_registry *shm_registry_new(void); /* NULL on ENOMEM */
/* Closes every object's fd in minicr. NULL-safe, returns NULL. */
struct shm_registry *shm_registry_free(struct shm_registry *reg);

/* In minicr: the object of shared mapping v (of a validated image: v->shmid set, a memfd's
 * path "/memfd:NAME"), created or grown to hold it. Returns 0 and sets *ret_idx, or -errno
 * (logged). */
int shm_registry_get(struct shm_registry *reg, const VmaEntry *v, int *ret_idx);

/* The index of the object of identity shmid, or -ENOENT. */
int shm_registry_find(const struct shm_registry *reg, uint64_t shmid);

/* In minicr: copies the dumped pages of v (the runs of task pid inside it, read from its pages
 * image pages_fd) into object idx. Returns 0 or -errno (logged). */
int shm_registry_fill(struct shm_registry *reg, int idx, pid_t pid, int pages_fd,
		      const VmaEntry *v, PageRunEntry *const *runs, size_t n_runs);

/* In a restored task: a new fd (O_CLOEXEC) of object idx. Returns it or -errno (logged). */
int shm_registry_open(const struct shm_registry *reg, int idx);

/* In a restored task: closes the fds of minicr's objects that it inherited (they are no fds of
 * the restored process), leaving alone the numbers in keep (fds the task opened since). */
void shm_registry_close_inherited(const struct shm_registry *reg, const int *keep, size_t n_keep);
