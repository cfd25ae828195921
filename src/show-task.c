/* show-task.c: the readable summary `minicr show` adds below a task's core record: the syscall
 * each thread was stopped in, named by libseccomp; its seccomp filters with the syscalls they
 * test, named the same way; its capability sets, named by libcap. */
#include "show-task.h"

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/user.h>

#include "base/util.h"
#include "core.pb-c.h"

/* The name of x86_64 syscall nr, or its number when libseccomp does not know it. */
static void print_syscall(FILE *out, long nr)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);

	if (name)
		fprintf(out, "%s (%ld)", name, nr);
	else
		fprintf(out, "syscall %ld", nr);
	free(name);
}

static void print_thread(FILE *out, const ThreadCoreEntry *t)
{
	struct user_regs_struct regs;

	if (!t->has_gpregs || t->gpregs.len < sizeof(regs))
		return;
	memcpy(&regs, t->gpregs.data, sizeof(regs));
	fprintf(out, "    # thread %d: ", t->tid);
	if ((long)regs.orig_rax < 0) {
		fprintf(out, "running user code at 0x%llx\n", (unsigned long long)regs.rip);
		return;
	}
	fputs("stopped in ", out);
	print_syscall(out, (long)regs.orig_rax);
	/* dump rewound an interrupted syscall so that it runs again on resume */
	fputs(regs.rax == regs.orig_rax ? ", restarted on resume\n" : "\n", out);
}

/* A classic BPF filter (sock_filter: u16 code, u8 jt, u8 jf, u32 k): the syscall numbers its
 * "jeq #k" tests compare against, in the order they appear, each named once. */
static void print_filter(FILE *out, size_t idx, const ProtobufCBinaryData *f)
{
	size_t n = f->len / 8, shown = 0;
	long seen[64];

	fprintf(out, "    # seccomp filter %zu: %zu instructions", idx, n);
	for (size_t i = 0; i < n; i++) {
		uint16_t code;
		uint32_t k;
		bool dup = false;

		memcpy(&code, f->data + i * 8, sizeof(code));
		memcpy(&k, f->data + i * 8 + 4, sizeof(k));
		if (code != 0x15 /* BPF_JMP | BPF_JEQ | BPF_K */ || k > 4096)
			continue;
		for (size_t s = 0; s < shown && !dup; s++)
			dup = seen[s] == (long)k;
		if (dup || shown == ARRAY_SIZE(seen))
			continue;
		fputs(shown ? ", " : "; tests ", out);
		print_syscall(out, (long)k);
		seen[shown++] = (long)k;
	}
	fputc('\n', out);
}

/* Effective, permitted and inheritable sets in libcap's text form ("cap_chown,cap_kill=eip"). */
static void print_caps(FILE *out, const CredsEntry *c)
{
	cap_t caps = cap_init();
	char *text;

	if (!caps)
		return;
	for (cap_value_t v = 0; v < 64; v++) {
		const struct {
			cap_flag_t flag;
			uint64_t mask;
		} sets[] = {{CAP_EFFECTIVE, c->cap_eff},
			    {CAP_PERMITTED, c->cap_prm},
			    {CAP_INHERITABLE, c->cap_inh}};

		for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
			if (sets[s].mask & (1ULL << v))
				(void)cap_set_flag(caps, sets[s].flag, 1, &v, CAP_SET);
	}
	text = cap_to_text(caps, NULL);
	if (text)
		fprintf(out, "    # capabilities: %s\n", text);
	cap_free(text);
	cap_free(caps);
}

/* A 64-bit set (bounding, ambient) as capability names. */
static void print_cap_set(FILE *out, const char *what, uint64_t mask)
{
	size_t n = 0;

	fprintf(out, "    # %s set:", what);
	for (cap_value_t v = 0; v < 64; v++) {
		char *name;

		if (!(mask & (1ULL << v)))
			continue;
		name = cap_to_name(v);
		fprintf(out, "%s%s", n++ ? "," : " ", name ? name : "?");
		cap_free(name);
	}
	fputs(n ? "\n" : " (empty)\n", out);
}

void show_task_core(FILE *out, const TaskCoreEntry *core)
{
	for (size_t i = 0; i < core->n_threads; i++)
		print_thread(out, core->threads[i]);
	for (size_t i = 0; i < core->n_seccomp_filters; i++)
		print_filter(out, i, &core->seccomp_filters[i]);
	if (core->creds) {
		print_caps(out, core->creds);
		print_cap_set(out, "bounding", core->creds->cap_bnd);
		print_cap_set(out, "ambient", core->creds->cap_amb);
	}
}
