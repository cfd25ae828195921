/* check.c: `minicr check`: run the kernel probes and print, for every feature, whether this
 * machine has it and what minicr does without it. */
#define LOG_PREFIX "check: "

#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/kerndat.h"
#include "base/log.h"
#include "base/util.h"

struct check_feature {
	const char *name;
	bool is_available;
	const char *fallback; /* what minicr does where the feature is missing */
};

/* clang-format off */
#define FEATURE(field, text) {#field, kd->field, text}
/* clang-format on */

/* Fills out[] (at least CHECK_MAX_FEATURES entries) and returns the count. */
#define CHECK_MAX_FEATURES 32
static size_t check_features(const struct kerndat *kd, struct check_feature *out)
{
	const struct check_feature features[] = {
	    FEATURE(ptrace_seize, "none: dump cannot freeze the tree"),
	    FEATURE(ptrace_interrupt, "none: dump cannot stop running tasks"),
	    FEATURE(ptrace_suspend_seccomp,
		    "tasks with seccomp filters may refuse the parasite's syscalls"),
	    FEATURE(ptrace_rseq_config,
		    "rseq registrations are not dumped; restored tasks run without rseq"),
	    FEATURE(clone3, "none: restore creates tasks with clone3"),
	    FEATURE(clone3_set_tid, "none: restore cannot give tasks their old pids"),
	    FEATURE(statmount, "mounts are read from /proc/PID/mountinfo"),
	    FEATURE(listmount, "mount tables are read from /proc/PID/mountinfo"),
	    FEATURE(statmount_by_fd,
		    "detached mounts are resolved with file handles (name_to_handle_at)"),
	    FEATURE(statx_mnt_id_unique, "mounts are keyed by their reusable 32-bit mnt_id"),
	    FEATURE(file_handles, "fds on detached mounts can be dumped only with statmount_by_fd"),
	    FEATURE(file_handles_mnt_id_unique,
		    "the mount of a file handle is matched through statx instead"),
	    FEATURE(open_tree, "restore needs --detached-mounts=mountpoint"),
	    FEATURE(move_mount, "mounts are attached with mount(2)"),
	    FEATURE(mount_setattr, "restore needs --detached-mounts=mountpoint, flags set by "
				   "remount"),
	    FEATURE(pidfd_open, "none: dump takes fds from tasks through pidfds"),
	    FEATURE(pidfd_getfd, "none: dump takes fds from tasks through pidfds"),
	    FEATURE(kcmp, "none: dump cannot tell which fds share one open file"),
	    FEATURE(pr_set_mm_map, "none: restore cannot set the tasks' mm fields (PR_SET_MM per "
				   "field needs CAP_SYS_RESOURCE)"),
	    FEATURE(rseq, "nothing to restore: tasks run without rseq"),
	    FEATURE(rseq_registered, "this process has no rseq area; tasks may still have one"),
	    {"vdso_layout", kd->has_vdso_layout,
	     "the restorer cannot move [vdso] and [vvar] into place"},
	    FEATURE(cap_sys_admin, "none: dump and restore need it (mounts, seccomp suspension)"),
	    FEATURE(cap_sys_ptrace, "none: dump cannot trace tasks it does not own"),
	    FEATURE(cap_checkpoint_restore,
		    "none: restore needs it for clone3 set_tid and /proc/PID/map_files"),
	    FEATURE(cap_dac_read_search, "open_by_handle_at is refused: detached mounts need "
					 "statmount_by_fd"),
	    FEATURE(cap_sys_resource, "not needed: minicr restores mm fields with PR_SET_MM_MAP"),
	};

	_Static_assert(ARRAY_SIZE(features) <= CHECK_MAX_FEATURES, "raise CHECK_MAX_FEATURES");
	memcpy(out, features, sizeof(features));
	return ARRAY_SIZE(features);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_missing(const char *key, bool can_run, const char *const *missing, size_t n)
{
	printf(",\n  ");
	json_string(key);
	printf(": {\"available\": %s, \"fallback\": \"\", \"missing\": [",
	       can_run ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf(", ");
		json_string(missing[i]);
	}
	printf("]}");
}

static void vdso_details(const struct kerndat_vdso_layout *l, char *buf, size_t len)
{
	snprintf(buf, len,
		 "[vvar] %" PRIu64 "K, [vvar_vclock] %" PRIu64 "K, [vdso] %" PRIu64 "K, %s",
		 kerndat_area_size(&l->vvar) / 1024, kerndat_area_size(&l->vvar_vclock) / 1024,
		 kerndat_area_size(&l->vdso) / 1024, l->is_contiguous ? "contiguous" : "apart");
}

static void print_json(const struct kerndat *kd, const struct check_feature *f, size_t n,
		       const char *const *dump_missing, size_t n_dump,
		       const char *const *restore_missing, size_t n_restore)
{
	const struct kerndat_vdso_layout *l = &kd->vdso_layout;

	printf("{\n  \"kernel\": {\"available\": true, \"fallback\": \"\", \"release\": ");
	json_string(kd->release);
	printf("}");
	for (size_t i = 0; i < n; i++) {
		printf(",\n  ");
		json_string(f[i].name);
		printf(": {\"available\": %s, \"fallback\": ",
		       f[i].is_available ? "true" : "false");
		json_string(f[i].fallback);
		if (strcmp(f[i].name, "vdso_layout") == 0)
			printf(", \"vvar_size\": %" PRIu64 ", \"vvar_vclock_size\": %" PRIu64
			       ", \"vdso_size\": %" PRIu64 ", \"contiguous\": %s",
			       kerndat_area_size(&l->vvar), kerndat_area_size(&l->vvar_vclock),
			       kerndat_area_size(&l->vdso), l->is_contiguous ? "true" : "false");
		if (strcmp(f[i].name, "pr_set_mm_map") == 0)
			printf(", \"mm_map_size\": %" PRIu32, kd->mm_map_size);
		printf("}");
	}
	json_missing("dump", n_dump == 0, dump_missing, n_dump < 16 ? n_dump : 16);
	json_missing("restore", n_restore == 0, restore_missing, n_restore < 16 ? n_restore : 16);
	printf("\n}\n");
}

static void text_summary(const char *what, const char *const *missing, size_t n)
{
	if (!n) {
		printf("%s: can run here\n", what);
		return;
	}
	printf("%s: cannot run here, missing:", what);
	for (size_t i = 0; i < n && i < 16; i++)
		printf(" %s", missing[i]);
	putchar('\n');
}

static void print_text(const struct kerndat *kd, const struct check_feature *f, size_t n,
		       const char *const *dump_missing, size_t n_dump,
		       const char *const *restore_missing, size_t n_restore)
{
	printf("kernel %s\n", kd->release);
	printf("%-27s %-8s %s\n", "FEATURE", "PRESENT", "WHAT MINICR DOES WITHOUT IT");
	for (size_t i = 0; i < n; i++) {
		/* "none: X" (no fallback) reads "required: X", present or not */
		bool required = strncmp(f[i].fallback, "none: ", 6) == 0;

		printf("%-27s %-8s %s%s\n", f[i].name, f[i].is_available ? "yes" : "no",
		       required ? "required: " : "", f[i].fallback + (required ? 6 : 0));
	}
	if (kd->has_vdso_layout) {
		char details[128];

		vdso_details(&kd->vdso_layout, details, sizeof(details));
		printf("vdso layout: %s\n", details);
	}
	text_summary("dump", dump_missing, n_dump);
	text_summary("restore", restore_missing, n_restore);
}

/* check --feature: keeps only the named features, in the order given. "list" prints every
 * name instead. Returns the count kept, 0 after printing the list, or -EINVAL for an unknown
 * name (logged). */
static int select_features(const struct cli_options *opts, struct check_feature *f, size_t n,
			   struct check_feature *out)
{
	size_t kept = 0;

	for (size_t i = 0; i < opts->n_features; i++) {
		const char *name = opts->features[i];
		size_t k;

		if (strcmp(name, "list") == 0) {
			for (k = 0; k < n; k++)
				printf("%s\n", f[k].name);
			return 0;
		}
		for (k = 0; k < n && strcmp(f[k].name, name) != 0; k++)
			;
		if (k == n) {
			pr_err("unknown feature '%s' (minicr check --feature list names them)",
			       name);
			return -EINVAL;
		}
		out[kept++] = f[k];
	}
	return (int)kept;
}

static int print_selected(const struct check_feature *f, size_t n, bool json)
{
	size_t n_missing = 0;

	if (json)
		printf("{");
	for (size_t i = 0; i < n; i++) {
		n_missing += !f[i].is_available;
		if (!json) {
			printf("%-27s %-4s %s\n", f[i].name, f[i].is_available ? "yes" : "no",
			       f[i].fallback);
			continue;
		}
		printf("%s\n  ", i ? "," : "");
		json_string(f[i].name);
		printf(": {\"available\": %s, \"fallback\": ",
		       f[i].is_available ? "true" : "false");
		json_string(f[i].fallback);
		printf("}");
	}
	if (json)
		printf("\n}\n");
	if (fflush(stdout) != 0)
		return pr_errno("cannot write the report"), CLI_EXIT_FAILED;
	return n_missing ? CLI_EXIT_UNSUPPORTED : CLI_EXIT_OK;
}

int check_run(const struct cli_options *opts)
{
	const char *dump_missing[16], *restore_missing[16];
	struct check_feature features[CHECK_MAX_FEATURES], selected[CLI_MAX_FEATURES];
	size_t n, n_dump, n_restore;
	struct kerndat kd;
	int n_selected;

	if (kerndat_probe(&kd) < 0)
		return CLI_EXIT_FAILED;
	n = check_features(&kd, features);
	if (opts->n_features) {
		n_selected = select_features(opts, features, n, selected);
		if (n_selected < 0)
			return CLI_EXIT_USAGE;
		if (n_selected == 0)
			return CLI_EXIT_OK;
		return print_selected(selected, (size_t)n_selected, opts->json);
	}
	n_dump = kerndat_missing_for_dump(&kd, dump_missing, ARRAY_SIZE(dump_missing));
	n_restore = kerndat_missing_for_restore(&kd, restore_missing, ARRAY_SIZE(restore_missing));

	if (opts->json)
		print_json(&kd, features, n, dump_missing, n_dump, restore_missing, n_restore);
	else
		print_text(&kd, features, n, dump_missing, n_dump, restore_missing, n_restore);
	if (fflush(stdout) != 0)
		return pr_errno("cannot write the report"), CLI_EXIT_FAILED;
	return n_dump == 0 && n_restore == 0 ? CLI_EXIT_OK : CLI_EXIT_UNSUPPORTED;
}
