/* Unit tests for fd/identity.c on this process's own fds (kcmp compares a process with itself
 * as with any other): descriptions shared inside one "task" and across the tasks sorted one
 * after another, for a key that many tasks open anew, in any order of commits. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd/identity.h"
#include "fd/list.h"

#define NONE FD_IDENTITY_NONE

struct fake_task {
	struct fd_local fds[64];
	uint64_t keys[64][2];
	size_t n;
	size_t file[64], first[64], file_of[64];
};

static void add_fd(struct fake_task *t, int fd)
{
	t->fds[t->n] = (struct fd_local){.fd = fd, .local_fd = fd, .cloexec = 0};
	t->keys[t->n][0] = 42; /* one key for all: kcmp alone tells them apart */
	t->keys[t->n][1] = 0;
	t->n++;
}

/* Sorts t and commits its new descriptions as files next_file, next_file + 1, ... */
static void sort_and_commit(struct fd_identity *id, struct fake_task *t, size_t *next_file)
{
	struct fd_identity_task task = {
	    .pid = getpid(), .n_fds = t->n, .fds = t->fds, .keys = (const uint64_t(*)[2])t->keys};

	cr_assert_eq(fd_identity_sort(id, &task, t->file, t->first), 0);
	for (size_t i = 0; i < t->n; i++)
		t->file_of[i] = t->file[i] == NONE && t->first[i] == i ? (*next_file)++ : NONE;
	cr_assert_eq(fd_identity_commit(id, &task, t->file_of), 0);
}

static int open_file(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);

	cr_assert_geq(fd, 0);
	return fd;
}

Test(fd_identity, shared_and_new_descriptions_across_tasks)
{
	struct fd_identity *id = fd_identity_new();
	struct fake_task a = {0}, b = {0};
	int opened[40];
	size_t next_file = 0;

	/* task a: 20 descriptions, and a dup of the 7th */
	for (int i = 0; i < 20; i++)
		add_fd(&a, opened[i] = open_file());
	add_fd(&a, dup(opened[7]));
	sort_and_commit(id, &a, &next_file);
	cr_assert_eq(next_file, 20);
	cr_assert_eq(a.first[20], 7, "a dup is its original's description");
	/* task b: every third of a's, interleaved with 20 new ones */
	for (int i = 0; i < 20; i++) {
		add_fd(&b, opened[20 + i] = open_file());
		if (i % 3 == 0)
			add_fd(&b, dup(opened[i]));
	}
	sort_and_commit(id, &b, &next_file);
	cr_assert_eq(next_file, 40, "b's 20 new descriptions are new files");
	for (size_t k = 0; k < b.n; k++) {
		int fd = b.fds[k].fd;

		for (int i = 0; i < 20; i++)
			if (fd != opened[i] &&
			    syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, fd, opened[i]) == 0)
				cr_assert_eq(b.file[k], a.file_of[i], "fd %d is a's file %zu", fd,
					     a.file_of[i]);
	}
	/* a third task holding dups of b's new ones finds them, now in the same tree */
	{
		struct fake_task c = {0};
		size_t seen = 0;

		for (int i = 0; i < 20; i++)
			add_fd(&c, dup(opened[20 + i]));
		sort_and_commit(id, &c, &next_file);
		cr_assert_eq(next_file, 40, "c has no new description");
		for (size_t k = 0; k < c.n; k++)
			for (size_t j = 0; j < b.n; j++)
				if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, c.fds[k].fd,
					    b.fds[j].fd) == 0 &&
				    b.file_of[j] != NONE) {
					cr_assert_eq(c.file[k], b.file_of[j]);
					seen++;
				}
		cr_assert_eq(seen, 20);
		for (size_t k = 0; k < c.n; k++)
			close(c.fds[k].fd);
	}
	for (size_t k = 0; k < a.n; k++)
		close(a.fds[k].fd);
	for (size_t k = 0; k < b.n; k++)
		close(b.fds[k].fd);
	fd_identity_free(id);
}
