/* mem-dump.c: the address space of a stopped process into mm, pagemap and pages images. */
#define LOG_PREFIX "mem-dump: "
#include "task/dump-mm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image-write.h"
#include "base/log.h"
#include "base/procfs.h"
#include "task/mm-parse.h"
#include "mm.pb-c.h"
#include "task/pages-writer.h"
#include "base/util.h"

#define PAGE_SIZE_BYTES 4096ull
#define PAGEMAP_BATCH	(64u * 1024) /* pagemap entries read at once (256 MiB of VMA) */
#define MM_AUXV_MAX	(2 * 64)

int mem_read_vmas(pid_t pid, struct mm_vma **ret_vmas, size_t *ret_n)
{
	cleanup_free char *buf = NULL;
	ssize_t len;
	int ret;

	len = procfs_read_maps(pid, true, &buf);
	if (len < 0)
		return pr_neg((int)len, "cannot read the memory map of %s %d",
			      pid ? "task" : "minicr", pid ? (int)pid : (int)getpid());
	ret = mm_parse_smaps(buf, ret_vmas, ret_n);
	if (ret < 0)
		return pr_neg(ret, "cannot parse the memory map of %s %d", pid ? "task" : "minicr",
			      pid ? (int)pid : (int)getpid());
	return 0;
}

static const char *kind_refusal(const struct mm_vma *v)
{
	if (v->is_deleted && v->kind != VMA_KIND_SHMEM)
		return "it maps a deleted file";
	if (!strncmp(v->path, "/SYSV", 5))
		return "SysV shared memory is not supported";
	if (!strncmp(v->path, "/memfd:", 7) && !v->is_shared)
		return "private mappings of a memfd are not supported";
	if (v->path[0] == '[')
		return "this special mapping is not supported";
	if (v->path[0] == '/' && !strncmp(v->path, "/dev/", 5) && strcmp(v->path, "/dev/zero"))
		return "device mappings are not supported";
	return "this kind of mapping is not supported";
}

int mem_own_special_sizes(uint64_t sizes[3])
{
	cleanup_free struct mm_vma *own = NULL;
	size_t n_own = 0;
	int ret = mem_read_vmas(0, &own, &n_own);

	if (ret < 0)
		return ret;
	for (int k = 0; k < 3; k++)
		sizes[k] = 0;
	for (size_t i = 0; i < n_own; i++)
		if (own[i].kind >= VMA_KIND_VVAR && own[i].kind <= VMA_KIND_VDSO)
			sizes[own[i].kind - VMA_KIND_VVAR] += own[i].end - own[i].start;
	return 0;
}

/* The vvar/vvar_vclock/vdso trio must look like minicr's own: resume moves the restoring
 * process's trio into the dumped place, which only works on the same kernel layout. */
static int check_specials(pid_t pid, const struct mm_vma *vmas, size_t n,
			  const uint64_t own_sizes[3])
{
	for (enum vma_kind k = VMA_KIND_VVAR; k <= VMA_KIND_VDSO; k++) {
		uint64_t theirs = 0, ours = own_sizes[k - VMA_KIND_VVAR];

		for (size_t i = 0; i < n; i++)
			if (vmas[i].kind == k)
				theirs += vmas[i].end - vmas[i].start;
		if (theirs != ours) {
			pr_err("cannot dump task %d: its vdso layout differs from this kernel's "
			       "(%" PRIu64 " bytes of a special mapping where minicr has %" PRIu64
			       ")",
			       (int)pid, theirs, ours);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int read_auxv(pid_t pid, uint64_t *auxv, size_t *ret_n)
{
	cleanup_close int fd = -EBADF;
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno("cannot open '%s'", path);
	len = read_full(fd, auxv, MM_AUXV_MAX * sizeof(uint64_t));
	if (len < 0) {
		errno = (int)-len;
		return pr_errno("cannot read '%s'", path);
	}
	*ret_n = (size_t)len / sizeof(uint64_t);
	/* keep the pairs up to and including AT_NULL */
	for (size_t i = 0; i + 1 < *ret_n; i += 2)
		if (auxv[i] == 0) {
			*ret_n = i + 2;
			break;
		}
	return 0;
}

static int fill_mm_fields(pid_t pid, uint64_t brk, MmEntry *mm)
{
	struct procfs_stat st;
	int ret = procfs_read_stat(pid, &st);

	if (ret < 0)
		return pr_neg(ret, "cannot read /proc/%d/stat", (int)pid);
	if (!st.has_mm) {
		pr_err("cannot dump task %d: /proc/%d/stat has no mm fields", (int)pid, (int)pid);
		return -EINVAL;
	}
	if (!st.start_code && !st.arg_start) {
		pr_err("cannot dump task %d: /proc/%d/stat hides the mm fields (no ptrace access?)",
		       (int)pid, (int)pid);
		return -EPERM;
	}
#define SET(f, v)                                                                                  \
	do {                                                                                       \
		mm->has_##f = true;                                                                \
		mm->f = (v);                                                                       \
	} while (0)
	SET(start_code, st.start_code);
	SET(end_code, st.end_code);
	SET(start_data, st.start_data);
	SET(end_data, st.end_data);
	SET(start_brk, st.start_brk);
	SET(brk, brk);
	SET(start_stack, st.start_stack);
	SET(arg_start, st.arg_start);
	SET(arg_end, st.arg_end);
	SET(env_start, st.env_start);
	SET(env_end, st.env_end);
#undef SET
	return 0;
}

/* A run of pages to dump: n_pages at vaddr. */
struct page_run {
	uint64_t vaddr, n_pages;
};

/* State of the page dump of one process: (1) the runs pagemap says the image must keep are
 * listed, and written to pagemap-<pid>.img with their offsets; (2) their data is copied from
 * /proc/PID/mem into the buffers of the pages writer, which knows the total size up front. */
struct page_dump {
	pid_t pid;
	int mem_fd;
	int pagemap_fd;
	struct image_writer *runs_img;
	uint64_t *entries; /* PAGEMAP_BATCH */
	struct page_run *runs;
	size_t n_runs, runs_cap;
	uint64_t n_pages;
};

static int add_run(struct page_dump *pd, uint64_t vaddr, uint64_t n_pages)
{
	PageRunEntry entry = PAGE_RUN_ENTRY__INIT;
	int ret;

	if (pd->n_runs == pd->runs_cap) {
		size_t cap = pd->runs_cap ? 2 * pd->runs_cap : 256;
		struct page_run *bigger = realloc(pd->runs, cap * sizeof(*bigger));

		if (!bigger)
			return pr_neg(-ENOMEM, "cannot list the page runs of task %d",
				      (int)pd->pid);
		pd->runs = bigger;
		pd->runs_cap = cap;
	}
	entry.vaddr = vaddr;
	entry.nr_pages = n_pages;
	entry.has_file_off = true;
	entry.file_off = pd->n_pages * PAGE_SIZE_BYTES;
	ret = image_write_entry(pd->runs_img, &entry.base);
	if (ret < 0)
		return ret;
	pd->runs[pd->n_runs++] = (struct page_run){vaddr, n_pages};
	pd->n_pages += n_pages;
	return 0;
}

static int list_vma_runs(struct page_dump *pd, const struct mm_vma *v)
{
	uint64_t n_total = (v->end - v->start) / PAGE_SIZE_BYTES;

	if (v->kind != VMA_KIND_ANON && v->kind != VMA_KIND_FILE_PRIVATE &&
	    v->kind != VMA_KIND_SHMEM)
		return 0;
	for (uint64_t base = 0; base < n_total; base += PAGEMAP_BATCH) {
		size_t n =
		    (size_t)(n_total - base < PAGEMAP_BATCH ? n_total - base : PAGEMAP_BATCH);
		off_t off = (off_t)((v->start / PAGE_SIZE_BYTES + base) * sizeof(uint64_t));
		ssize_t len = pread(pd->pagemap_fd, pd->entries, n * sizeof(uint64_t), off);
		size_t pos = 0, first, count;

		if (len != (ssize_t)(n * sizeof(uint64_t)))
			return pr_errno("cannot read the pagemap of task %d at 0x%" PRIx64,
					(int)pd->pid, v->start);
		/* runs end at batch borders; the restore does not care */
		while (mm_next_page_run(pd->entries, n, v->kind, &pos, &first, &count)) {
			int ret = add_run(pd, v->start + (base + first) * PAGE_SIZE_BYTES, count);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* (1) pagemap-<pid>.img and the list of runs. */
static int list_runs(struct page_dump *pd, int img_dirfd, const struct mm_vma *vmas, size_t n)
{
	int ret;

	ret = image_writer_open(img_dirfd, IMAGE_PAGEMAP, (uint64_t)pd->pid, &pd->runs_img);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = list_vma_runs(pd, &vmas[i]);
	if (ret < 0)
		return ret;
	ret = image_writer_close(pd->runs_img);
	pd->runs_img = NULL;
	return ret;
}

/* (2) pages-<pid>.img: every run read straight into the writer's buffers, which pack runs
 * back to back, so even single-page runs go out in large writes. */
static int copy_runs(struct page_dump *pd, int img_dirfd)
{
	cleanup(pages_writer_freep) struct pages_writer *w = NULL;
	int ret;

	ret = pages_writer_open(img_dirfd, pd->pid, pd->n_pages * PAGE_SIZE_BYTES, &w);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < pd->n_runs; i++) {
		uint64_t addr = pd->runs[i].vaddr, left = pd->runs[i].n_pages * PAGE_SIZE_BYTES;

		while (left) {
			size_t room, chunk;
			void *buf;
			ssize_t n;

			ret = pages_writer_next(w, &buf, &room);
			if (ret < 0)
				return ret;
			chunk = left < room ? (size_t)left : room;
			n = pread(pd->mem_fd, buf, chunk, (off_t)addr);
			if (n < 0)
				return pr_errno("cannot read %zu bytes at 0x%" PRIx64 " of task %d",
						chunk, addr, (int)pd->pid);
			if ((size_t)n != chunk) {
				pr_err("short read at 0x%" PRIx64 " of task %d (%zd of %zu bytes)",
				       addr, (int)pd->pid, n, chunk);
				return -EIO;
			}
			ret = pages_writer_commit(w, chunk);
			if (ret < 0)
				return ret;
			addr += chunk;
			left -= chunk;
		}
	}
	pr_debug("task %d: %" PRIu64 " pages in %zu runs, %s", (int)pd->pid, pd->n_pages,
		 pd->n_runs, pages_writer_is_direct(w) ? "direct I/O" : "buffered writes");
	return pages_writer_close(TAKE_PTR(w));
}

static int dump_pages(int img_dirfd, pid_t pid, const struct mm_vma *vmas, size_t n)
{
	struct page_dump pd = {.pid = pid, .mem_fd = -EBADF, .pagemap_fd = -EBADF};
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	pd.mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pd.mem_fd < 0)
		return pr_errno("cannot open '%s'", path);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pd.pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pd.pagemap_fd < 0) {
		ret = pr_errno("cannot open '%s'", path);
		goto out;
	}
	pd.entries = malloc(PAGEMAP_BATCH * sizeof(uint64_t));
	if (!pd.entries) {
		ret = pr_neg(-ENOMEM, "cannot allocate the pagemap buffer");
		goto out;
	}
	ret = list_runs(&pd, img_dirfd, vmas, n);
	if (ret == 0)
		ret = copy_runs(&pd, img_dirfd);
out:
	image_writer_free(pd.runs_img);
	free(pd.entries);
	free(pd.runs);
	closep(&pd.mem_fd);
	closep(&pd.pagemap_fd);
	return ret;
}

/* Shared memory objects already dumped in this run of minicr, by identity: a tree whose
 * processes share an object dumps its pages once, with the first process that maps it. */
struct shm_seen {
	uint64_t dev, ino;
	pid_t owner;
};
static struct shm_seen *shm_seen;
static size_t n_shm_seen;

/* Returns the pid whose pages image holds the object of v, registering pid if none does yet;
 * 0 if the registry cannot grow (the object is then dumped again, which is only slower). */
static pid_t shm_owner_of(const struct mm_vma *v, pid_t pid)
{
	uint64_t dev = makedev(v->dev_major, v->dev_minor);
	struct shm_seen *bigger;

	for (size_t i = 0; i < n_shm_seen; i++)
		if (shm_seen[i].dev == dev && shm_seen[i].ino == v->ino)
			return shm_seen[i].owner;
	bigger = realloc(shm_seen, (n_shm_seen + 1) * sizeof(*bigger));
	if (!bigger)
		return 0;
	shm_seen = bigger;
	shm_seen[n_shm_seen++] = (struct shm_seen){dev, v->ino, pid};
	return pid;
}

static uint32_t map_flags_of(const struct mm_vma *v)
{
	uint32_t f = v->is_shared ? 0x01 /* MAP_SHARED */ : 0x02 /* MAP_PRIVATE */;

	if (v->kind == VMA_KIND_ANON ||
	    (v->kind == VMA_KIND_SHMEM && !strcmp(v->path, "/dev/zero")))
		f |= 0x20; /* MAP_ANONYMOUS */
	if (v->is_growsdown)
		f |= 0x100; /* MAP_GROWSDOWN */
	return f;
}

int mem_dump(int img_dirfd, pid_t pid, uint64_t brk, const uint64_t own_special_sizes[3])
{
	cleanup_free struct mm_vma *vmas = NULL;
	cleanup_free VmaEntry *entries = NULL;
	cleanup_free VmaEntry **ptrs = NULL;
	uint64_t auxv[MM_AUXV_MAX];
	MmEntry mm = MM_ENTRY__INIT;
	char exe[PATH_MAX], path[64];
	size_t n = 0, n_auxv = 0, n_dumped = 0;
	ssize_t len;
	int ret;

	ret = mem_read_vmas(pid, &vmas, &n);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		const struct mm_vma *v = &vmas[i];

		if (v->kind == VMA_KIND_UNSUPPORTED || v->kind == VMA_KIND_UNKNOWN) {
			pr_err("cannot dump task %d: mapping %" PRIx64 "-%" PRIx64 " '%s': %s",
			       (int)pid, v->start, v->end, v->path, kind_refusal(v));
			return -ENOTSUP;
		}
	}
	ret = check_specials(pid, vmas, n, own_special_sizes);
	if (ret < 0)
		return ret;
	ret = fill_mm_fields(pid, brk, &mm);
	if (ret < 0)
		return ret;
	ret = read_auxv(pid, auxv, &n_auxv);
	if (ret < 0)
		return ret;
	mm.pid = pid;
	mm.n_auxv = n_auxv;
	mm.auxv = auxv;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len < 0)
		return pr_errno("cannot read '%s'", path);
	exe[len] = 0;
	mm.exe = exe;
	{
		cleanup_free char *min_addr = NULL;
		long value;

		if (read_file_at(AT_FDCWD, "/proc/sys/vm/mmap_min_addr", &min_addr) > 0) {
			min_addr[strcspn(min_addr, "\n")] = 0;
			if (parse_long(min_addr, 0, LONG_MAX, &value) == 0) {
				mm.has_mmap_min_addr = true;
				mm.mmap_min_addr = (uint64_t)value;
			}
		}
	}

	entries = calloc(n, sizeof(*entries));
	ptrs = calloc(n, sizeof(*ptrs));
	if (!entries || !ptrs)
		return pr_neg(-ENOMEM, "cannot allocate the VMA table of task %d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		const struct mm_vma *v = &vmas[i];
		VmaEntry *e = &entries[n_dumped];

		if (v->kind == VMA_KIND_VSYSCALL)
			continue;
		vma_entry__init(e);
		e->start = v->start;
		e->end = v->end;
		e->has_prot = true;
		e->prot = v->prot;
		e->has_flags = true;
		e->flags = map_flags_of(v);
		e->has_pgoff = true;
		e->pgoff = v->pgoff;
		e->path = vmas[i].path;
		e->has_dev = true;
		e->dev = makedev(v->dev_major, v->dev_minor);
		e->has_ino = true;
		e->ino = v->ino;
		e->vmflags = vmas[i].vmflags;
		e->has_madvise = true;
		e->madvise = v->madvise;
		if (v->mlock) {
			e->has_mlock = true;
			e->mlock = v->mlock;
		}
		e->has_kind = true;
		e->kind = v->kind;
		if (v->kind == VMA_KIND_SHMEM) {
			pid_t owner = shm_owner_of(v, pid);

			e->has_shmid = true;
			e->shmid = v->ino;
			if (owner && owner != pid) {
				e->has_shm_owner = true;
				e->shm_owner = owner;
				vmas[i].kind =
				    VMA_KIND_UNKNOWN; /* no pages here: the owner has them */
			}
		}
		ptrs[n_dumped++] = e;
	}
	mm.n_vmas = n_dumped;
	mm.vmas = ptrs;
	ret = image_write_single(img_dirfd, IMAGE_MM, (uint64_t)pid, &mm.base);
	if (ret < 0)
		return ret;
	return dump_pages(img_dirfd, pid, vmas, n);
}
