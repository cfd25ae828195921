/* head.S: the parasite's entry points and argument block at fixed offsets of the blob, placed at
 * offset 0 by parasite.lds. The host sets rsp to the blob's stack and resumes the task at the
 * start. When parasite_main() returns (its socket closed: minicr finished or died) the parasite
 * cures the task itself: parasite_cure() never returns, it ends in the task's own context. The
 * host normally stops the parasite before that (PTRACE_INTERRUPT) and cures from outside. */
#include "parasite-abi.h"

	.section .head.text, "ax"
	.globl parasite_head
	.hidden parasite_head
	.type parasite_head, @function
parasite_head:
	andq	$-16, %rsp
	call	parasite_main
	call	parasite_cure
	ud2

	/* Reached by `ret` after a syscall minicr injected while the parasite was loaded: minicr
	 * died before it could take the task back, so cure it from here, on the blob's stack. */
	.org	PARASITE_ENTRY_SELF_CURE
	.globl parasite_self_cure_entry
	.hidden parasite_self_cure_entry
parasite_self_cure_entry:
	movq	parasite_args(%rip), %rsp	/* stack_top is the first field */
	andq	$-16, %rsp
	call	parasite_cure
	ud2
	.size parasite_head, . - parasite_head

	.org	PARASITE_ARGS_OFFSET
	.globl parasite_args
	.hidden parasite_args
	.type parasite_args, @object
parasite_args:
	.skip	PARASITE_ARGS_SIZE
	.size parasite_args, PARASITE_ARGS_SIZE

	.section .note.GNU-stack, "", @progbits
