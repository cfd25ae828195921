/* head.S: the parasite's entry, placed at offset 0 of the blob by parasite.lds.
 * The host sets rdi = the args area and rsp = the top of the blob's stack, then resumes the
 * task here. When parasite_main() returns (after FINI), int3 stops the task with SIGTRAP and the
 * host reads the result from rax before it cures the task. */
	.section .head.text, "ax"
	.globl parasite_head
	.hidden parasite_head
	.type parasite_head, @function
parasite_head:
	andq	$-16, %rsp
	call	parasite_main
	int3
	/* never resumed past the trap; a stray continue faults here instead of running on */
	ud2
	.size parasite_head, . - parasite_head

	.section .note.GNU-stack, "", @progbits
