/*
 * x86_64 jump-back helper: the image a kernel started by a kexec jump loads
 * (`kexec --load-jump-back-helper`, KEXEC_PRESERVE_CONTEXT) so that its
 * `kexec -e` returns to the kernel that started it. See JUMP_BACK.md.
 *
 * The address to return to (kexec_jump_back_entry=) lies in the first
 * kernel's kexec control page, in memory this kernel neither owns nor maps.
 * relocate_kernel_64.S (identity_mapped, the preserve_context branch) calls
 * the image's entry under this kernel's kexec page table, which
 * init_pgtable() (arch/x86/kernel/machine_kexec_64.c) builds from this
 * kernel's RAM and the image's segments only, with 1 GiB pages only where a
 * whole gigabyte is asked for (arch/x86/mm/ident_map.c). Jumping straight to
 * the entry, as kexec-tools' helper image does (no code, one empty segment),
 * therefore faults there; with no IDT that is a triple fault, a reset. So
 * this page maps the entry first:
 *
 *   1. copy, table by table, the path from CR3 down to the page directory that
 *      covers the entry into spare pages after this one (the kernel's tables
 *      are never written), and point that entry at the 2 MiB page holding the
 *      entry, identity mapped;
 *   2. load the copy into CR3 and jump to the entry.
 *
 * %rsp is left exactly as relocate_kernel left it: the first kernel's code
 * reads 0(%rsp) as this kernel's re-entry point (the return address of
 * relocate_kernel's call), then switches to its own page table and stack.
 *
 * Rules: position independent (RIP-relative only, no relocations), integer
 * only (CR4.OSFXSR is clear), and jump_back_map follows the System V ABI
 * without privileged instructions, so the unit tests run it on fake tables.
 *
 * Build: scripts/gen-purgatory.ts writes jump_back_blob.ts.
 */

	.code64
	.text

	.equ jump_back_page_size, 0x1000
	/* Spare pages after this one: one copied table per level (5-level paging
	 * has PML5, PML4, PDPT and PD above the 2 MiB page). */
	.equ jump_back_spare_pages, 4

	.equ PTE_PRESENT, 0x01
	.equ PTE_PS, 0x80                    /* a large page at this level */
	.equ PTE_TABLE, 0x63                 /* present, writable, accessed, dirty */
	.equ PTE_LARGE, 0xe3                 /* PTE_TABLE | PS */
	.equ X86_CR4_LA57_BIT, 12
	.equ PMD_SHIFT, 21

jump_back_start:
	cld
	movq	%cr3, %rdi
	movq	target(%rip), %rsi
	leaq	jump_back_page_size + jump_back_start(%rip), %rdx
	movq	%cr4, %rcx
	shrq	$X86_CR4_LA57_BIT, %rcx
	andl	$1, %ecx
	addl	$4, %ecx                     /* paging levels: 4, or 5 with LA57 */
	call	map                          /* below 0(%rsp), which stays as it is */
	movq	%rax, %cr3
	jmp	*target(%rip)

/*
 * uint64_t jump_back_map(uint64_t root, uint64_t target, void *spare,
 *                        unsigned levels)                  (SysV, host-callable)
 * `root` is a CR3 value (its flag bits are ignored) of an identity page table
 * with `levels` levels; tables are reached at their physical addresses, so it
 * runs under an identity map (or, in tests, on tables whose entries hold
 * user-space addresses). Returns the root of a copy in which the 2 MiB page
 * holding `target` is identity mapped: each table on target's path is copied
 * into the next spare page (`levels` pages at most) and only the copy is
 * changed. A path that ends in a 1 GiB page already maps it and is kept.
 */
jump_back_map:
map:
	pushq	%rbx
	pushq	%r12
	movabsq	$0x000ffffffffff000, %r8     /* address bits of an entry */
	movq	%rsi, %r11                   /* target */
	movq	%rdx, %r9                    /* next spare page */
	leal	(%rcx,%rcx,8), %r10d
	addl	$3, %r10d                    /* index shift of the top level: 39 or 48 */
	movq	%rdi, %rsi
	andq	%r8, %rsi                    /* table to copy */
	movq	%r9, %r12                    /* the root's copy is the result */
.Lcopy:
	movq	%r9, %rbx                    /* this level's copy */
	addq	$jump_back_page_size, %r9
	movq	%rbx, %rdi
	movl	$512, %ecx
	testq	%rsi, %rsi
	jz	.Lzero
	rep movsq
	jmp	.Lentry
.Lzero:
	xorl	%eax, %eax                   /* a level the original does not have */
	rep stosq
.Lentry:
	movq	%r11, %rdx
	movl	%r10d, %ecx
	shrq	%cl, %rdx
	andl	$511, %edx
	leaq	(%rbx,%rdx,8), %rdi          /* target's entry in the copy */
	cmpl	$PMD_SHIFT, %r10d
	je	.Lleaf
	movq	(%rdi), %rsi
	testb	$PTE_PRESENT, %sil
	jz	.Lmissing
	testb	$PTE_PS, %sil
	jnz	.Ldone                       /* a 1 GiB page covers the target */
	andq	%r8, %rsi
	jmp	.Llink
.Lmissing:
	xorl	%esi, %esi
.Llink:
	movq	%r9, %rdx
	orq	$PTE_TABLE, %rdx
	movq	%rdx, (%rdi)                 /* the copy points to the next copy */
	subl	$9, %r10d
	jmp	.Lcopy
.Lleaf:
	movq	%r11, %rdx
	andq	%r8, %rdx
	andq	$-0x200000, %rdx             /* the 2 MiB page holding the target */
	orq	$PTE_LARGE, %rdx
	movq	%rdx, (%rdi)
.Ldone:
	movq	%r12, %rax
	popq	%r12
	popq	%rbx
	ret

jump_back_code_end:

	.balign 8
/* Written by the loader: where to jump (the kexec_jump_back_entry= address). */
jump_back_target:
target:
	.quad 0

	.org jump_back_page_size
jump_back_end:
