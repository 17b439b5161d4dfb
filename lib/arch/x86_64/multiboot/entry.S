/*
 * x86_64 entry stub for Multiboot kernels: one position-independent 4 KiB
 * page that takes the CPU from 64-bit long mode to the 32-bit protected mode
 * both Multiboot specifications ask for, then jumps to the kernel.
 *
 * It is chained after the purgatory page (../purgatory.S): relocate_kernel jumps
 * to the purgatory in 64-bit long mode with paging on and an identity map of
 * RAM; the purgatory checks every segment's SHA-256 (this page included),
 * then jumps here in 64-bit mode with CS = 0x10, DS..GS = 0x18 from its own
 * GDT, %rsp in its stack page below 4 GiB and interrupts off.
 *
 * Machine state required at the kernel's entry
 * (Multiboot Specification 0.6.96, 3.2 "Machine state"; Multiboot2
 * Specification 2.0, 3.3 "I386 machine state"):
 *   EAX    = 0x2BADB002 (Multiboot) or 0x36D76289 (Multiboot2),
 *   EBX    = 32-bit physical address of the boot information,
 *   CS     = 32-bit read/execute code segment, base 0, limit 0xFFFFFFFF,
 *   DS, ES, FS, GS, SS = 32-bit read/write data segments, base 0, limit 4 GiB,
 *   A20    enabled (it is: the old kernel ran with it on),
 *   CR0    PG clear, PE set,
 *   EFLAGS VM clear, IF clear.
 *
 * Leaving long mode follows the Intel SDM vol. 3A, 10.8.5.4 "Switching Out
 * of IA-32e Mode Operation": run 32-bit compatibility-mode code from an
 * identity-mapped page, clear CR0.PG (which clears EFER.LMA), then clear
 * EFER.LME. CR0.PG cannot be cleared while CR4.PCIDE is set (SDM vol. 3A,
 * 4.10.1 and the #GP conditions of MOV to CR0), so PCIDE is cleared first,
 * in 64-bit mode, where that is allowed. With paging off, CR4 is zeroed
 * (no PAE, no LA57, no global pages): a Multiboot kernel may turn on 32-bit
 * paging without looking at CR4, as it can after a BIOS boot loader.
 *
 * Rules this file keeps:
 *   - Position independent: the 64-bit part addresses the page RIP-relative;
 *     it leaves the page's address in %ebp, and the 32-bit part addresses
 *     the slots as offsets from %ebp. The loader writes only the slots.
 *   - No stack use after the far return into 32-bit code, and no memory
 *     access at all there except the three slot reads: nothing can fault.
 *   - No relocations: `objcopy -O binary` yields the final page
 *     (scripts/gen-multiboot-entry.ts fails if the object has any).
 *
 * Build: scripts/gen-multiboot-entry.ts runs `as --64`, `objcopy -O binary`
 * and `nm` and writes entry_blob.ts (bytes + every offset below).
 */

	.code64
	.text

/* ---- constants (exported through nm as absolute symbols) ---------------- */

	.equ mb_entry_page_size, 0x1000

	.equ SEL_CODE32, 0x08                /* 32-bit code, base 0, limit 4 GiB */
	.equ SEL_DATA, 0x10                  /* 32-bit data, base 0, limit 4 GiB */

	.equ CR0_PG, 0x80000000              /* SDM vol. 3A, 2.5 "Control Registers" */
	.equ CR4_PCIDE, 0x00020000
	.equ MSR_EFER, 0xc0000080            /* SDM vol. 3A, 2.2.1 "Extended Feature Enable Register" */
	.equ EFER_LME, 0x00000100

/* ---- entry: byte 0 of the page, 64-bit long mode ------------------------ */

mb_entry_start:
	cli                                  /* IF = 0 as both specifications demand */
	cld

	/* This page's address; it survives the mode switch in %ebp (below 4 GiB). */
	leaq	mb_entry_start(%rip), %rbp

	/* Our GDT: the purgatory's one has no 32-bit code descriptor. */
	leaq	gdt(%rip), %rax
	movq	%rax, gdtr_base(%rip)
	lgdt	gdtr(%rip)

	/* CR0.PG may only be cleared with CR4.PCIDE clear. */
	movq	%cr4, %rax
	andq	$~CR4_PCIDE, %rax
	movq	%rax, %cr4

	/* Far return into the 32-bit code segment: compatibility mode. */
	pushq	$SEL_CODE32
	leaq	compat32(%rip), %rax
	pushq	%rax
	lretq

/* ---- 32-bit compatibility mode, then legacy protected mode -------------- */

	.code32
compat32:
mb_entry_compat32:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%eax, %ss

	/* Paging off: IA-32e mode ends (EFER.LMA clears); we run identity-mapped. */
	movl	%cr0, %eax
	andl	$~CR0_PG, %eax
	movl	%eax, %cr0

	/* Long mode off for good. */
	movl	$MSR_EFER, %ecx
	rdmsr
	andl	$~EFER_LME, %eax
	wrmsr

	/* No PAE, LA57, PGE, PCIDE...: legal now that paging is off. */
	xorl	%eax, %eax
	movl	%eax, %cr4

	/* The kernel's registers: EAX = magic, EBX = boot information, ECX =
	 * entry (for the jump), every other general register zero. ESP still
	 * points into the purgatory's stack page; the kernel must set its own. */
	movl	(magic - mb_entry_start)(%ebp), %eax
	movl	(info - mb_entry_start)(%ebp), %ebx
	movl	(entry - mb_entry_start)(%ebp), %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	jmp	*%ecx

mb_entry_code_end:

/* ---- GDT, GDTR and the data slots: fixed offsets ------------------------- */

	.equ GDT_AT, 0x100
	.equ GDTR_AT, 0x120
	.equ SLOTS_AT, 0x130

	.org GDT_AT
mb_entry_gdt:
gdt:
	.quad 0                              /* 0x00 null */
	.quad 0x00cf9a000000ffff             /* 0x08 code: 32-bit (D = 1, L = 0), execute/read, 4 GiB */
	.quad 0x00cf92000000ffff             /* 0x10 data: read/write, 4 GiB, big */
gdt_end:

	.org GDTR_AT
mb_entry_gdtr:
gdtr:
	.word gdt_end - gdt - 1              /* limit */
gdtr_base:
	.quad 0                              /* base: written by the entry code */

/* Written by the loader (buildMultibootEntry in entry.ts). */
	.org SLOTS_AT
mb_entry_entry:
entry:
	.long 0                              /* kernel entry point, physical */
mb_entry_magic:
magic:
	.long 0                              /* 0x2BADB002 or 0x36D76289 */
mb_entry_info:
info:
	.long 0                              /* boot information, physical */
mb_entry_slots_end:

	.org mb_entry_page_size
mb_entry_page_end:
