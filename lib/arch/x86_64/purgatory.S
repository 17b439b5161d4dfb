/*
 * x86_64 purgatory for kexec_load: one position-independent 4 KiB page.
 *
 * The kernel's relocate_kernel_64.S jumps to byte 0 of this page in 64-bit
 * long mode, paging on (identity map of all RAM), interrupts off, every
 * general register zero, %rsp inside the kernel's control page, and a GDT/IDT
 * that we must treat as unknown (machine_kexec() in machine_kexec_64.c
 * invalidates both, "you must set up your own idt & gdt"; newer kernels load
 * a private GDT in relocate_kernel_64.S instead). We:
 *
 *   1. load our own GDT and reload every segment register from it
 *      (selector 0x10 = 64-bit code, 0x18 = flat data; boot.rst wants them),
 *   2. switch to a stack inside this page, or in a page the loader set
 *      aside (the incoming stack is never read, not even the word at
 *      0(%rsp): its contents changed between kernels),
 *   3. hash every region in the region table with SHA-256 and compare with the
 *      digests the loader computed (as the kernel's own purgatory does,
 *      arch/x86/purgatory/purgatory.c). A mismatch prints one line
 *      on COM1 and halts forever: a capture kernel that was hit by the stray
 *      writes that caused the panic must never run, it would scribble over
 *      the memory it is meant to dump. An empty table (-i) skips this.
 *   4. set %rsi = boot_params, zero the other registers and jump to entry64
 *      (the protected-mode kernel's load address + 0x200: boot.rst,
 *      "64-bit Boot Protocol").
 *
 * A load with KEXEC_PRESERVE_CONTEXT (kexec jump) enters at
 * purgatory_kjump_start instead, in a part of the page that only such loads
 * carry (see the end of this file); every other load gets that part as zeros,
 * so its page is byte for byte the page without it.
 *
 * Rules this file keeps:
 *   - Position independent: every reference to the page is RIP-relative; the
 *     loader only writes the data slots below, it never relocates code.
 *   - Integer instructions only. CR4.OSFXSR is clear at entry, so any SSE,
 *     AVX or x87 instruction would fault, and with no IDT a fault is a triple
 *     fault (reset).
 *   - purgatory_sha256, purgatory_verify and purgatory_report follow the
 *     System V AMD64 calling convention, touch no segment register and run no
 *     privileged instruction, so the unit tests call the very bytes of this
 *     page from user space (mmap + Deno FFI). The entry path calls them the
 *     same way on the private stack.
 *   - No relocations: code refers only to local labels, so the assembler
 *     resolves everything and `objcopy -O binary` yields the final page.
 *     (scripts/gen-purgatory.ts fails if the object has any relocation.)
 *
 * Build: scripts/gen-purgatory.ts runs `as --64`, `objcopy -O binary` and
 * `nm` and writes purgatory_blob.ts (bytes + every offset named below).
 */

	.code64
	.text

/* ---- constants (exported through nm as absolute symbols) ---------------- */

	.equ purgatory_page_size, 0x1000
	.equ purgatory_max_regions, 15       /* kexec allows 16 segments; one is this page */

	/* One region table entry: where to hash and what to expect. */
	.equ purgatory_region_mem, 0         /* u64 physical start */
	.equ purgatory_region_len, 8         /* u64 length in bytes */
	.equ purgatory_region_sha256, 16     /* 32-byte SHA-256 digest */
	.equ purgatory_region_size, 48

	/* purgatory_verify's result when every region matches. */
	.equ purgatory_verify_ok, -1
	/* purgatory_verify's result when the count slot exceeds the table. */
	.equ purgatory_verify_bad_count, purgatory_max_regions

	/* Bytes purgatory_report may write (longest line is < 100). */
	.equ purgatory_report_max, 128

	.equ SEL_CODE64, 0x10                /* __BOOT_CS */
	.equ SEL_DATA, 0x18                  /* __BOOT_DS */

	.equ COM1_THR, 0x3f8                 /* transmit holding register */
	.equ COM1_LSR, 0x3fd                 /* line status register */
	.equ LSR_THRE, 0x20                  /* transmitter holding register empty */
	.equ UART_SPIN, 0x10000              /* LSR polls per byte before giving up */

/* ---- entry: byte 0 of the page ------------------------------------------ */

purgatory_start:
	cli                                  /* IF is already 0; be explicit */
	cld                                  /* string ops below count upwards */

	/* The GDTR needs the GDT's absolute address, known only at run time. */
	leaq	gdt(%rip), %rax
	movq	%rax, gdtr_base(%rip)
	lgdt	gdtr(%rip)

	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* Private stack; nothing is pushed before this, nothing above the
	 * incoming %rsp is read. By default the stack is the end of this page;
	 * the loader may name a page of its own instead (stack_page slot), which
	 * keeps the hashing loop's stores off the page its code runs from:
	 * QEMU TCG handles every store into a page holding translated code on a
	 * slow path, which makes hashing there ~40 times slower. */
	leaq	stack_top(%rip), %rsp
	movq	stack_page(%rip), %rax
	testq	%rax, %rax
	jz	.Lstack_set
	leaq	purgatory_page_size(%rax), %rsp
.Lstack_set:

	/* Reload CS with a far return: push CS, then RIP. */
	pushq	$SEL_CODE64
	leaq	.Lreloaded(%rip), %rax
	pushq	%rax
	lretq
.Lreloaded:
	call	verify
	cmpq	$purgatory_verify_ok, %rax
	jne	.Lfailed

	/* Kernel entry state: %rsi = boot_params, everything else zero. */
boot_kernel:
	movq	boot_params(%rip), %rsi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d
	jmp	*entry64(%rip)

.Lfailed:
	subq	$purgatory_report_max, %rsp
	movq	%rsp, %rdi
	movq	%rax, %rsi
	call	report
	movq	%rax, %rcx
	movq	%rsp, %rsi
	call	serial_write
.Lhalt:
	/* Never reached the kernel; stay here. An NMI may wake hlt: loop. */
	cli
	hlt
	jmp	.Lhalt

/* ---- serial output (entry path only: uses port I/O) --------------------- */

/*
 * serial_write: %rsi = bytes, %rcx = count. Clobbers %rax, %rcx, %rdx, %rsi,
 * %r8. The UART is not reprogrammed: firmware or the old kernel set the baud
 * rate the console is listening at. Each byte waits for THRE at most
 * UART_SPIN polls, so a missing or stuck UART cannot keep us from halting.
 */
serial_write:
	testq	%rcx, %rcx
	jz	.Lserial_done
.Lserial_byte:
	movl	$UART_SPIN, %r8d
.Lserial_poll:
	movw	$COM1_LSR, %dx
	inb	%dx, %al
	testb	$LSR_THRE, %al
	jnz	.Lserial_ready
	decl	%r8d
	jnz	.Lserial_poll
.Lserial_ready:
	lodsb
	movw	$COM1_THR, %dx
	outb	%al, %dx
	decq	%rcx
	jnz	.Lserial_byte
.Lserial_done:
	ret

/* ---- verification (SysV ABI, host-callable) ----------------------------- */

/*
 * long purgatory_verify(void)
 * Hashes each region of the table in order. Returns purgatory_verify_ok (-1)
 * if all digests match, the index of the first mismatching region otherwise,
 * or purgatory_verify_bad_count if the count slot exceeds the table (the
 * table would run into the stack).
 */
purgatory_verify:
verify:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$40, %rsp                    /* digest[32] + keep 16-byte alignment */

	movq	region_count(%rip), %r12
	movq	$purgatory_verify_bad_count, %rax
	cmpq	$purgatory_max_regions, %r12
	ja	.Lverify_out

	leaq	regions(%rip), %r13
	xorl	%r14d, %r14d                 /* region index */
.Lverify_next:
	movq	$purgatory_verify_ok, %rax
	cmpq	%r12, %r14
	jae	.Lverify_out
	movq	purgatory_region_mem(%r13), %rdi
	movq	purgatory_region_len(%r13), %rsi
	movq	%rsp, %rdx
	call	sha256
	movq	%rsp, %rdi
	leaq	purgatory_region_sha256(%r13), %rsi
	movl	$32, %ecx
	repe cmpsb
	movq	%r14, %rax
	jne	.Lverify_out
	incq	%r14
	addq	$purgatory_region_size, %r13
	jmp	.Lverify_next
.Lverify_out:
	addq	$40, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

/* ---- failure message (SysV ABI, host-callable) -------------------------- */

/*
 * size_t purgatory_report(char buf[purgatory_report_max], long result)
 * Writes the line for a purgatory_verify result into buf and returns its
 * length (0 for purgatory_verify_ok):
 *   "purgatory: sha256 mismatch in region N (mem 0x..., len 0x...)\r\n"
 *   "purgatory: bad region count 0x...\r\n"
 */
purgatory_report:
report:
	pushq	%rbx
	movq	%rdi, %rbx                   /* start of buf, for the length */
	cmpq	$purgatory_verify_ok, %rsi
	je	.Lreport_done
	cmpq	$purgatory_max_regions, %rsi
	jae	.Lreport_count

	movq	%rsi, %r9                    /* region index */
	leaq	msg_mismatch(%rip), %rsi
	call	put_str
	movq	%r9, %rax
	call	put_dec
	imulq	$purgatory_region_size, %r9, %r10
	leaq	regions(%rip), %r11
	addq	%r10, %r11                   /* this region's entry */
	leaq	msg_mem(%rip), %rsi
	call	put_str
	movq	purgatory_region_mem(%r11), %rax
	call	put_hex
	leaq	msg_len(%rip), %rsi
	call	put_str
	movq	purgatory_region_len(%r11), %rax
	call	put_hex
	leaq	msg_close(%rip), %rsi
	call	put_str
	jmp	.Lreport_done

.Lreport_count:
	leaq	msg_count(%rip), %rsi
	call	put_str
	movq	region_count(%rip), %rax
	call	put_hex
	leaq	msg_eol(%rip), %rsi
	call	put_str

.Lreport_done:
	movq	%rdi, %rax
	subq	%rbx, %rax
	popq	%rbx
	ret

/* put_str: copy the NUL-terminated string at %rsi to %rdi (advanced).
 * Clobbers %rax, %rsi. */
put_str:
	lodsb
	testb	%al, %al
	jz	1f
	stosb
	jmp	put_str
1:	ret

/* put_hex: write %rax as "0x" and lower-case hex digits without leading
 * zeros to %rdi (advanced). Clobbers %rax, %rcx, %rdx. */
put_hex:
	movq	%rax, %rdx
	movw	$0x7830, (%rdi)              /* "0x" */
	addq	$2, %rdi
	xorl	%ecx, %ecx                   /* shift of the first digit */
	testq	%rdx, %rdx
	jz	.Lhex_digit
	bsrq	%rdx, %rcx
	andl	$~3, %ecx
.Lhex_digit:
	movq	%rdx, %rax
	shrq	%cl, %rax
	andl	$15, %eax
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	1f
	addb	$('a' - '9' - 1), %al
1:	stosb
	subl	$4, %ecx
	jns	.Lhex_digit
	ret

/* put_dec: write %rax in decimal to %rdi (advanced).
 * Clobbers %rax, %rcx, %rdx, %r8. */
put_dec:
	movl	$10, %r8d
	xorl	%ecx, %ecx
1:	xorl	%edx, %edx
	divq	%r8
	pushq	%rdx                         /* digits come out last-first */
	incl	%ecx
	testq	%rax, %rax
	jnz	1b
2:	popq	%rax
	addb	$'0', %al
	stosb
	decl	%ecx
	jnz	2b
	ret

/* ---- SHA-256 (FIPS 180-4), integer only (SysV ABI, host-callable) ------- */

/*
 * void purgatory_sha256(const void *data, size_t len, uint8_t out[32])
 * Full blocks are hashed in place; the last partial block and the padding
 * are built in a 128-byte buffer on the stack. Uses about 560 bytes of stack.
 */
	.equ SHA_STATE, 0                    /* u32 state[8] */
	.equ SHA_TAIL, 32                    /* 2 blocks for the tail + padding */
	.equ SHA_OUT, 160
	.equ SHA_DATA, 168
	.equ SHA_LEN, 176
	.equ SHA_FRAME, 184

purgatory_sha256:
sha256:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$SHA_FRAME, %rsp
	movq	%rdi, SHA_DATA(%rsp)
	movq	%rsi, SHA_LEN(%rsp)
	movq	%rdx, SHA_OUT(%rsp)

	leaq	sha256_h0(%rip), %rsi
	leaq	SHA_STATE(%rsp), %rdi
	movl	$32, %ecx
	rep movsb

	/* Every whole 64-byte block straight from memory. */
	leaq	SHA_STATE(%rsp), %rdi
	movq	SHA_DATA(%rsp), %rsi
	movq	SHA_LEN(%rsp), %rdx
	shrq	$6, %rdx
	call	sha256_blocks

	/* Tail: zeroed buffer, the len % 64 remaining bytes, 0x80, and the bit
	 * length big-endian at the end of the first or second block. */
	leaq	SHA_TAIL(%rsp), %rdi
	xorl	%eax, %eax
	movl	$128, %ecx
	rep stosb
	movq	SHA_LEN(%rsp), %rcx
	movq	%rcx, %rax
	andq	$-64, %rax
	movq	SHA_DATA(%rsp), %rsi
	addq	%rax, %rsi
	andl	$63, %ecx
	leaq	SHA_TAIL(%rsp), %rdi
	rep movsb
	movb	$0x80, (%rdi)

	movq	SHA_LEN(%rsp), %rax
	andl	$63, %eax
	movl	$1, %edx                     /* room for the 8-byte length? */
	cmpl	$56, %eax
	jb	1f
	movl	$2, %edx
1:	movq	SHA_LEN(%rsp), %rax
	shlq	$3, %rax
	bswapq	%rax
	movl	%edx, %ecx
	shll	$6, %ecx
	leaq	SHA_TAIL(%rsp), %rsi
	movq	%rax, -8(%rsi,%rcx)
	leaq	SHA_STATE(%rsp), %rdi
	call	sha256_blocks

	movq	SHA_OUT(%rsp), %rdi
	xorl	%ecx, %ecx
2:	movl	SHA_STATE(%rsp,%rcx,4), %eax
	bswapl	%eax
	movl	%eax, (%rdi,%rcx,4)
	incl	%ecx
	cmpl	$8, %ecx
	jb	2b

	addq	$SHA_FRAME, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

/*
 * One SHA-256 round; a..h are 32-bit registers, \j the round within a group
 * of eight. Callers rotate the register names instead of moving values.
 * %rbp = K, %rsp = W, %rbx = first round of the group; %eax/%ecx scratch.
 * Σ1(e) = ror6 ^ ror11 ^ ror25, Ch = g ^ (e & (f ^ g)),
 * Σ0(a) = ror2 ^ ror13 ^ ror22, Maj = ((a | b) & c) | (a & b).
 * The rotations are chained (6, +5, +14) to need one scratch register.
 */
	.macro ROUND a, b, c, d, e, f, g, h, j
	addl	(4*\j)(%rbp,%rbx,4), \h      /* + K[t] */
	addl	(4*\j)(%rsp,%rbx,4), \h      /* + W[t] */
	movl	\e, %ecx
	rorl	$6, %ecx
	movl	%ecx, %eax
	rorl	$5, %ecx
	xorl	%ecx, %eax
	rorl	$14, %ecx
	xorl	%ecx, %eax
	addl	%eax, \h                     /* + Σ1(e) */
	movl	\f, %eax
	xorl	\g, %eax
	andl	\e, %eax
	xorl	\g, %eax
	addl	%eax, \h                     /* + Ch(e,f,g): \h = T1 */
	addl	\h, \d                       /* d += T1 */
	movl	\a, %ecx
	rorl	$2, %ecx
	movl	%ecx, %eax
	rorl	$11, %ecx
	xorl	%ecx, %eax
	rorl	$9, %ecx
	xorl	%ecx, %eax
	addl	%eax, \h                     /* + Σ0(a) */
	movl	\a, %eax
	orl	\b, %eax
	andl	\c, %eax
	movl	\a, %ecx
	andl	\b, %ecx
	orl	%ecx, %eax
	addl	%eax, \h                     /* + Maj(a,b,c): \h = new a */
	.endm

/*
 * sha256_blocks: %rdi = u32 state[8], %rsi = data, %rdx = block count (may
 * be 0). Internal: clobbers every register but %rsp. Uses 256 bytes of stack
 * for the message schedule W[64].
 */
sha256_blocks:
	testq	%rdx, %rdx
	jz	.Lblocks_none
	subq	$256, %rsp
	leaq	sha256_k(%rip), %rbp
.Lblock:
	xorl	%ebx, %ebx
1:	movl	(%rsi,%rbx,4), %eax          /* W[0..15]: big-endian words */
	bswapl	%eax
	movl	%eax, (%rsp,%rbx,4)
	incl	%ebx
	cmpl	$16, %ebx
	jb	1b
2:	movl	-8(%rsp,%rbx,4), %eax        /* W[t-2] */
	movl	%eax, %ecx
	rorl	$17, %ecx
	shrl	$10, %eax
	xorl	%ecx, %eax
	rorl	$2, %ecx
	xorl	%ecx, %eax                   /* σ1 = ror17 ^ ror19 ^ shr10 */
	addl	-28(%rsp,%rbx,4), %eax       /* + W[t-7] */
	addl	-64(%rsp,%rbx,4), %eax       /* + W[t-16] */
	movl	-60(%rsp,%rbx,4), %ecx       /* W[t-15] */
	movl	%ecx, %r8d
	rorl	$7, %r8d
	shrl	$3, %ecx
	xorl	%r8d, %ecx
	rorl	$11, %r8d
	xorl	%r8d, %ecx                   /* σ0 = ror7 ^ ror18 ^ shr3 */
	addl	%ecx, %eax
	movl	%eax, (%rsp,%rbx,4)
	incl	%ebx
	cmpl	$64, %ebx
	jb	2b

	movl	0(%rdi), %r8d
	movl	4(%rdi), %r9d
	movl	8(%rdi), %r10d
	movl	12(%rdi), %r11d
	movl	16(%rdi), %r12d
	movl	20(%rdi), %r13d
	movl	24(%rdi), %r14d
	movl	28(%rdi), %r15d
	xorl	%ebx, %ebx
3:	ROUND	%r8d, %r9d, %r10d, %r11d, %r12d, %r13d, %r14d, %r15d, 0
	ROUND	%r15d, %r8d, %r9d, %r10d, %r11d, %r12d, %r13d, %r14d, 1
	ROUND	%r14d, %r15d, %r8d, %r9d, %r10d, %r11d, %r12d, %r13d, 2
	ROUND	%r13d, %r14d, %r15d, %r8d, %r9d, %r10d, %r11d, %r12d, 3
	ROUND	%r12d, %r13d, %r14d, %r15d, %r8d, %r9d, %r10d, %r11d, 4
	ROUND	%r11d, %r12d, %r13d, %r14d, %r15d, %r8d, %r9d, %r10d, 5
	ROUND	%r10d, %r11d, %r12d, %r13d, %r14d, %r15d, %r8d, %r9d, 6
	ROUND	%r9d, %r10d, %r11d, %r12d, %r13d, %r14d, %r15d, %r8d, 7
	addl	$8, %ebx
	cmpl	$64, %ebx
	jb	3b

	addl	%r8d, 0(%rdi)
	addl	%r9d, 4(%rdi)
	addl	%r10d, 8(%rdi)
	addl	%r11d, 12(%rdi)
	addl	%r12d, 16(%rdi)
	addl	%r13d, 20(%rdi)
	addl	%r14d, 24(%rdi)
	addl	%r15d, 28(%rdi)
	addq	$64, %rsi
	decq	%rdx
	jnz	.Lblock
	addq	$256, %rsp
.Lblocks_none:
	ret

purgatory_code_end:

/* ---- read-only constants ------------------------------------------------- */

	.balign 4
sha256_h0:                               /* FIPS 180-4 5.3.3 */
	.long 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
	.long 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
sha256_k:                                /* FIPS 180-4 4.2.2 */
	.long 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5
	.long 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
	.long 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3
	.long 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
	.long 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc
	.long 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
	.long 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7
	.long 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
	.long 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13
	.long 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
	.long 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3
	.long 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
	.long 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5
	.long 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
	.long 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208
	.long 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2

msg_mismatch:	.asciz "purgatory: sha256 mismatch in region "
msg_mem:	.asciz " (mem "
msg_len:	.asciz ", len "
msg_close:	.asciz ")\r\n"
msg_count:	.asciz "purgatory: bad region count "
msg_eol:	.asciz "\r\n"

/* ---- GDT, GDTR and the data slots: fixed offsets -------------------------
 * Fixed so the layout stays put while the code above changes; an assembly
 * error ("attempt to move .org backwards") means the code outgrew its room. */

	.equ GDT_AT, 0x880
	.equ GDTR_AT, 0x8a0
	.equ SLOTS_AT, 0x8b0
	.equ REGIONS_AT, 0x8d0
	.equ REGIONS_END, REGIONS_AT + purgatory_max_regions * purgatory_region_size

	/* The deepest path (verify -> sha256 -> sha256_blocks) needs ~600 bytes,
	 * the failure path ~320. */
	.if purgatory_page_size - REGIONS_END < 1024
	.error "purgatory stack smaller than 1 KiB"
	.endif

	.org GDT_AT
purgatory_gdt:                           /* __BOOT_CS 0x10, __BOOT_DS 0x18: boot.rst */
gdt:
	.quad 0                              /* 0x00 null */
	.quad 0                              /* 0x08 unused */
	.quad 0x00af9a000000ffff             /* 0x10 code: 64-bit, execute/read, DPL 0 */
	.quad 0x00cf92000000ffff             /* 0x18 data: flat 4 GiB read/write */
gdt_end:

	.org GDTR_AT
purgatory_gdtr:
gdtr:
	.word gdt_end - gdt - 1              /* limit */
gdtr_base:
	.quad 0                              /* base: written by the entry code */

/* Written by the loader (buildPurgatory). */
	.org SLOTS_AT
purgatory_entry64:
entry64:
	.quad 0                              /* kernel load address + 0x200 */
purgatory_boot_params:
boot_params:
	.quad 0                              /* physical address of boot_params */
purgatory_region_count:
region_count:
	.quad 0                              /* regions to verify, 0 = no check */
purgatory_stack_page:
stack_page:
	.quad 0                              /* 0, or a 4 KiB page to use as stack */

	.org REGIONS_AT
purgatory_regions:
regions:
	.fill purgatory_max_regions * purgatory_region_size, 1, 0
purgatory_regions_end:

/* ---- private stack: the rest of the page --------------------------------- */

purgatory_stack_bottom:

/* ---- kexec jump: the part only preserve-context pages carry ---------------
 *
 * kernel_kexec() (kernel/kexec_core.c) runs an image loaded with
 * KEXEC_PRESERVE_CONTEXT through machine_kexec() and expects to get control
 * back. arch/x86/kernel/relocate_kernel_64.S (identity_mapped, the
 * preserve_context branch) swaps the image's pages into place, then *calls*
 * the entry with %rsp at the end of the kernel's swap page: 0(%rsp) is the
 * address in the kernel's control page where it continues, restores its own
 * page tables, CPU state and memory, and returns from machine_kexec(). Whoever
 * runs next (the new kernel, through its jump-back helper image) jumps to that
 * address with the same convention. So the way back needs exactly that
 * address, which the new kernel learns from `kexec_jump_back_entry=0x...`
 * appended to its command line, as kexec-tools' purgatory does.
 *
 * This part sits where the page's own stack would grow: a page that carries it
 * must name a stack page (stack_page slot), which buildPurgatory enforces.
 * The loader reserves KJUMP_APPEND_MAX zero bytes after the command line's
 * NUL, inside the bytes whose digest is taken; the text is written there only
 * after verify() accepted them, so the check holds. If a digest does not
 * match, the line is printed as on the normal path, but instead of halting the
 * machine this returns to the waiting kernel, which is intact: its `kexec -e`
 * returns, and a later one enters this page again and checks again.
 */

	.equ KJUMP_AT, REGIONS_END
	/* Longest text purgatory_kjump_append writes, with its NUL:
	 * " kexec_jump_back_entry=" (23) + "0x" + 16 digits + NUL. */
	.equ purgatory_kjump_append_max, 42

	.org KJUMP_AT
purgatory_kjump:
/* Written by the loader: physical address of the command line's NUL. */
purgatory_kjump_cmdline_end:
kjump_cmdline_end:
	.quad 0
/* Written by the entry below: where the calling kernel continues. */
purgatory_kjump_return:
kjump_return:
	.quad 0

purgatory_kjump_start:
	cli
	cld
	/* Called, not jumped to: the return address is the first thing read,
	 * before anything is pushed. Nothing else of the caller's stack is used. */
	movq	(%rsp), %rax
	movq	%rax, kjump_return(%rip)

	leaq	gdt(%rip), %rax
	movq	%rax, gdtr_base(%rip)
	lgdt	gdtr(%rip)
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* The stack page (always given with this part, see above). */
	movq	stack_page(%rip), %rax
	leaq	purgatory_page_size(%rax), %rsp

	pushq	$SEL_CODE64
	leaq	.Lkjump_reloaded(%rip), %rax
	pushq	%rax
	lretq
.Lkjump_reloaded:
	call	verify
	cmpq	$purgatory_verify_ok, %rax
	jne	.Lkjump_failed
	movq	kjump_cmdline_end(%rip), %rdi
	movq	kjump_return(%rip), %rsi
	call	kjump_append
	jmp	boot_kernel

.Lkjump_failed:
	subq	$purgatory_report_max, %rsp
	movq	%rsp, %rdi
	movq	%rax, %rsi
	call	report
	movq	%rax, %rcx
	movq	%rsp, %rsi
	call	serial_write
	/* Back to the caller. After `ret` it reads 0(%rsp) as where to enter
	 * next time (the image's re-entry point): this entry again. */
	leaq	purgatory_kjump_start(%rip), %rax
	pushq	%rax
	pushq	kjump_return(%rip)
	ret

/*
 * size_t purgatory_kjump_append(char *at, uint64_t entry)  (SysV, host-callable)
 * Writes " kexec_jump_back_entry=0x<entry in lower-case hex>" and a NUL at
 * `at` (where the command line's NUL was) and returns the length written
 * without the NUL: at most purgatory_kjump_append_max - 1.
 */
purgatory_kjump_append:
kjump_append:
	movq	%rdi, %r9                    /* start, for the length */
	movq	%rsi, %r10                   /* put_str and put_hex keep r9, r10 */
	leaq	msg_kjump(%rip), %rsi
	call	put_str
	movq	%r10, %rax
	call	put_hex
	movb	$0, (%rdi)
	movq	%rdi, %rax
	subq	%r9, %rax
	ret

msg_kjump:	.asciz " kexec_jump_back_entry="
purgatory_kjump_end:

	.org purgatory_page_size
purgatory_stack_top:
stack_top:
