/*
 * A tiny Multiboot (0.6.96) test kernel: a flat image with the "a.out kludge"
 * (flags bit 16: the header's address fields say where it loads, so the
 * loader needs no ELF), loaded at 1 MiB with a bss the loader must zero. It
 * prints what it was given to COM1 and COM2, one "E2E-MB" line per fact,
 * then powers the guest off:
 *
 *   E2E-MB version=1 magic=… info=… flags=…
 *   E2E-MB state cr0=… cr4=… efer=… eflags=… cs=… ds=… bss=zero|dirty
 *   E2E-MB cmdline=…            E2E-MB loader=…
 *   E2E-MB mem lower=… upper=…  (KiB)
 *   E2E-MB mmap base=… len=… type=…        (one per entry)
 *   E2E-MB module start=… end=… head=<first 16 bytes> cmdline=…
 *   E2E-MB end
 *
 * Built by the end-to-end tests (tests/e2e/multiboot/build.ts):
 *   as --32 -o mb1.o mb1_kernel.S
 *   ld -m elf_i386 -N -Ttext=0x100000 -e mb1_entry -o mb1.elf mb1.o
 *   objcopy -O binary -j .text mb1.elf mb1.bin
 */

	.code32
	.text

	.equ MB1_MAGIC, 0x1badb002
	.equ MB1_FLAGS, 0x00010003           /* page-aligned modules, memory info, address fields */
	.equ INFO_MEM, 1 << 0
	.equ INFO_CMDLINE, 1 << 2
	.equ INFO_MODS, 1 << 3
	.equ INFO_MMAP, 1 << 6
	.equ INFO_LOADER, 1 << 9

image_start:
	jmp	mb1_entry

	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header                     /* header_addr */
	.long image_start                    /* load_addr */
	.long load_end                       /* load_end_addr */
	.long bss_end                        /* bss_end_addr */
	.long mb1_entry                      /* entry_addr */

saved_magic:	.long 0
saved_info:	.long 0
saved_eflags:	.long 0

	.include "report.inc"

	.globl mb1_entry
mb1_entry:
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
	movl	$msg_flags, %esi
	call	puts
	movl	saved_info, %edi
	movl	(%edi), %eax
	call	puthex32
	call	newline

	popl	%ebx
	movl	saved_eflags, %eax
	call	state_line

	movl	saved_info, %edi
	testl	$INFO_CMDLINE, (%edi)
	jz	1f
	movl	$msg_cmdline, %esi
	call	puts
	movl	16(%edi), %esi
	call	puts
	call	newline
1:	testl	$INFO_LOADER, (%edi)
	jz	1f
	movl	$msg_loader, %esi
	call	puts
	movl	64(%edi), %esi
	call	puts
	call	newline
1:	testl	$INFO_MEM, (%edi)
	jz	1f
	movl	$msg_mem, %esi
	call	puts
	movl	4(%edi), %eax
	call	puthex32
	movl	$msg_upper, %esi
	call	puts
	movl	8(%edi), %eax
	call	puthex32
	call	newline
1:	testl	$INFO_MMAP, (%edi)
	jz	3f
	movl	48(%edi), %ebp               /* mmap_addr: first entry's size field */
	movl	44(%edi), %edx
	addl	%ebp, %edx                   /* end of the map */
2:	cmpl	%edx, %ebp
	jae	3f
	movl	$msg_mmap, %esi
	call	puts
	leal	4(%ebp), %esi
	call	puthex64
	movl	$msg_len, %esi
	call	puts
	leal	12(%ebp), %esi
	call	puthex64
	movl	$msg_type, %esi
	call	puts
	movl	20(%ebp), %eax
	call	puthex32
	call	newline
	addl	(%ebp), %ebp
	addl	$4, %ebp
	jmp	2b
3:	testl	$INFO_MODS, (%edi)
	jz	5f
	movl	20(%edi), %edx               /* mods_count */
	movl	24(%edi), %ebp               /* mods_addr */
4:	testl	%edx, %edx
	jz	5f
	movl	(%ebp), %eax
	movl	4(%ebp), %ecx
	movl	8(%ebp), %ebx
	call	module_line
	addl	$16, %ebp
	decl	%edx
	jmp	4b
5:	movl	$msg_end, %esi
	call	puts
	call	newline
	call	power_off

msg_version:	.asciz "E2E-MB version=1 magic="
msg_info:	.asciz " info="
msg_flags:	.asciz " flags="
msg_cmdline:	.asciz "E2E-MB cmdline="
msg_loader:	.asciz "E2E-MB loader="
msg_mem:	.asciz "E2E-MB mem lower="
msg_upper:	.asciz " upper="
msg_mmap:	.asciz "E2E-MB mmap base="
msg_len:	.asciz " len="
msg_type:	.asciz " type="

	.balign 16
load_end:

	.bss
	.balign 16
bss_start:
	.space 16384
stack_top:
bss_end:
