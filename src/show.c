/* show.c: `minicr show`: print images as text or JSON. Every file is validated completely
 * before anything is printed, so a corrupt image gives one error line and no half output. */
#define LOG_PREFIX "show: "
#include "show.h"

#include <bsd/libutil.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.pb-c.h"
#include "image-read.h"
#include "image-set/image-set.h"
#include "image-render.h"
#include "base/log.h"
#include "base/util.h"
#include "show-task.h"

/* One image file to print, and what validating it found. */
struct show_file {
	char *name;
	enum image_kind kind;
	size_t n_records;
	uint64_t raw_size;
};

struct show_list {
	struct show_file *files;
	size_t n_files;
};

static void show_list_done(struct show_list *l)
{
	for (size_t i = 0; i < l->n_files; i++)
		free(l->files[i].name);
	free(l->files);
}

static void message_freep(ProtobufCMessage **msg)
{
	if (*msg)
		protobuf_c_message_free_unpacked(*msg, NULL);
}

/* Reads a whole image once to check it; the reader logs the one error line. */
static int validate(int dirfd, struct show_file *file)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	int ret;

	ret = image_reader_open_at(dirfd, file->name, &r);
	if (ret < 0)
		return ret;
	file->kind = image_reader_kind(r);
	if (image_kind_is_raw(file->kind))
		return image_reader_raw_size(r, &file->raw_size);
	for (;;) {
		cleanup(message_freep) ProtobufCMessage *msg = NULL;

		ret = image_read_entry(r, &msg);
		if (ret <= 0)
			return ret;
		file->n_records++;
	}
}

/* "N bytes of raw data", with the size in K/M/G beside it (humanize_number(3)) when large. */
static void print_raw_size(FILE *out, uint64_t size)
{
	char human[8];

	fprintf(out, "%llu bytes", (unsigned long long)size);
	if (size >= 10240 && humanize_number(human, sizeof(human), (int64_t)size, "", HN_AUTOSCALE,
					     HN_DECIMAL | HN_NOSPACE | HN_B) > 0)
		fprintf(out, " (%s)", human);
	fputs(" of raw data\n", out);
}

static int print_file(int dirfd, const struct show_file *file, bool json, FILE *out)
{
	cleanup(image_reader_freep) struct image_reader *r = NULL;
	int ret;

	if (json) {
		image_render_json_string(out, file->name, strlen(file->name));
		fputs(": ", out);
	} else {
		fprintf(out, "%s: %s image, ", file->name, image_kind_name(file->kind));
	}
	if (image_kind_is_raw(file->kind)) {
		if (json)
			fprintf(out, "{\"size\": %llu}", (unsigned long long)file->raw_size);
		else
			print_raw_size(out, file->raw_size);
		return 0;
	}
	if (json)
		fputc('[', out);
	else
		fprintf(out, "%zu record%s\n", file->n_records, file->n_records == 1 ? "" : "s");

	/* Read again: the file was validated, but it may have changed since, so errors still
	 * count. */
	ret = image_reader_open_at(dirfd, file->name, &r);
	for (size_t i = 0; ret >= 0; i++) {
		cleanup(message_freep) ProtobufCMessage *msg = NULL;

		ret = image_read_entry(r, &msg);
		if (ret <= 0)
			break;
		if (json) {
			fputs(i ? ",\n  " : "\n  ", out);
			image_render_json(out, msg);
		} else {
			fprintf(out, "  #%zu %s\n", i, msg->descriptor->short_name);
			image_render_text(out, msg, 4);
			if (msg->descriptor == &task_core_entry__descriptor)
				show_task_core(out, (const TaskCoreEntry *)msg);
		}
	}
	if (json)
		fputs(file->n_records ? "\n]" : "]", out);
	return ret;
}

static int print_all(int dirfd, const struct show_list *l, bool json, FILE *out)
{
	int ret = 0;

	if (json)
		fputs("{", out);
	for (size_t i = 0; i < l->n_files && ret >= 0; i++) {
		if (json)
			fputs(i ? ",\n" : "\n", out);
		else if (i)
			fputc('\n', out);
		ret = print_file(dirfd, &l->files[i], json, out);
	}
	if (json)
		fputs(l->n_files ? "\n}\n" : "}\n", out);
	if (ret < 0)
		return ret;
	if (fflush(out) != 0 || ferror(out))
		return pr_errno("cannot write the decoded images");
	return 0;
}

/* Inventory first (it says how to read the rest), then by name with numbers in numeric order,
 * so core-9.img comes before core-10.img. */
static int compare_files(const void *a, const void *b)
{
	const struct show_file *fa = a, *fb = b;
	bool inv_a = strcmp(fa->name, "inventory.img") == 0;
	bool inv_b = strcmp(fb->name, "inventory.img") == 0;

	if (inv_a != inv_b)
		return inv_a ? -1 : 1;
	return strverscmp(fa->name, fb->name);
}

static bool is_image_name(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && strcmp(name + len - 4, ".img") == 0;
}

static int list_dir(int dirfd, const char *path, struct show_list *l)
{
	cleanup_close int scan_fd = -EBADF;
	DIR *dir;
	size_t cap = 0;
	int ret = 0;

	scan_fd = dup(dirfd);
	if (scan_fd < 0)
		return pr_errno("cannot read images directory '%s'", path);
	dir = fdopendir(scan_fd);
	if (!dir)
		return pr_errno("cannot read images directory '%s'", path);
	TAKE_FD(scan_fd);
	while (ret == 0) {
		struct dirent *de;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				ret = pr_errno("cannot read images directory '%s'", path);
			break;
		}
		if (!is_image_name(de->d_name))
			continue;
		if (l->n_files == cap) {
			size_t new_cap = cap ? cap * 2 : 32;
			struct show_file *bigger = reallocarray(l->files, new_cap, sizeof(*bigger));

			if (!bigger) {
				ret = pr_neg(-ENOMEM, "cannot list images in '%s'", path);
				break;
			}
			l->files = bigger;
			cap = new_cap;
		}
		l->files[l->n_files] = (struct show_file){.name = strdup(de->d_name)};
		if (!l->files[l->n_files].name) {
			ret = pr_neg(-ENOMEM, "cannot list images in '%s'", path);
			break;
		}
		l->n_files++;
	}
	closedir(dir);
	if (ret < 0)
		return ret;
	if (l->n_files == 0) {
		pr_err("no images (*.img) in '%s'", path);
		return -ENOENT;
	}
	qsort(l->files, l->n_files, sizeof(*l->files), compare_files);
	return 0;
}

static bool has_file(const struct show_list *l, const char *name)
{
	for (size_t i = 0; i < l->n_files; i++)
		if (strcmp(l->files[i].name, name) == 0)
			return true;
	return false;
}

/* A directory holding an inventory and a process tree is an image set: it must pass restore's
 * own checks (the set as a whole: references, pids, paths, kinds), so show never presents as
 * valid what restore would refuse. Single files and loose images are checked one by one. */
static int validate_set(int dirfd, const struct show_list *l)
{
	struct image_set *set = NULL;
	struct rlimit nofile;
	int ret;

	if (!has_file(l, "inventory.img") || !has_file(l, "pstree.img"))
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return pr_errno("cannot read the fd limit");
	ret = image_set_load(
	    dirfd, image_set_fd_limit((int)(nofile.rlim_max < INT_MAX ? nofile.rlim_max : INT_MAX)),
	    &set);
	image_set_free(set);
	return ret;
}

static int show_list(int dirfd, struct show_list *l, bool json, bool is_dir, FILE *out)
{
	int ret;

	for (size_t i = 0; i < l->n_files; i++) {
		ret = validate(dirfd, &l->files[i]);
		if (ret < 0)
			return ret;
	}
	if (is_dir) {
		ret = validate_set(dirfd, l);
		if (ret < 0)
			return ret;
	}
	return print_all(dirfd, l, json, out);
}

int show_print(const char *path, bool json, FILE *out)
{
	struct show_list l = {0};
	cleanup_close int dirfd = -EBADF;
	struct stat st;
	int ret;

	if (stat(path, &st) < 0)
		return pr_errno("cannot access '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return pr_errno("cannot open images directory '%s'", path);
		ret = list_dir(dirfd, path, &l);
		if (ret == 0)
			ret = show_list(dirfd, &l, json, true, out);
	} else {
		const char *slash = strrchr(path, '/');
		cleanup_free char *parent = NULL;

		/* Open the file through its directory so messages and keys use its base name. */
		if (slash) {
			parent = strndup(path, (size_t)(slash - path) + 1);
			if (!parent)
				return -ENOMEM;
			dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0)
				return pr_errno("cannot open directory '%s'", parent);
		}
		l.files = calloc(1, sizeof(*l.files));
		if (l.files)
			l.files[0].name = strdup(slash ? slash + 1 : path);
		if (!l.files || !l.files[0].name) {
			show_list_done(&l);
			return pr_neg(-ENOMEM, "cannot show '%s'", path);
		}
		l.n_files = 1;
		ret = show_list(slash ? dirfd : AT_FDCWD, &l, json, false, out);
	}
	show_list_done(&l);
	return ret;
}

int show_run(const char *path, bool json)
{
	return show_print(path, json, stdout);
}
