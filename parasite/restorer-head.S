/* restorer-head.S: entry points of the restorer blob (offset 0 is the entry, see restorer.lds).
 * resume.c jumps to restorer_head with rdi = struct restorer_args and rsp = the top of the
 * bootstrap stack, all signals blocked. The blob never returns: every thread ends in
 * restorer_sigreturn (int3 for minicr, then rt_sigreturn) or restorer_fail (int3, ud2). */
	.section .head.text, "ax"
	.globl restorer_head
	.hidden restorer_head
	.type restorer_head, @function
restorer_head:
	andq	$-16, %rsp
	call	restorer_main
	ud2
	.size restorer_head, . - restorer_head

	.text
/* void restorer_sigreturn(uint64_t rsp, struct restorer_args *args): rsp = the thread's frame
 * + 8. minicr, the tracer, sees the int3 (rdi = 0, rsi = RESTORER_TRAP_READY, rdx = args), lets
 * the rt_sigreturn run and stops the thread at its syscall exit to remove the bootstrap region. */
	.globl restorer_sigreturn
	.hidden restorer_sigreturn
	.type restorer_sigreturn, @function
restorer_sigreturn:
	movq	%rsi, %rdx
	movq	%rdi, %rsp
	xorl	%edi, %edi
	movabsq	$0x5245414459, %rsi
	int3
	movl	$15, %eax
	syscall
	ud2
	.size restorer_sigreturn, . - restorer_sigreturn

/* void restorer_fail(long step, long err): rdi = step, rsi = -errno, rdx = RESTORER_TRAP_FAILED. */
	.globl restorer_fail
	.hidden restorer_fail
	.type restorer_fail, @function
restorer_fail:
	movl	$0x4641494c, %edx
	int3
	ud2
	.size restorer_fail, . - restorer_fail

/* long restorer_clone_thread(struct clone_args *args, size_t size, struct restorer_thread *t):
 * clone3 as a raw syscall. The child starts on args->stack with the parent's registers: it must
 * not return into the parent's frame, so it calls restorer_thread_main(t) on its own stack. */
	.globl restorer_clone_thread
	.hidden restorer_clone_thread
	.type restorer_clone_thread, @function
restorer_clone_thread:
	pushq	%r12
	movq	%rdx, %r12
	movl	$435, %eax
	syscall
	testq	%rax, %rax
	jnz	1f
	movq	%r12, %rdi
	andq	$-16, %rsp
	call	restorer_thread_main
	ud2
1:
	popq	%r12
	ret
	.size restorer_clone_thread, . - restorer_clone_thread

	.section .note.GNU-stack, "", @progbits
