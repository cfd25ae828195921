/* gen-corpus-image: writes one small valid image of every kind into a directory, through the
 * real writer: a whole one-task set that restore's checks accept. Its output is the committed
 * seed corpus of fuzz-image (test/fuzz/corpus-image/) and doubles as a sample for `minicr show`;
 * with --pack FILE it also packs the set into FILE, the seed of fuzz-image-set.
 * Usage: gen-corpus-image DIR [--pack FILE] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image-write.h"
#include "base/log.h"
#include "image-set-names.h"

#include "core.pb-c.h"
#include "detached-mnt.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "mnt.pb-c.h"
#include "pstree.pb-c.h"

#define PID 4242

static int write_image(int dirfd, enum image_kind kind, uint64_t id,
		       const ProtobufCMessage *const *msgs, size_t n_msgs)
{
	struct image_writer *w;
	int ret;

	ret = image_writer_open(dirfd, kind, id, &w);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_msgs && ret == 0; i++)
		ret = image_write_entry(w, msgs[i]);
	if (ret < 0) {
		image_writer_free(w);
		return ret;
	}
	return image_writer_close(w);
}

#define WRITE(dirfd, kind, id, ...)                                                                \
	write_image(dirfd, kind, id, (const ProtobufCMessage *const[]){__VA_ARGS__},               \
		    sizeof((const ProtobufCMessage *const[]){__VA_ARGS__}) /                       \
			sizeof(const ProtobufCMessage *))

static int gen_tree(int dirfd)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	KernelFeaturesEntry feat = KERNEL_FEATURES_ENTRY__INIT;
	uint64_t ns_ids[] = {4026531841ull};
	PstreeEntry ps = PSTREE_ENTRY__INIT;
	CgroupMemberEntry cg_v1 = CGROUP_MEMBER_ENTRY__INIT, cg_v2 = CGROUP_MEMBER_ENTRY__INIT;
	CgroupMemberEntry *cgroups[] = {&cg_v1, &cg_v2};
	int32_t tids[] = {PID};
	FsEntry fs = FS_ENTRY__INIT;
	int ret;

	feat.has_statmount = feat.statmount = 1;
	feat.has_file_handles = feat.file_handles = 1;
	inv.format_version = IMAGE_FORMAT_VERSION;
	inv.has_root_pid = 1;
	inv.root_pid = PID;
	inv.kernel_release = "6.18.0";
	inv.features = &feat;
	inv.n_mnt_ns_ids = 1;
	inv.mnt_ns_ids = ns_ids;
	ps.pid = PID;
	ps.has_ppid = 1;
	ps.n_threads = 1;
	ps.threads = tids;
	ps.has_mnt_ns_id = 1;
	ps.mnt_ns_id = ns_ids[0];
	ps.comm = "victim";
	/* a hybrid host's: a v1 hierarchy of two controllers, and v2 */
	cg_v1.controllers = "cpu,cpuacct";
	cg_v1.path = "/a";
	cg_v2.controllers = "";
	cg_v2.path = "/user.slice/b";
	ps.n_cgroups = 2;
	ps.cgroups = cgroups;
	fs.pid = PID;
	fs.has_cwd_file_id = 1;
	fs.cwd_file_id = 3;
	fs.has_umask = 1;
	fs.umask = 022;
	ret = WRITE(dirfd, IMAGE_INVENTORY, 0, &inv.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_PSTREE, 0, &ps.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_FS, PID, &fs.base);
	return ret;
}

static int gen_mounts(int dirfd)
{
	MntEntry root = MNT_ENTRY__INIT, tmp = MNT_ENTRY__INIT;
	DetachedMntEntry dm = DETACHED_MNT_ENTRY__INIT;
	DetachedMntUserEntry user = DETACHED_MNT_USER_ENTRY__INIT;
	DetachedMntUserEntry *users[] = {&user};
	int ret;

	root.mnt_id = 0x100000001ull;
	root.has_parent_id = 1;
	root.parent_id = root.mnt_id;
	root.mountpoint = "/";
	root.root = "/";
	root.fstype = "ext4";
	root.has_kind = 1;
	root.kind = MNT_KIND__MNT_KIND_BIND;
	tmp.mnt_id = 0x100000002ull;
	tmp.has_parent_id = 1;
	tmp.parent_id = root.mnt_id;
	tmp.mountpoint = "/tmp";
	tmp.root = "/";
	tmp.fstype = "tmpfs";
	tmp.has_kind = 1;
	tmp.kind = MNT_KIND__MNT_KIND_FRESH;
	tmp.has_propagation = 1;
	tmp.propagation = MNT_PROPAGATION__MNT_PROPAGATION_PRIVATE;
	user.pid = PID;
	user.fd = 5;
	user.path = "data/log";
	dm.id = 0x100000009ull;
	dm.fstype = "tmpfs";
	dm.root = "/sub";
	dm.has_method = 1;
	dm.method = DETACHED_MNT_METHOD__DETACHED_MNT_METHOD_FILE_HANDLE;
	dm.has_kind = 1;
	dm.kind = MNT_KIND__MNT_KIND_BIND;
	dm.n_users = 1;
	dm.users = users;
	ret = WRITE(dirfd, IMAGE_MNT, 4026531841ull, &root.base, &tmp.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_DETACHED_MNT, 0, &dm.base);
	return ret;
}

static int gen_files(int dirfd)
{
	FdEntry fd0 = FD_ENTRY__INIT, fd5 = FD_ENTRY__INIT;
	FileEntry reg = FILE_ENTRY__INIT, pipe = FILE_ENTRY__INIT, cwd = FILE_ENTRY__INIT;
	RegFileEntry r = REG_FILE_ENTRY__INIT, d = REG_FILE_ENTRY__INIT;
	PipeFileEntry p = PIPE_FILE_ENTRY__INIT;
	FileDataEntry data = FILE_DATA_ENTRY__INIT;
	int ret;

	fd0.fd = 0;
	fd0.file_id = 1;
	fd0.has_type = 1;
	fd0.type = FD_TYPE__FD_TYPE_PIPE;
	fd5.fd = 5;
	fd5.file_id = 2;
	fd5.has_type = 1;
	fd5.type = FD_TYPE__FD_TYPE_REG;
	p.has_pipe_id = 1;
	p.pipe_id = 77;
	pipe.id = 1;
	pipe.type = FD_TYPE__FD_TYPE_PIPE;
	pipe.pipe = &p;
	r.path = "data/log";
	r.has_mnt_id = 1;
	r.mnt_id = 0x100000009ull;
	r.has_detached = 1;
	r.detached = 1;
	reg.id = 2;
	reg.type = FD_TYPE__FD_TYPE_REG;
	reg.has_pos = 1;
	reg.pos = 12;
	reg.reg = &r;
	d.path = "/tmp";
	d.has_mnt_id = d.has_mnt_ns_id = 1;
	d.mnt_id = 0x100000002ull;
	d.mnt_ns_id = 4026531841ull;
	d.has_mode = 1;
	d.mode = 040755;
	cwd.id = 3;
	cwd.type = FD_TYPE__FD_TYPE_DIR;
	cwd.has_flags = 1;
	cwd.flags = 010200000; /* O_PATH | O_DIRECTORY */
	cwd.reg = &d;
	data.kind = FILE_DATA_KIND__FILE_DATA_KIND_PIPE;
	data.owner_id = 77;
	data.has_data = 1;
	data.data.data = (uint8_t *)"hello";
	data.data.len = 5;
	ret = WRITE(dirfd, IMAGE_FDINFO, PID, &fd0.base, &fd5.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_FILES, 0, &pipe.base, &reg.base, &cwd.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_FILE_DATA, 0, &data.base);
	return ret;
}

static int gen_task(int dirfd)
{
	TaskCoreEntry core = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	ThreadCoreEntry *threads[] = {&th};
	SigactionEntry sa = SIGACTION_ENTRY__INIT;
	SigactionEntry *sas[] = {&sa};
	MmEntry mm = MM_ENTRY__INIT;
	VmaEntry vma = VMA_ENTRY__INIT;
	VmaEntry *vmas[] = {&vma};
	PageRunEntry run = PAGE_RUN_ENTRY__INIT;
	uint8_t regs[16] = {1, 2, 3, 4};
	uint8_t page[64] = {0xcc};
	struct image_writer *w;
	int ret;

	sa.signo = 10;
	sa.has_handler = 1;
	sa.handler = 0x401136;
	th.tid = PID;
	th.has_gpregs = 1;
	th.gpregs.data = regs;
	th.gpregs.len = sizeof(regs);
	core.pid = PID;
	core.comm = "victim";
	core.n_sigactions = 1;
	core.sigactions = sas;
	core.n_threads = 1;
	core.threads = threads;
	vma.start = 0x7f0000000000ull;
	vma.end = 0x7f0000001000ull;
	vma.has_prot = 1;
	vma.prot = 3;
	mm.pid = PID;
	mm.n_vmas = 1;
	mm.vmas = vmas;
	run.vaddr = vma.start;
	run.nr_pages = 1;
	run.has_file_off = 1;
	ret = WRITE(dirfd, IMAGE_CORE, PID, &core.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_MM, PID, &mm.base);
	if (ret == 0)
		ret = WRITE(dirfd, IMAGE_PAGEMAP, PID, &run.base);
	if (ret < 0)
		return ret;
	/* A real pages image holds whole pages; a seed only needs to be valid. */
	ret = image_writer_open(dirfd, IMAGE_PAGES, PID, &w);
	if (ret < 0)
		return ret;
	ret = image_write_raw(w, page, sizeof(page));
	if (ret < 0) {
		image_writer_free(w);
		return ret;
	}
	return image_writer_close(w);
}

/* Packs the set's files as fuzz-image-set reads them: (u8 name index, u32 length, bytes). */
static int pack(int dirfd, const char *path)
{
	FILE *out = fopen(path, "we");
	char buf[65536];

	if (!out)
		return -errno;
	for (size_t i = 0; i < IMAGE_SET_N_NAMES; i++) {
		int fd = openat(dirfd, image_set_names[i], O_RDONLY | O_CLOEXEC);
		uint8_t idx = (uint8_t)i;
		ssize_t n;
		uint32_t len;

		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n < 0 || n == (ssize_t)sizeof(buf))
			continue; /* page data: too big for a seed, and not read by the checks */
		len = (uint32_t)n;
		fwrite(&idx, 1, 1, out);
		fwrite(&len, sizeof(len), 1, out);
		fwrite(buf, 1, (size_t)n, out);
	}
	return fclose(out) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	int dirfd, ret;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--pack") == 0)) {
		fprintf(stderr, "usage: %s DIR [--pack FILE]\n", argv[0]);
		return 2;
	}
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	ret = gen_tree(dirfd);
	if (ret == 0)
		ret = gen_mounts(dirfd);
	if (ret == 0)
		ret = gen_files(dirfd);
	if (ret == 0)
		ret = gen_task(dirfd);
	if (ret == 0 && argc == 4)
		ret = pack(dirfd, argv[3]);
	close(dirfd);
	return ret < 0 ? 1 : 0;
}
