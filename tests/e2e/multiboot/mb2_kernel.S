/*
 * A tiny Multiboot2 (2.0) test kernel: an ELF32 executable linked at 2 MiB
 * with a bss the loader must zero. Its header requires the command line,
 * boot loader name, modules, basic memory information and memory map, page-
 * aligned modules and its own entry address, and asks, optionally, for the
 * EFI system table, the ACPI RSDP, a console, a framebuffer and EFI boot
 * services (a loader that honours only the required tags must still boot
 * it). It prints every information tag it gets to COM1 and COM2, one
 * "E2E-MB" line each (see mb1_kernel.S for the line formats; tags without
 * their own line print "E2E-MB tag type=… size=…"), then powers the guest off.
 *
 * Built by the end-to-end tests (tests/e2e/multiboot/build.ts):
 *   as --32 -o mb2.o mb2_kernel.S
 *   ld -m elf_i386 -N -Ttext=0x200000 -e mb2_entry -o mb2.elf mb2.o
 */

	.code32
	.text

	.equ MB2_MAGIC, 0xe85250d6
	.equ MB2_ARCH_I386, 0
	.equ REQUIRED, 0
	.equ OPTIONAL, 1

image_start:
	jmp	mb2_entry

	.balign 8, 0
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	.balign 8, 0
1:	.short 1, REQUIRED                   /* information request */
	.long 2f - 1b
	.long 1, 2, 3, 4, 6                  /* cmdline, loader name, modules, meminfo, mmap */
2:
	.balign 8, 0
1:	.short 1, OPTIONAL                   /* information request, optional */
	.long 2f - 1b
	.long 12, 15                         /* EFI64 system table, ACPI new RSDP */
2:
	.balign 8, 0
	.short 6, REQUIRED                   /* module alignment */
	.long 8
	.balign 8, 0
	.short 3, REQUIRED                   /* entry address */
	.long 12
	.long mb2_entry
	.balign 8, 0
	.short 4, OPTIONAL                   /* console flags: EGA text supported */
	.long 12
	.long 2
	.balign 8, 0
	.short 5, OPTIONAL                   /* framebuffer: 32 bpp, any size */
	.long 20
	.long 0, 0, 32
	.balign 8, 0
	.short 7, OPTIONAL                   /* EFI boot services */
	.long 8
	.balign 8, 0
	.short 0, REQUIRED                   /* end */
	.long 8
mb2_header_end:

saved_magic:	.long 0
saved_info:	.long 0
saved_eflags:	.long 0

	.include "report.inc"

	.globl mb2_entry
mb2_entry:
	movl	%eax, saved_magic
	movl	%ebx, saved_info
	BSS_CHECK                            /* %ebx = 0 when the bss is zero */
	movl	$stack_top, %esp
	pushfl
	popl	saved_eflags
	pushl	%ebx
	call	serial_init

	movl	$msg_version, %esi
	call	puts
	movl	saved_magic, %eax
	call	puthex32
	movl	$msg_info, %esi
	call	puts
	movl	saved_info, %eax
	call	puthex32
	movl	$msg_total, %esi
	call	puts
	movl	saved_info, %edi
	movl	(%edi), %eax
	call	puthex32
	call	newline

	popl	%ebx
	movl	saved_eflags, %eax
	call	state_line

	/* Tags: 8-byte aligned from info + 8 up to the end tag. */
	movl	saved_info, %edi
	addl	$8, %edi
next_tag:
	movl	(%edi), %eax                 /* type */
	testl	%eax, %eax
	jz	done
	cmpl	$1, %eax
	je	tag_cmdline
	cmpl	$2, %eax
	je	tag_loader
	cmpl	$3, %eax
	je	tag_module
	cmpl	$4, %eax
	je	tag_meminfo
	cmpl	$6, %eax
	je	tag_mmap
	movl	$msg_tag, %esi
	call	puts
	call	puthex32
	movl	$msg_size, %esi
	call	puts
	movl	4(%edi), %eax
	call	puthex32
	call	newline
advance:
	movl	4(%edi), %eax
	addl	$7, %eax
	andl	$~7, %eax
	addl	%eax, %edi
	jmp	next_tag

tag_cmdline:
	movl	$msg_cmdline, %esi
	jmp	string_tag
tag_loader:
	movl	$msg_loader, %esi
string_tag:
	call	puts
	leal	8(%edi), %esi
	call	puts
	call	newline
	jmp	advance

tag_module:
	movl	8(%edi), %eax
	movl	12(%edi), %ecx
	leal	16(%edi), %ebx
	call	module_line
	jmp	advance

tag_meminfo:
	movl	$msg_mem, %esi
	call	puts
	movl	8(%edi), %eax
	call	puthex32
	movl	$msg_upper, %esi
	call	puts
	movl	12(%edi), %eax
	call	puthex32
	call	newline
	jmp	advance

tag_mmap:
	leal	16(%edi), %ebp               /* first entry */
	movl	%edi, %edx
	addl	4(%edi), %edx                /* end of the tag */
1:	cmpl	%edx, %ebp
	jae	advance
	movl	$msg_mmap, %esi
	call	puts
	movl	%ebp, %esi
	call	puthex64
	movl	$msg_len, %esi
	call	puts
	leal	8(%ebp), %esi
	call	puthex64
	movl	$msg_type, %esi
	call	puts
	movl	16(%ebp), %eax
	call	puthex32
	call	newline
	addl	8(%edi), %ebp                /* entry_size */
	jmp	1b

done:
	movl	$msg_end, %esi
	call	puts
	call	newline
	call	power_off

msg_version:	.asciz "E2E-MB version=2 magic="
msg_info:	.asciz " info="
msg_total:	.asciz " total_size="
msg_cmdline:	.asciz "E2E-MB cmdline="
msg_loader:	.asciz "E2E-MB loader="
msg_mem:	.asciz "E2E-MB mem lower="
msg_upper:	.asciz " upper="
msg_mmap:	.asciz "E2E-MB mmap base="
msg_len:	.asciz " len="
msg_type:	.asciz " type="
msg_tag:	.asciz "E2E-MB tag type="
msg_size:	.asciz " size="

	.bss
	.balign 16
bss_start:
	.space 16384
stack_top:
bss_end:
