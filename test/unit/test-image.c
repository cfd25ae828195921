/* Unit tests for images/: round trips of every kind, hostile and corrupt inputs (each refused
 * with one error line naming the file and record), path checks, rendering, and a full disk. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "image-decode.h"
#include "image-path.h"
#include "image-read.h"
#include "image-render.h"
#include "image-write.h"
#include "base/log.h"
#include "show.h"
#include "show-task.h"

#include "core.pb-c.h"
#include "detached-mnt.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-data.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "mnt.pb-c.h"
#include "pstree.pb-c.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static char tmp_dir[] = "/tmp/minicr-test-image.XXXXXX";
static int tmp_dirfd = -1;
static int log_memfd = -1;

/* Every test logs into a memfd, so tests can count the error lines a failure produced. */
static void setup(void)
{
	log_memfd = memfd_create("log", MFD_CLOEXEC);
	cr_assert_geq(log_memfd, 0);
	log_init(LOG_ERROR, log_memfd);
	cr_assert_not_null(mkdtemp(tmp_dir));
	tmp_dirfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(tmp_dirfd, 0);
}

static void teardown(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(tmp_dirfd, de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(tmp_dir);
	close(tmp_dirfd);
	close(log_memfd);
}

TestSuite(image, .init = setup, .fini = teardown);

/* Returns what was logged so far (static buffer). */
static const char *logged(void)
{
	static char buf[8192];
	ssize_t n = pread(log_memfd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void clear_log(void)
{
	cr_assert_eq(ftruncate(log_memfd, 0), 0);
	cr_assert_eq(lseek(log_memfd, 0, SEEK_SET), 0);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect_one_error_line(const char *needle)
{
	const char *log = logged();

	cr_assert_eq(count_lines(log), 1, "expected one error line, got:\n%s", log);
	cr_assert_not_null(strstr(log, needle), "expected '%s' in: %s", needle, log);
	cr_assert_not_null(strstr(log, "minicr: error: "), "%s", log);
}

/* An in-memory image builder for hostile inputs. */
struct buf {
	uint8_t data[2 * IMAGE_RAW_DATA_OFFSET];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t len)
{
	cr_assert_leq(b->len + len, sizeof(b->data));
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

static void put_le32(struct buf *b, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	put(b, le, 4);
}

/* The header of a raw kind: magic, then zeros up to IMAGE_RAW_DATA_OFFSET. */
static void put_raw_header(struct buf *b, enum image_kind kind)
{
	static const uint8_t zeros[IMAGE_RAW_DATA_OFFSET - IMAGE_MAGIC_SIZE];

	put_le32(b, image_kind_magic(kind));
	put(b, zeros, sizeof(zeros));
}

static void put_record(struct buf *b, const ProtobufCMessage *msg)
{
	uint8_t packed[1024];
	size_t len = protobuf_c_message_pack(msg, packed);

	put_le32(b, (uint32_t)len);
	put(b, packed, len);
}

static void put_fd_entry(struct buf *b, int fd)
{
	FdEntry e = FD_ENTRY__INIT;

	e.fd = fd;
	e.file_id = (uint32_t)fd + 100;
	put_record(b, &e.base);
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("img", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Reads an in-memory image to the end through the streaming reader and returns the first
 * negative result, or 0 for a clean end. */
static int read_all(const struct buf *b, int expect_kind, const char *name, size_t *ret_n)
{
	struct image_reader *r = NULL;
	ProtobufCMessage *msg;
	size_t n = 0;
	int ret;

	ret = image_reader_open_fd(memfd_with(b->data, b->len), expect_kind, name, &r);
	if (ret < 0)
		return ret;
	while ((ret = image_read_entry(r, &msg)) > 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		n++;
	}
	/* A failed reader keeps failing the same way and never logs twice. */
	if (ret < 0)
		cr_assert_eq(image_read_entry(r, &msg), ret);
	image_reader_free(r);
	if (ret_n)
		*ret_n = n;
	return ret;
}

/* The reader over an image in memory (what show, the fuzzers and these tests use) must agree
 * with the reader over a file on every input, and report the failure without logging. */
static int decode_all(const struct buf *b, int expect_kind, struct image_error *err)
{
	struct image_reader *r = NULL;
	ProtobufCMessage *msg;
	int ret = image_reader_open_mem(b->data, b->len, expect_kind, "mem.img", &r);

	while (ret >= 0 && (ret = image_read_entry(r, &msg)) > 0)
		protobuf_c_message_free_unpacked(msg, NULL);
	if (ret < 0 && r)
		*err = *image_reader_error(r);
	image_reader_free(r);
	return ret;
}

static void free_msg(ProtobufCMessage *msg)
{
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* Compares two messages by their packed bytes, which protobuf-c produces deterministically. */
static void assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la = protobuf_c_message_get_packed_size(a);
	size_t lb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);

	cr_assert_eq(a->descriptor, b->descriptor);
	cr_assert_eq(la, lb);
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	cr_assert_eq(memcmp(pa, pb, la), 0);
	free(pa);
	free(pb);
}

/* ---- the kind table ------------------------------------------------------------------------ */

Test(image, every_kind_has_a_distinct_magic_and_a_name_that_parses_back)
{
	for (int i = 0; i < IMAGE_KIND_COUNT; i++) {
		char name[IMAGE_NAME_MAX];
		enum image_kind kind;
		uint64_t id;

		cr_assert_eq(image_kind_from_magic(image_kind_magic(i)), i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(image_kind_magic(i), image_kind_magic(j));
		cr_assert_eq(image_file_name(i, 18446744073709551615ull, name, sizeof(name)), 0);
		cr_assert_eq(image_file_name_parse(name, &kind, &id), 0, "%s", name);
		cr_assert_eq((int)kind, i);
		cr_assert_eq(id, image_kind_has_id(i) ? 18446744073709551615ull : 0);
		cr_assert_eq(image_kind_is_raw(i), image_kind_descriptor(i) == NULL);
	}
	cr_assert_eq(image_kind_from_magic(0), -EBADMSG);
}

Test(image, file_names_follow_the_documented_patterns)
{
	static const struct {
		enum image_kind kind;
		const char *name;
	} cases[] = {
	    {IMAGE_INVENTORY, "inventory.img"}, {IMAGE_PSTREE, "pstree.img"},
	    {IMAGE_MNT, "mnt-42.img"},		{IMAGE_DETACHED_MNT, "detached-mnt.img"},
	    {IMAGE_FDINFO, "fdinfo-42.img"},	{IMAGE_FS, "fs-42.img"},
	    {IMAGE_FILES, "files.img"},		{IMAGE_FILE_DATA, "file-data.img"},
	    {IMAGE_CORE, "core-42.img"},	{IMAGE_MM, "mm-42.img"},
	    {IMAGE_PAGEMAP, "pagemap-42.img"},	{IMAGE_PAGES, "pages-42.img"},
	};
	char name[IMAGE_NAME_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(image_file_name(cases[i].kind, 42, name, sizeof(name)), 0);
		cr_assert_str_eq(name, cases[i].name);
	}
	cr_assert_eq(image_file_name(IMAGE_FDINFO, 42, name, 8), -ENAMETOOLONG);
}

Test(image, file_name_parse_refuses_names_that_are_not_images)
{
	static const char *const bad[] = {
	    "fdinfo.img",
	    "fdinfo-.img",
	    "fdinfo-x.img",
	    "fdinfo-042.img",
	    "fdinfo--1.img",
	    "fdinfo-18446744073709551616.img",
	    "inventory-1.img",
	    "inventory.im",
	    "foo.img",
	    ".img",
	    "",
	    "mnt-1.img.bak",
	};
	enum image_kind kind;
	uint64_t id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(image_file_name_parse(bad[i], &kind, &id), -EINVAL, "%s", bad[i]);
}

/* ---- round trips ---------------------------------------------------------------------------- */

/* Builds record number i of a kind with most fields set; the returned message points into
 * static storage that lives for the test. */
static ProtobufCMessage *sample(enum image_kind kind, int i)
{
	static InventoryEntry inv;
	static KernelFeaturesEntry feat;
	static uint64_t ns_ids[2] = {4026531841ull, 4026532000ull};
	static PstreeEntry ps[3];
	static int32_t tids[2] = {100, 101};
	static MntEntry mnt[3];
	static DetachedMntEntry dm[3];
	static DetachedMntUserEntry users[2];
	static DetachedMntUserEntry *user_ptrs[2];
	static FdEntry fde[3];
	static FsEntry fs;
	static FileEntry fe[3];
	static RegFileEntry reg;
	static FileDataEntry fd_data[3];
	static uint8_t blob[3000];
	static TaskCoreEntry core;
	static ThreadCoreEntry thread;
	static ThreadCoreEntry *thread_ptrs[1];
	static SigactionEntry sa;
	static SigactionEntry *sa_ptrs[1];
	static uint8_t regs[216];
	static MmEntry mm;
	static VmaEntry vma;
	static VmaEntry *vma_ptrs[1];
	static uint64_t auxv[4] = {6, 4096, 0, 0};
	static PageRunEntry pr[3];

	switch (kind) {
	case IMAGE_INVENTORY:
		inventory_entry__init(&inv);
		kernel_features_entry__init(&feat);
		feat.has_statmount = feat.statmount = true;
		inv.format_version = IMAGE_FORMAT_VERSION;
		inv.has_root_pid = true;
		inv.root_pid = 1234;
		inv.kernel_release = "6.18.0-test";
		inv.features = &feat;
		inv.n_mnt_ns_ids = 2;
		inv.mnt_ns_ids = ns_ids;
		return &inv.base;
	case IMAGE_PSTREE:
		pstree_entry__init(&ps[i]);
		ps[i].pid = 100 + i;
		ps[i].has_ppid = true;
		ps[i].ppid = i ? 100 : 0;
		ps[i].n_threads = 2;
		ps[i].threads = tids;
		ps[i].comm = "victim";
		return &ps[i].base;
	case IMAGE_MNT:
		mnt_entry__init(&mnt[i]);
		mnt[i].mnt_id = 0x100000000ull + (uint64_t)i;
		mnt[i].mountpoint = i ? "/tmp" : "/";
		mnt[i].fstype = "tmpfs";
		mnt[i].has_propagation = true;
		mnt[i].propagation = MNT_PROPAGATION__MNT_PROPAGATION_SHARED;
		return &mnt[i].base;
	case IMAGE_DETACHED_MNT:
		detached_mnt_entry__init(&dm[i]);
		for (int u = 0; u < 2; u++) {
			detached_mnt_user_entry__init(&users[u]);
			users[u].pid = 100;
			users[u].fd = 3 + u;
			users[u].path = "dir/file";
			user_ptrs[u] = &users[u];
		}
		dm[i].id = 77 + (uint64_t)i;
		dm[i].root = "/sub";
		dm[i].n_users = 2;
		dm[i].users = user_ptrs;
		return &dm[i].base;
	case IMAGE_FDINFO:
		fd_entry__init(&fde[i]);
		fde[i].fd = i;
		fde[i].file_id = 10 + (uint32_t)i;
		fde[i].has_type = true;
		fde[i].type = FD_TYPE__FD_TYPE_PIPE;
		return &fde[i].base;
	case IMAGE_FS:
		fs_entry__init(&fs);
		fs.pid = 100;
		fs.has_umask = true;
		fs.umask = 022;
		return &fs.base;
	case IMAGE_FILES:
		file_entry__init(&fe[i]);
		reg_file_entry__init(&reg);
		reg.path = "/etc/hostname";
		reg.has_mnt_id = true;
		reg.mnt_id = 0x100000001ull;
		fe[i].id = 10 + (uint32_t)i;
		fe[i].type = FD_TYPE__FD_TYPE_REG;
		fe[i].reg = &reg;
		return &fe[i].base;
	case IMAGE_FILE_DATA:
		file_data_entry__init(&fd_data[i]);
		memset(blob, 0xa5, sizeof(blob));
		fd_data[i].kind = FILE_DATA_KIND__FILE_DATA_KIND_PIPE;
		fd_data[i].owner_id = 5;
		fd_data[i].has_data = true;
		fd_data[i].data.data = blob;
		fd_data[i].data.len = sizeof(blob);
		return &fd_data[i].base;
	case IMAGE_CORE:
		task_core_entry__init(&core);
		thread_core_entry__init(&thread);
		sigaction_entry__init(&sa);
		memset(regs, 0x11, sizeof(regs));
		sa.signo = 10;
		sa.has_handler = true;
		sa.handler = 0x401000;
		sa_ptrs[0] = &sa;
		thread.tid = 100;
		thread.has_gpregs = true;
		thread.gpregs.data = regs;
		thread.gpregs.len = sizeof(regs);
		thread_ptrs[0] = &thread;
		core.pid = 100;
		core.comm = "victim";
		core.n_sigactions = 1;
		core.sigactions = sa_ptrs;
		core.n_threads = 1;
		core.threads = thread_ptrs;
		return &core.base;
	case IMAGE_MM:
		mm_entry__init(&mm);
		vma_entry__init(&vma);
		vma.start = 0x400000;
		vma.end = 0x401000;
		vma.path = "/usr/bin/victim";
		vma_ptrs[0] = &vma;
		mm.pid = 100;
		mm.n_auxv = 4;
		mm.auxv = auxv;
		mm.n_vmas = 1;
		mm.vmas = vma_ptrs;
		return &mm.base;
	case IMAGE_PAGEMAP:
		page_run_entry__init(&pr[i]);
		pr[i].vaddr = 0x7f0000000000ull + (uint64_t)i * 0x10000;
		pr[i].nr_pages = 2;
		pr[i].has_file_off = true;
		pr[i].file_off = (uint64_t)i * 8192;
		return &pr[i].base;
	default:
		cr_assert_fail("no sample for kind %d", kind);
		return NULL;
	}
}

Test(image, every_record_kind_round_trips_through_a_directory)
{
	for (int kind = 0; kind < IMAGE_KIND_COUNT; kind++) {
		int n = image_kind_is_single(kind) ? 1 : 3;
		struct image_writer *w;
		struct image_reader *r;
		ProtobufCMessage *msg;

		if (image_kind_is_raw(kind))
			continue;
		cr_assert_eq(image_writer_open(tmp_dirfd, kind, 42, &w), 0);
		for (int i = 0; i < n; i++)
			cr_assert_eq(image_write_entry(w, sample(kind, i)), 0);
		cr_assert_eq(image_writer_close(w), 0);

		cr_assert_eq(image_reader_open(tmp_dirfd, kind, 42, &r), 0);
		cr_assert_eq((int)image_reader_kind(r), kind);
		for (int i = 0; i < n; i++) {
			cr_assert_eq(image_read_entry(r, &msg), 1, "%s record %d",
				     image_kind_name(kind), i);
			assert_same_message(msg, sample(kind, i));
			free_msg(msg);
		}
		cr_assert_eq(image_read_entry(r, &msg), 0);
		cr_assert_eq(image_read_entry(r, &msg), 0, "EOF stays EOF");
		image_reader_free(r);
	}
	cr_assert_str_eq(logged(), "");
}

Test(image, single_record_kinds_read_with_read_single_and_inventory)
{
	InventoryEntry *inv;
	ProtobufCMessage *msg;

	cr_assert_eq(image_write_single(tmp_dirfd, IMAGE_INVENTORY, 0, sample(IMAGE_INVENTORY, 0)),
		     0);
	cr_assert_eq(image_read_inventory(tmp_dirfd, &inv), 0);
	cr_assert_eq(inv->root_pid, 1234);
	cr_assert_str_eq(inv->kernel_release, "6.18.0-test");
	inventory_entry__free_unpacked(inv, NULL);

	cr_assert_eq(image_read_single(tmp_dirfd, IMAGE_CORE, 7, &msg), -ENOENT);
	cr_assert_str_eq(logged(), "", "a missing file is for the caller to report");
}

Test(image, read_single_refuses_an_empty_single_record_image)
{
	struct image_writer *w;
	ProtobufCMessage *msg;

	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_FS, 9, &w), 0);
	cr_assert_eq(image_writer_close(w), 0);
	cr_assert_eq(image_read_single(tmp_dirfd, IMAGE_FS, 9, &msg), -EBADMSG);
	expect_one_error_line("image 'fs-9.img' record 0: a fs image must hold one record");
}

Test(image, raw_pages_round_trip_with_offsets)
{
	static uint8_t small[5000], big[200000], back[200000];
	struct image_writer *w;
	struct image_reader *r;
	uint64_t size;

	for (size_t i = 0; i < sizeof(small); i++)
		small[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_PAGES, 5, &w), 0);
	cr_assert_eq(image_write_raw(w, small, sizeof(small)), 0);
	cr_assert_eq(image_writer_offset(w), sizeof(small));
	cr_assert_eq(image_write_raw(w, big, sizeof(big)), 0);
	cr_assert_eq(image_write_raw(w, small, 10), 0);
	cr_assert_eq(image_writer_close(w), 0);

	cr_assert_eq(image_reader_open(tmp_dirfd, IMAGE_PAGES, 5, &r), 0);
	cr_assert_eq(image_reader_raw_size(r, &size), 0);
	cr_assert_eq(size, sizeof(small) + sizeof(big) + 10);
	cr_assert_eq(image_pread_raw(r, back, sizeof(big), sizeof(small)), 0);
	cr_assert_eq(memcmp(back, big, sizeof(big)), 0);
	cr_assert_eq(image_read_raw(r, back, sizeof(small)), (ssize_t)sizeof(small));
	cr_assert_eq(memcmp(back, small, sizeof(small)), 0);
	cr_assert_eq(image_read_raw(r, back, sizeof(back)), (ssize_t)sizeof(back));
	cr_assert_eq(image_read_raw(r, back, sizeof(back)), 10);
	cr_assert_eq(memcmp(back, small, 10), 0);
	cr_assert_eq(image_read_raw(r, back, sizeof(back)), 0);
	cr_assert_str_eq(logged(), "");

	cr_assert_eq(image_pread_raw(r, back, 20, size - 10), -EBADMSG);
	expect_one_error_line("image 'pages-5.img': truncated data (10 of 20 bytes");
	image_reader_free(r);
}

Test(image, raw_data_starts_at_the_aligned_offset_after_a_zeroed_header)
{
	static uint8_t file[IMAGE_RAW_DATA_OFFSET + 8192];
	uint8_t page[4096];
	struct image_writer *w;
	uint32_t magic = image_kind_magic(IMAGE_PAGES);
	int fd;

	memset(page, 0xab, sizeof(page));
	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_PAGES, 6, &w), 0);
	cr_assert_eq(image_writer_offset(w), 0);
	cr_assert_eq(image_write_raw(w, page, sizeof(page)), 0);
	cr_assert_eq(image_writer_offset(w), sizeof(page), "offsets count from the data start");
	cr_assert_eq(image_writer_close(w), 0);

	fd = openat(tmp_dirfd, "pages-6.img", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, file, sizeof(file)), IMAGE_RAW_DATA_OFFSET + sizeof(page));
	close(fd);
	cr_assert_eq(memcmp(file, &magic, IMAGE_MAGIC_SIZE), 0);
	for (size_t i = IMAGE_MAGIC_SIZE; i < IMAGE_RAW_DATA_OFFSET; i++)
		cr_assert_eq(file[i], 0, "header byte %zu", i);
	cr_assert_eq(memcmp(file + IMAGE_RAW_DATA_OFFSET, page, sizeof(page)), 0);
}

Test(image, raw_header_matches_what_the_writer_puts)
{
	static uint8_t header[IMAGE_RAW_DATA_OFFSET];
	struct buf b = {.len = 0};

	memset(header, 0xff, sizeof(header));
	image_raw_header(IMAGE_PAGES, header);
	put_raw_header(&b, IMAGE_PAGES);
	cr_assert_eq(b.len, sizeof(header));
	cr_assert_eq(memcmp(header, b.data, sizeof(header)), 0);
}

Test(image, a_pages_image_of_format_version_1_is_refused_on_open)
{
	struct buf b = {.len = 0};
	struct image_reader *r = NULL;
	uint8_t page[4096];

	/* version 1: the data right after the magic */
	memset(page, 0x5a, sizeof(page));
	put_le32(&b, image_kind_magic(IMAGE_PAGES));
	put(&b, page, sizeof(page));
	cr_assert_eq(
	    image_reader_open_fd(memfd_with(b.data, b.len), IMAGE_PAGES, "pages-1.img", &r),
	    -EBADMSG);
	expect_one_error_line("image 'pages-1.img': nonzero byte at offset 4 of the 4096-byte "
			      "header");

	clear_log();
	b.len = 0;
	put_le32(&b, image_kind_magic(IMAGE_PAGES));
	put(&b, page, 100);
	cr_assert_eq(image_reader_open_fd(memfd_with(b.data, b.len), -1, "pages-2.img", &r),
		     -EBADMSG);
	expect_one_error_line("image 'pages-2.img': truncated header (104 of 4096 bytes)");
}

Test(image, a_record_bigger_than_the_write_buffer_round_trips)
{
	static uint8_t data[300000];
	FileDataEntry e = FILE_DATA_ENTRY__INIT, *back;
	struct image_writer *w;
	ProtobufCMessage *msg;

	memset(data, 0x5a, sizeof(data));
	e.kind = FILE_DATA_KIND__FILE_DATA_KIND_FILE;
	e.has_data = true;
	e.data.data = data;
	e.data.len = sizeof(data);
	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_FILE_DATA, 0, &w), 0);
	cr_assert_eq(image_write_entry(w, sample(IMAGE_FILE_DATA, 0)), 0);
	cr_assert_eq(image_write_entry(w, &e.base), 0);
	cr_assert_eq(image_write_entry(w, sample(IMAGE_FILE_DATA, 1)), 0);
	cr_assert_eq(image_writer_close(w), 0);

	cr_assert_eq(image_read_single(tmp_dirfd, IMAGE_FILE_DATA, 0, &msg), -EBADMSG,
		     "three records are not one");
	expect_one_error_line("record 1: expected one record");
	{
		struct image_reader *r;

		cr_assert_eq(image_reader_open(tmp_dirfd, IMAGE_FILE_DATA, 0, &r), 0);
		cr_assert_eq(image_read_entry(r, &msg), 1);
		free_msg(msg);
		cr_assert_eq(image_read_entry(r, &msg), 1);
		back = (FileDataEntry *)msg;
		cr_assert_eq(back->data.len, sizeof(data));
		cr_assert_eq(memcmp(back->data.data, data, sizeof(data)), 0);
		free_msg(msg);
		cr_assert_eq(image_read_entry(r, &msg), 1);
		free_msg(msg);
		cr_assert_eq(image_read_entry(r, &msg), 0);
		image_reader_free(r);
	}
}

Test(image, writing_twenty_thousand_small_records_is_fast)
{
	struct image_writer *w;
	struct timespec t0, t1;
	FdEntry e = FD_ENTRY__INIT;
	int fd = memfd_create("fdinfo", MFD_CLOEXEC);
	double ms;

	cr_assert_geq(fd, 0);
	cr_assert_eq(image_writer_open_fd(fd, IMAGE_FDINFO, "fdinfo-1.img", &w), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20000; i++) {
		e.fd = i;
		e.file_id = (uint32_t)i;
		cr_assert_eq(image_write_entry(w, &e.base), 0);
	}
	cr_assert_eq(image_writer_close(w), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_log_info("20000 records written in %.3f ms, protobuf packing included", ms);
	/* Generous bound so sanitizer builds pass; a writer doing one write() per record takes
	 * tens of milliseconds here already. */
	cr_assert_lt(ms, 50.0, "writing took %.3f ms", ms);
}

/* ---- hostile and corrupt inputs ------------------------------------------------------------- */

Test(image, oversized_length_is_refused_naming_file_and_record)
{
	struct buf b = {.len = 0};
	struct image_error err;
	size_t n;

	put_le32(&b, image_kind_magic(IMAGE_FDINFO));
	for (int i = 0; i < 3; i++)
		put_fd_entry(&b, i);
	put_le32(&b, 0xffffffffu);
	cr_assert_eq(read_all(&b, IMAGE_FDINFO, "fdinfo-42.img", &n), -EBADMSG);
	cr_assert_eq(n, 3);
	expect_one_error_line("minicr: error: image 'fdinfo-42.img' record 3: length 4294967295 "
			      "exceeds the 16 MiB cap");
	cr_assert_eq(decode_all(&b, IMAGE_FDINFO, &err), -EBADMSG);
	cr_assert_eq(err.record, 3);
}

Test(image, a_length_just_over_the_cap_is_refused_and_the_cap_itself_is_not)
{
	struct buf b = {.len = 0};
	struct image_error err;

	put_le32(&b, image_kind_magic(IMAGE_FDINFO));
	put_le32(&b, IMAGE_RECORD_MAX + 1);
	cr_assert_eq(read_all(&b, IMAGE_FDINFO, "f.img", NULL), -EBADMSG);
	expect_one_error_line("record 0: length 16777217 exceeds");

	b.len = 4;
	put_le32(&b, IMAGE_RECORD_MAX);
	cr_assert_eq(decode_all(&b, IMAGE_FDINFO, &err), -EBADMSG);
	cr_assert_not_null(strstr(err.what, "truncated record"), "%s", err.what);
}

Test(image, truncated_inputs_are_refused_at_every_cut)
{
	struct buf full = {.len = 0};
	size_t record_ends[4];

	put_le32(&full, image_kind_magic(IMAGE_FDINFO));
	record_ends[0] = full.len;
	for (int i = 0; i < 3; i++) {
		put_fd_entry(&full, i + 1000);
		record_ends[i + 1] = full.len;
	}
	/* Every length but the ends of whole records must fail, with exactly one line. */
	for (size_t cut = 0; cut < full.len; cut++) {
		struct buf b = full;
		struct image_error err;
		bool at_boundary = false;
		int ret;

		for (int i = 0; i < 4; i++)
			at_boundary |= cut == record_ends[i];
		b.len = cut;
		clear_log();
		ret = read_all(&b, IMAGE_FDINFO, "fdinfo-7.img", NULL);
		cr_assert_eq(ret, at_boundary ? 0 : -EBADMSG, "cut at %zu", cut);
		cr_assert_eq(decode_all(&b, IMAGE_FDINFO, &err), ret, "cut at %zu", cut);
		if (!at_boundary) {
			cr_assert_eq(count_lines(logged()), 1, "cut %zu: %s", cut, logged());
			cr_assert_not_null(strstr(logged(), "truncated"), "%s", logged());
		}
	}
}

Test(image, partial_length_and_partial_record_name_the_record)
{
	struct buf b = {.len = 0};
	uint8_t half[2] = {1, 0};

	put_le32(&b, image_kind_magic(IMAGE_PSTREE));
	put(&b, half, 2);
	cr_assert_eq(read_all(&b, IMAGE_PSTREE, "pstree.img", NULL), -EBADMSG);
	expect_one_error_line("image 'pstree.img' record 0: truncated length (2 of 4 bytes)");

	clear_log();
	b.len = 4;
	put_le32(&b, 10);
	put(&b, "abcde", 5);
	cr_assert_eq(read_all(&b, IMAGE_PSTREE, "pstree.img", NULL), -EBADMSG);
	expect_one_error_line("image 'pstree.img' record 0: truncated record (5 of 10 bytes)");
}

Test(image, wrong_and_foreign_magic_are_refused)
{
	struct buf b = {.len = 0};
	struct image_error err;

	put_le32(&b, 0xdeadbeef);
	cr_assert_eq(read_all(&b, -1, "x.img", NULL), -EBADMSG);
	expect_one_error_line("image 'x.img': bad magic 0xdeadbeef");
	cr_assert_eq(decode_all(&b, -1, &err), -EBADMSG);
	cr_assert_eq(err.record, IMAGE_ERROR_NO_RECORD);

	clear_log();
	b.len = 0;
	put_le32(&b, image_kind_magic(IMAGE_PSTREE));
	cr_assert_eq(read_all(&b, IMAGE_FDINFO, "fdinfo-1.img", NULL), -EBADMSG);
	expect_one_error_line("is a pstree image, expected fdinfo");

	clear_log();
	b.len = 2;
	cr_assert_eq(read_all(&b, -1, "short.img", NULL), -EBADMSG);
	expect_one_error_line("image 'short.img': truncated magic (2 of 4 bytes)");
}

Test(image, an_empty_record_image_is_valid_and_empty)
{
	struct buf b = {.len = 0};
	size_t n = 99;

	put_le32(&b, image_kind_magic(IMAGE_FDINFO));
	cr_assert_eq(read_all(&b, -1, "fdinfo-1.img", &n), 0);
	cr_assert_eq(n, 0);
}

Test(image, undecodable_records_are_refused)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
	    {"garbage", "\xff\xff\xff\xff\xff", 5},
	    {"missing required fd", "\x10\x01", 2},
	    {"empty record", "", 0},
	    {"varint running off the end", "\x08\xff", 2},
	    {"length-delimited field longer than the record", "\x08\x01\x10\x01\x1a\x7f", 6},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = {.len = 0};
		struct image_error err;

		clear_log();
		put_le32(&b, image_kind_magic(IMAGE_FDINFO));
		put_fd_entry(&b, 1);
		put_le32(&b, (uint32_t)cases[i].len);
		put(&b, cases[i].bytes, cases[i].len);
		cr_assert_eq(read_all(&b, IMAGE_FDINFO, "fdinfo-3.img", NULL), -EBADMSG, "%s",
			     cases[i].what);
		expect_one_error_line("image 'fdinfo-3.img' record 1: cannot decode");
		cr_assert_eq(decode_all(&b, IMAGE_FDINFO, &err), -EBADMSG);
		cr_assert_eq(err.record, 1);
	}
}

Test(image, a_second_record_in_a_single_record_kind_is_refused)
{
	static const enum image_kind singles[] = {IMAGE_INVENTORY, IMAGE_FS, IMAGE_CORE, IMAGE_MM};

	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		struct buf b = {.len = 0};
		struct image_error err;
		size_t n;

		clear_log();
		put_le32(&b, image_kind_magic(singles[i]));
		put_record(&b, sample(singles[i], 0));
		put_record(&b, sample(singles[i], 0));
		cr_assert_eq(read_all(&b, -1, "one.img", &n), -EBADMSG);
		cr_assert_eq(n, 1, "the first record was fine");
		expect_one_error_line("image 'one.img' record 1: a ");
		cr_assert_eq(decode_all(&b, -1, &err), -EBADMSG);
		cr_assert_eq(err.record, 1);
	}
}

Test(image, a_newer_or_zero_format_version_is_refused)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct buf b = {.len = 0};
	InventoryEntry *back;
	struct image_writer *w;
	char newer[64];

	snprintf(newer, sizeof(newer), "format version %d is newer", IMAGE_FORMAT_VERSION + 1);
	inv.format_version = IMAGE_FORMAT_VERSION + 1;
	put_le32(&b, image_kind_magic(IMAGE_INVENTORY));
	put_record(&b, &inv.base);
	cr_assert_eq(read_all(&b, IMAGE_INVENTORY, "inventory.img", NULL), -EBADMSG);
	expect_one_error_line(newer);

	/* The same through the directory API. */
	clear_log();
	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_INVENTORY, 0, &w), 0);
	cr_assert_eq(image_write_entry(w, &inv.base), 0);
	cr_assert_eq(image_writer_close(w), 0);
	cr_assert_eq(image_read_inventory(tmp_dirfd, &back), -EBADMSG);
	expect_one_error_line(newer);

	clear_log();
	inv.format_version = 0;
	b.len = 4;
	put_record(&b, &inv.base);
	cr_assert_eq(read_all(&b, IMAGE_INVENTORY, "inventory.img", NULL), -EBADMSG);
	expect_one_error_line("format version 0 is invalid");
}

Test(image, an_inventory_older_than_the_aligned_pages_layout_is_refused)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct buf b = {.len = 0};
	InventoryEntry *back;
	struct image_writer *w;
	char older[160];

	snprintf(older, sizeof(older),
		 "image 'inventory.img' record 0: format version 1 is older than this minicr reads "
		 "(%d): the pages layout changed, dump again",
		 IMAGE_FORMAT_VERSION_MIN);
	inv.format_version = 1;
	put_le32(&b, image_kind_magic(IMAGE_INVENTORY));
	put_record(&b, &inv.base);
	cr_assert_eq(read_all(&b, IMAGE_INVENTORY, "inventory.img", NULL), -EBADMSG);
	expect_one_error_line(older);

	clear_log();
	cr_assert_eq(image_writer_open(tmp_dirfd, IMAGE_INVENTORY, 0, &w), 0);
	cr_assert_eq(image_write_entry(w, &inv.base), 0);
	cr_assert_eq(image_writer_close(w), 0);
	cr_assert_eq(image_read_inventory(tmp_dirfd, &back), -EBADMSG);
	expect_one_error_line("format version 1 is older");
}

Test(image, a_missing_inventory_is_an_error_for_read_inventory)
{
	InventoryEntry *inv;

	cr_assert_eq(image_read_inventory(tmp_dirfd, &inv), -ENOENT);
	expect_one_error_line("cannot open image 'inventory.img'");
}

/* ---- images in memory ------------------------------------------------------------------------ */

Test(image, a_memory_reader_returns_records_in_order_without_logging)
{
	struct buf b = {.len = 0};
	struct image_reader *r = NULL;
	ProtobufCMessage *msg;
	int sum = 0, n = 0, ret;

	put_le32(&b, image_kind_magic(IMAGE_FDINFO));
	for (int i = 1; i <= 3; i++)
		put_fd_entry(&b, i);
	cr_assert_eq(image_reader_open_mem(b.data, b.len, -1, "mem.img", &r), 0);
	cr_assert_eq(image_reader_kind(r), IMAGE_FDINFO);
	while ((ret = image_read_entry(r, &msg)) > 0) {
		cr_assert_eq(msg->descriptor, &fd_entry__descriptor);
		sum += ((const FdEntry *)msg)->fd;
		n++;
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	cr_assert_eq(ret, 0);
	cr_assert_eq(sum, 6);
	cr_assert_eq(n, 3);
	image_reader_free(r);

	/* a bad record is reported through the error, not the log */
	put_le32(&b, 5);
	put(&b, "xxxxx", 5);
	cr_assert_eq(image_reader_open_mem(b.data, b.len, -1, "mem.img", &r), 0);
	while ((ret = image_read_entry(r, &msg)) > 0)
		protobuf_c_message_free_unpacked(msg, NULL);
	cr_assert_eq(ret, -EBADMSG);
	cr_assert_eq(image_reader_error(r)->record, 3);
	image_reader_free(r);
	cr_assert_str_eq(logged(), "", "the memory reader never logs");
}

static int raw_size_of(const struct buf *b, uint64_t *size, struct image_error *err)
{
	struct image_reader *r = NULL;
	int ret = image_reader_open_mem(b->data, b->len, IMAGE_PAGES, "pages.img", &r);

	if (ret == 0)
		ret = image_reader_raw_size(r, size);
	else if (r)
		*err = *image_reader_error(r);
	image_reader_free(r);
	return ret;
}

Test(image, decode_reports_raw_size_for_pages)
{
	struct buf b = {.len = 0};
	struct image_error err;
	uint64_t size = 0;
	char data[10];

	put_raw_header(&b, IMAGE_PAGES);
	put(&b, "0123456789", 10);
	cr_assert_eq(raw_size_of(&b, &size, &err), 0);
	cr_assert_eq(size, 10);
	{
		struct image_reader *r = NULL;

		cr_assert_eq(image_reader_open_mem(b.data, b.len, IMAGE_PAGES, "p.img", &r), 0);
		cr_assert_eq(image_pread_raw(r, data, 4, 6), 0);
		cr_assert_eq(memcmp(data, "6789", 4), 0);
		cr_assert_eq(image_pread_raw(r, data, 5, 6), -EBADMSG);
		image_reader_free(r);
	}
}

Test(image, decode_refuses_a_raw_header_that_is_short_or_not_zero)
{
	struct buf b = {.len = 0};
	struct image_error err;
	uint64_t size = 1;

	put_raw_header(&b, IMAGE_PAGES);
	cr_assert_eq(raw_size_of(&b, &size, &err), 0);
	cr_assert_eq(size, 0, "a header alone is an empty pages image");
	b.len--;
	cr_assert_eq(raw_size_of(&b, &size, &err), -EBADMSG);
	cr_assert_str_eq(err.what, "truncated header (4095 of 4096 bytes)");
	cr_assert_eq(err.record, IMAGE_ERROR_NO_RECORD);
	b.len++;
	b.data[IMAGE_RAW_DATA_OFFSET - 1] = 1;
	cr_assert_eq(raw_size_of(&b, &size, &err), -EBADMSG);
	cr_assert_not_null(strstr(err.what, "nonzero byte at offset 4095"), "%s", err.what);
}

/* ---- writer errors -------------------------------------------------------------------------- */

Test(image, a_full_disk_is_reported_once_naming_the_file)
{
	struct image_writer *w;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(image_writer_open_fd(fd, IMAGE_PSTREE, "pstree.img", &w), 0);
	/* Small: stays in the buffer; the error comes at close. */
	cr_assert_eq(image_write_entry(w, sample(IMAGE_PSTREE, 0)), 0);
	cr_assert_eq(image_writer_close(w), -ENOSPC);
	expect_one_error_line("cannot write image 'pstree.img': No space left on device");
}

Test(image, a_full_disk_fails_the_write_that_flushes_and_every_later_one)
{
	struct image_writer *w;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	int ret = 0, i;

	cr_assert_geq(fd, 0);
	cr_assert_eq(image_writer_open_fd(fd, IMAGE_FILE_DATA, "file-data.img", &w), 0);
	for (i = 0; i < 1000 && ret == 0; i++)
		ret = image_write_entry(w, sample(IMAGE_FILE_DATA, 0));
	cr_assert_eq(ret, -ENOSPC);
	cr_assert_lt(i, 100, "the buffer is flushed every 64 KiB");
	cr_assert_eq(image_write_entry(w, sample(IMAGE_FILE_DATA, 0)), -ENOSPC);
	cr_assert_eq(image_writer_close(w), -ENOSPC);
	expect_one_error_line("cannot write image 'file-data.img': No space left on device");
}

Test(image, raw_writes_to_a_full_disk_fail)
{
	static uint8_t page[100000];
	struct image_writer *w;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	cr_assert_eq(image_writer_open_fd(fd, IMAGE_PAGES, "pages-1.img", &w), 0);
	cr_assert_eq(image_write_raw(w, page, sizeof(page)), -ENOSPC);
	cr_assert_eq(image_writer_close(w), -ENOSPC);
	expect_one_error_line("pages-1.img");
}

Test(image, writer_refuses_records_of_the_wrong_type_or_count)
{
	struct image_writer *w;
	int fd = memfd_create("x", MFD_CLOEXEC);

	cr_assert_eq(image_writer_open_fd(fd, IMAGE_FDINFO, "fdinfo-1.img", &w), 0);
	cr_assert_eq(image_write_entry(w, sample(IMAGE_PSTREE, 0)), -EINVAL);
	expect_one_error_line("a pstree_entry record does not belong in a fdinfo image");
	cr_assert_eq(image_writer_close(w), -EINVAL);

	clear_log();
	fd = memfd_create("x", MFD_CLOEXEC);
	cr_assert_eq(image_writer_open_fd(fd, IMAGE_MM, "mm-1.img", &w), 0);
	cr_assert_eq(image_write_entry(w, sample(IMAGE_MM, 0)), 0);
	cr_assert_eq(image_write_entry(w, sample(IMAGE_MM, 0)), -EINVAL);
	cr_assert_eq(image_write_raw(w, "x", 1), -EINVAL);
	image_writer_free(w);
	expect_one_error_line("a mm image holds one record");
}

Test(image, reading_records_from_raw_and_raw_from_records_is_refused)
{
	struct buf b = {.len = 0};
	struct image_reader *r;
	ProtobufCMessage *msg;
	char c;

	put_raw_header(&b, IMAGE_PAGES);
	cr_assert_eq(image_reader_open_fd(memfd_with(b.data, b.len), -1, "pages-1.img", &r), 0);
	cr_assert_eq(image_read_entry(r, &msg), -EINVAL);
	image_reader_free(r);
	b.len = 0;
	put_le32(&b, image_kind_magic(IMAGE_FDINFO));
	cr_assert_eq(image_reader_open_fd(memfd_with(b.data, b.len), -1, "fdinfo-1.img", &r), 0);
	cr_assert_eq(image_read_raw(r, &c, 1), -EINVAL);
	image_reader_free(r);
}

/* ---- path checks ---------------------------------------------------------------------------- */

Test(image, path_check_accepts_ordinary_relative_paths)
{
	static const char *const good[] = {
	    "a",	   "a/b/c", "./a", "a/./b",   "a//b", "a/b/",
	    ".",	   "..a",   "a..", "a/..b/c", "...",  "dir/file with spaces",
	    "caf\xc3\xa9",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(image_path_check(good[i], 0, NULL), 0, "%s", good[i]);
}

/* Names are bytes (rule 5): control characters, tabs, newlines and backslashes are valid in a
 * name and only escaped when shown; what is refused is what could escape (.., absolute, NUL). */
Test(image, path_check_accepts_any_byte_but_nul_in_names)
{
	static const char *const names[] = {"a\nb",	 "a\x01",	"a\x7f",
					    "tab\there", "back\\slash", "\xff\xfe"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_eq(image_path_check(names[i], 0, NULL), 0, "'%s'", names[i]);
}

Test(image, path_check_refuses_escapes)
{
	static const char *const bad[] = {
	    "..", "../a", "a/..", "a/../b", "a/b/../../..", "/a", "/", "", "./..", "a/../",
	};
	const char *reason;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason = NULL;
		cr_assert_eq(image_path_check(bad[i], 0, &reason), -EINVAL, "'%s'", bad[i]);
		cr_assert_not_null(reason);
	}
	cr_assert_eq(image_path_check(NULL, 0, &reason), -EINVAL);
	cr_assert_eq(image_path_check_len("a\0b", 3, 0, &reason), -EINVAL);
	cr_assert_str_eq(reason, "path contains a NUL byte");
	cr_assert_eq(image_path_check("/etc/../x", IMAGE_PATH_ALLOW_ABSOLUTE, &reason), -EINVAL);
	cr_assert_str_eq(reason, "path contains a '..' component");
}

Test(image, path_check_allows_absolute_paths_only_when_asked)
{
	const char *reason;

	cr_assert_eq(image_path_check("/etc/hostname", IMAGE_PATH_ALLOW_ABSOLUTE, NULL), 0);
	cr_assert_eq(image_path_check("/", IMAGE_PATH_ALLOW_ABSOLUTE, NULL), 0);
	cr_assert_eq(image_path_check("/etc/hostname", 0, &reason), -EINVAL);
	cr_assert_str_eq(reason, "path is absolute where it must be relative");
}

Test(image, path_check_single_name_refuses_slashes_and_dots)
{
	cr_assert_eq(image_path_check("memfd-name", IMAGE_PATH_SINGLE_NAME, NULL), 0);
	cr_assert_eq(image_path_check("a/b", IMAGE_PATH_SINGLE_NAME, NULL), -EINVAL);
	cr_assert_eq(image_path_check(".", IMAGE_PATH_SINGLE_NAME, NULL), -EINVAL);
	cr_assert_eq(image_path_check("..", IMAGE_PATH_SINGLE_NAME, NULL), -EINVAL);
}

Test(image, path_check_refuses_paths_of_path_max_bytes)
{
	static char long_path[PATH_MAX + 1];

	memset(long_path, 'a', PATH_MAX);
	cr_assert_eq(image_path_check(long_path, 0, NULL), -EINVAL);
	long_path[PATH_MAX - 1] = '\0';
	cr_assert_eq(image_path_check(long_path, 0, NULL), 0);
}

/* ---- rendering ------------------------------------------------------------------------------ */

static char *render(const ProtobufCMessage *msg, bool json)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	if (json)
		cr_assert_eq(image_render_json(f, msg), 0);
	else
		cr_assert_eq(image_render_text(f, msg, 2), 0);
	fclose(f);
	return out;
}

Test(image, text_shows_nested_repeated_enum_and_truncated_bytes)
{
	char *dm = render(sample(IMAGE_DETACHED_MNT, 0), false);
	char *core = render(sample(IMAGE_CORE, 0), false);
	char *mnt = render(sample(IMAGE_MNT, 0), false);
	char *mm = render(sample(IMAGE_MM, 0), false);

	cr_assert_str_eq(dm, "  id: 77\n"
			     "  root: \"/sub\"\n"
			     "  users {\n"
			     "    pid: 100\n"
			     "    fd: 3\n"
			     "    path: \"dir/file\"\n"
			     "  }\n"
			     "  users {\n"
			     "    pid: 100\n"
			     "    fd: 4\n"
			     "    path: \"dir/file\"\n"
			     "  }\n");
	cr_assert_not_null(strstr(core, "    gpregs: <216 bytes> 1111111111111111111111111111111111"
					"111111111111111111111111111111...\n"),
			   "%s", core);
	cr_assert_not_null(strstr(mnt, "propagation: MNT_PROPAGATION_SHARED\n"), "%s", mnt);
	cr_assert_not_null(strstr(mnt, "mnt_id: 4294967296 (0x100000000)\n"), "%s", mnt);
	cr_assert_not_null(strstr(mm, "auxv: [6, 4096, 0, 0]\n"), "%s", mm);
	free(dm);
	free(core);
	free(mnt);
	free(mm);
}

Test(image, json_shows_fields_arrays_enums_and_bytes)
{
	char *dm = render(sample(IMAGE_DETACHED_MNT, 1), true);
	char *fd = render(sample(IMAGE_FDINFO, 2), true);
	char *ps = render(sample(IMAGE_PSTREE, 1), true);
	ThreadCoreEntry t = THREAD_CORE_ENTRY__INIT;
	char *th;

	t.tid = 5;
	t.has_gpregs = true;
	t.gpregs.data = (uint8_t *)"\x00\xff\x10";
	t.gpregs.len = 3;
	th = render(&t.base, true);
	cr_assert_str_eq(dm,
			 "{\"id\": 78, \"root\": \"/sub\", \"users\": [{\"pid\": 100, \"fd\": 3, "
			 "\"path\": \"dir/file\"}, {\"pid\": 100, \"fd\": 4, \"path\": "
			 "\"dir/file\"}]}");
	cr_assert_str_eq(fd, "{\"fd\": 2, \"file_id\": 12, \"type\": \"FD_TYPE_PIPE\"}");
	cr_assert_str_eq(ps, "{\"pid\": 101, \"ppid\": 100, \"threads\": [100, 101], "
			     "\"comm\": \"victim\"}");
	cr_assert_str_eq(th, "{\"tid\": 5, \"gpregs\": {\"len\": 3, \"hex\": \"00ff10\"}}");
	free(dm);
	free(fd);
	free(ps);
	free(th);
}

Test(image, json_strings_are_escaped_into_valid_json)
{
	PstreeEntry e = PSTREE_ENTRY__INIT;
	char *out;

	e.pid = 1;
	e.comm = "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xff\xc3 end";
	out = render(&e.base, true);
	cr_assert_str_eq(out, "{\"pid\": 1, \"comm\": \"q\\\"b\\\\n\\nt\\tc\\u0001 \xc3\xa9 "
			      "bad\\udcff\\udcc3 end\"}");
	free(out);
	/* text: the escapes of vis(3) that log lines use too */
	out = render(&e.base, false);
	cr_assert_str_eq(out, "  pid: 1\n  comm: \"q\\\"b\\\\n\\nt\\tc\\001 \xc3\xa9 "
			      "bad\\377\\303 end\"\n");
	free(out);
}

Test(image, unknown_enum_values_render_as_numbers)
{
	FdEntry e = FD_ENTRY__INIT;
	char *out;

	e.has_type = true;
	e.type = (FdType)99;
	out = render(&e.base, true);
	cr_assert_str_eq(out, "{\"fd\": 0, \"file_id\": 0, \"type\": 99}");
	free(out);
}

/* ---- minicr show ---------------------------------------------------------------------------- */

static void setup_show(void)
{
	setup();
	cr_redirect_stdout();
}

TestSuite(show, .init = setup_show, .fini = teardown);

static void write_sample(enum image_kind kind, uint64_t id)
{
	struct image_writer *w;

	cr_assert_eq(image_writer_open(tmp_dirfd, kind, id, &w), 0);
	if (image_kind_is_raw(kind))
		cr_assert_eq(image_write_raw(w, "0123456789", 10), 0);
	else
		cr_assert_eq(image_write_entry(w, sample(kind, 0)), 0);
	cr_assert_eq(image_writer_close(w), 0);
}

static char *captured_stdout(void)
{
	static char buf[16384];
	FILE *f;
	size_t n;

	fflush(stdout);
	f = cr_get_redirected_stdout();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

Test(show, prints_inventory_first_then_files_by_name_with_numbers_in_order)
{
	const char *out, *p;
	static const char *const order[] = {
	    "inventory.img: inventory image, 1 record\n",
	    "core-9.img: core image",
	    "core-10.img: core image",
	    "detached-mnt.img: detached-mnt image",
	    "pages-3.img: pages image, 10 bytes of raw data\n",
	};

	write_sample(IMAGE_CORE, 10);
	write_sample(IMAGE_PAGES, 3);
	write_sample(IMAGE_DETACHED_MNT, 0);
	write_sample(IMAGE_CORE, 9);
	write_sample(IMAGE_INVENTORY, 0);
	cr_assert_eq(show_run(tmp_dir, false), 0);
	out = captured_stdout();
	p = out;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		p = strstr(p, order[i]);
		cr_assert_not_null(p, "'%s' missing or out of order in:\n%s", order[i], out);
	}
	cr_assert_not_null(strstr(out, "    users {\n      pid: 100\n      fd: 3\n"), "%s", out);
	cr_assert_str_eq(logged(), "");
}

Test(show, json_of_a_directory_is_one_object_keyed_by_file_name)
{
	write_sample(IMAGE_FDINFO, 1);
	write_sample(IMAGE_PAGES, 1);
	cr_assert_eq(show_run(tmp_dir, true), 0);
	cr_assert_str_eq(captured_stdout(),
			 "{\n"
			 "\"fdinfo-1.img\": [\n"
			 "  {\"fd\": 0, \"file_id\": 10, \"type\": \"FD_TYPE_PIPE\"}\n"
			 "],\n"
			 "\"pages-1.img\": {\"size\": 10}\n"
			 "}\n");
}

Test(show, a_corrupt_image_gives_one_error_line_and_no_output)
{
	int fd;

	write_sample(IMAGE_INVENTORY, 0);
	write_sample(IMAGE_FDINFO, 42);
	fd = openat(tmp_dirfd, "fdinfo-42.img", O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_eq(write(fd, "\xff\xff\xff\xff", 4), 4);
	close(fd);
	cr_assert_eq(show_run(tmp_dir, false), -EBADMSG);
	cr_assert_str_eq(captured_stdout(), "");
	expect_one_error_line("image 'fdinfo-42.img' record 1: length 4294967295 exceeds");
}

Test(show, a_single_file_is_shown_by_its_path)
{
	char path[sizeof(tmp_dir) + 32];

	write_sample(IMAGE_MM, 7);
	snprintf(path, sizeof(path), "%s/mm-7.img", tmp_dir);
	cr_assert_eq(show_run(path, false), 0);
	cr_assert_not_null(strstr(captured_stdout(), "mm-7.img: mm image, 1 record\n  #0 MmEntry\n"
						     "    pid: 100\n    auxv: [6, 4096, 0, 0]\n"));
}

Test(show, names_syscalls_seccomp_tests_and_capabilities_of_a_task)
{
	TaskCoreEntry core = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry t = THREAD_CORE_ENTRY__INIT, *threads[] = {&t};
	CredsEntry creds = CREDS_ENTRY__INIT;
	struct user_regs_struct regs;
	uint8_t filter[2 * 8] = {0};
	ProtobufCBinaryData filters[1];
	uint16_t jeq = 0x15;
	uint32_t nr_write = 1;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	memset(&regs, 0, sizeof(regs));
	regs.orig_rax = 35; /* nanosleep */
	regs.rax = 35;
	t.tid = 42;
	t.has_gpregs = true;
	t.gpregs.data = (uint8_t *)&regs;
	t.gpregs.len = sizeof(regs);
	core.n_threads = 1;
	core.threads = threads;
	memcpy(filter + 8, &jeq, sizeof(jeq));
	memcpy(filter + 12, &nr_write, sizeof(nr_write));
	filters[0].data = filter;
	filters[0].len = sizeof(filter);
	core.n_seccomp_filters = 1;
	core.seccomp_filters = filters;
	creds.has_cap_eff = creds.has_cap_prm = true;
	creds.cap_eff = creds.cap_prm = 1ULL << 0; /* cap_chown */
	creds.has_cap_bnd = true;
	creds.cap_bnd = 1ULL << 5; /* cap_kill */
	core.creds = &creds;
	cr_assert_not_null(f);
	show_task_core(f, &core);
	fclose(f);
	cr_assert_not_null(strstr(out, "thread 42: stopped in nanosleep (35), restarted on resume"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "seccomp filter 0: 2 instructions; tests write (1)"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "capabilities: cap_chown=ep"), "%s", out);
	cr_assert_not_null(strstr(out, "bounding set: cap_kill"), "%s", out);
	free(out);
}
