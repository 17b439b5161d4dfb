/*
 * arm64 purgatory for kexec_load: one position-independent 4 KiB page.
 *
 * How we get here (Linux arch/arm64/kernel/relocate_kernel.S and
 * machine_kexec.c, 5.15 and later): arm64_relocate_new_kernel copies every
 * segment page, cleans and invalidates each copied page to the Point of
 * Coherency (dc civac), invalidates the instruction cache (ic iallu), turns
 * the MMU off (SCTLR_ELx.M, C and I all clear) and branches to byte 0 of
 * this page: at EL1 with `br`, or at EL2 through the hyp stub's
 * HVC_SOFT_RESTART when the old kernel was booted at EL2 without VHE.
 * A crash kernel is entered the same way through cpu_soft_restart, its
 * segments cleaned to PoC at load time (kexec_segment_flush). Interrupts are
 * masked (DAIF). x0 holds kimage->arch.dtb_mem, which only kexec_file_load
 * sets: for kexec_load it is 0. No register and no stack can be trusted.
 *
 * What the kernel wants (Documentation/arch/arm64/booting.rst, "Call the
 * kernel image"): x0 = physical address of the DTB, x1 = x2 = x3 = 0, MMU
 * off, D-cache off or the image cleaned to PoC, interrupts masked, EL2 or
 * non-secure EL1, and an instruction cache that may be on or off but holds
 * no stale entry for the kernel image. We:
 *
 *   1. invalidate the instruction cache and turn it on (SCTLR_ELx.I) at
 *      the current exception level: with the MMU off every data access is
 *      Device-nGnRnE and with I = 0 every instruction fetch goes to memory
 *      as well; hashing tens of megabytes that way takes minutes on real
 *      hardware. The kernel sets SCTLR_ELx itself first thing (head.S,
 *      init_kernel_el), and booting.rst allows the I-cache on at entry;
 *   2. take a stack at the end of this page;
 *   3. hash every region of the region table with SHA-256 and compare with
 *      the digests the loader computed. A mismatch halts forever (wfi loop)
 *      and never reaches the kernel: a damaged crash kernel must not run.
 *      An empty table (-i) skips this;
 *   4. set x0 = DTB, x1 = x2 = x3 = 0 and branch to the kernel entry
 *      (kernel base + text_offset). Both addresses are slots in this page.
 *
 * Cache maintenance: none beyond step 1. Nothing here writes code or the
 * kernel image; relocate_kernel (or kexec_segment_flush for a crash kernel)
 * already cleaned every segment to PoC, which is what booting.rst asks. Our
 * own stores (the stack) are Device accesses that bypass the data cache.
 *
 * Rules this file keeps:
 *   - Position independent: the page is reached only PC-relative (adr, ldr
 *     literal); the loader writes slots, never relocates.
 *   - With the MMU off, data accesses are Device-nGnRnE: an unaligned load
 *     or store faults, and with no usable vector table a fault is a hang.
 *     Every access here is naturally aligned: the message is read with
 *     paired 32-bit loads from 8-byte aligned addresses (the loader
 *     guarantees region starts are), the tail byte by byte, the slots, table
 *     and stack at 8- or 16-byte aligned offsets. No exclusive or atomic
 *     instruction is used.
 *   - Integer only: FP/SIMD may trap (CPACR_EL1.FPEN, CPTR_EL2.TFP) and a
 *     trap has nowhere to go.
 *   - Only step 1 is privileged. From purgatory_main on the code runs at EL0
 *     too, and purgatory_verify and purgatory_sha256 follow the AAPCS64, so
 *     the tests run the shipped bytes in user-mode qemu-aarch64.
 *   - The hashing loop keeps the message schedule, the working variables and
 *     the chaining value in registers: it stores nothing. (A store into a
 *     page QEMU has translated code from takes its slow path; with the
 *     MMU off on hardware every store is a Device write.)
 *   - No relocations: `as` resolves every reference to a local label, and
 *     `objcopy -O binary` yields the final page.
 *
 * Build: scripts/gen-purgatory-arm64.ts runs aarch64-linux-gnu-as, objcopy
 * and nm and writes purgatory_blob.ts (bytes + every offset named below).
 */

	.arch	armv8-a
	.text

/* ---- constants (exported through nm as absolute symbols) ---------------- */

	.equ purgatory_page_size, 0x1000
	.equ purgatory_max_regions, 15       /* kexec allows 16 segments; one is this page */

	/* One region table entry: where to hash and what to expect. */
	.equ purgatory_region_mem, 0         /* u64 physical start, 8-byte aligned */
	.equ purgatory_region_len, 8         /* u64 length in bytes */
	.equ purgatory_region_sha256, 16     /* 32-byte SHA-256 digest */
	.equ purgatory_region_size, 48

	/* purgatory_verify's result when every region matches. */
	.equ purgatory_verify_ok, -1
	/* purgatory_verify's result when the count slot exceeds the table. */
	.equ purgatory_verify_bad_count, purgatory_max_regions

	.equ CURRENT_EL_EL2, 2 << 2          /* CurrentEL.EL is bits [3:2] */
	.equ SCTLR_I, 1 << 12                /* SCTLR_ELx.I: instruction cacheability */

/* ---- entry: byte 0 of the page ------------------------------------------ */

purgatory_start:
	/* Step 1, the only privileged code: I-cache on at the current EL. The
	 * invalidation first makes sure no line from before the copy can hit. */
	ic	iallu
	dsb	nsh
	isb
	mrs	x9, CurrentEL
	cmp	x9, #CURRENT_EL_EL2
	b.ne	1f
	mrs	x9, sctlr_el2
	orr	x9, x9, #SCTLR_I
	msr	sctlr_el2, x9
	b	2f
1:	mrs	x9, sctlr_el1
	orr	x9, x9, #SCTLR_I
	msr	sctlr_el1, x9
2:	isb

purgatory_main:
	/* Nothing is read from or written to the incoming stack. */
	adr	x9, purgatory_stack_top
	mov	sp, x9
	bl	verify
	cmn	x0, #1                       /* purgatory_verify_ok? */
	b.ne	.Lfailed

	/* booting.rst: x0 = DTB, x1 = x2 = x3 = 0. */
	ldr	x4, kernel_entry
	ldr	x0, dtb
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	br	x4

.Lfailed:
	/* Leave the result where a debugger (or QEMU's `info registers`) shows
	 * it: x0 = index of the first bad region (or 15 = bad count), x1/x2 =
	 * that region's start and length. */
	cmp	x0, #purgatory_max_regions
	b.hs	purgatory_halt
	adr	x3, regions
	mov	x4, #purgatory_region_size
	madd	x3, x0, x4, x3
	ldp	x1, x2, [x3, #purgatory_region_mem]
purgatory_halt:
	/* Never reaches the kernel. WFI can return (a pending interrupt wakes
	 * it even while masked), hence the loop. */
	wfi
	b	purgatory_halt

/* ---- verification (AAPCS64, runs at EL0 too) ---------------------------- */

/*
 * long purgatory_verify(void)
 * Hashes each region of the table in order. Returns purgatory_verify_ok (-1)
 * if all digests match, the index of the first mismatching region otherwise,
 * or purgatory_verify_bad_count if the count slot exceeds the table.
 * Stack: 80 bytes here, plus purgatory_sha256's.
 */
	.equ VERIFY_DIGEST, 48
	.equ VERIFY_FRAME, 80

purgatory_verify:
verify:
	stp	x29, x30, [sp, #-VERIFY_FRAME]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	str	x21, [sp, #32]

	ldr	x19, region_count
	mov	x0, #purgatory_verify_bad_count
	cmp	x19, #purgatory_max_regions
	b.hi	.Lverify_out

	adr	x20, regions
	mov	x21, #0                      /* region index */
.Lverify_next:
	mov	x0, #purgatory_verify_ok
	cmp	x21, x19
	b.hs	.Lverify_out
	ldp	x0, x1, [x20, #purgatory_region_mem]
	add	x2, sp, #VERIFY_DIGEST
	bl	sha256
	/* Compare 32 bytes as four naturally aligned u64 pairs. */
	ldp	x0, x1, [sp, #VERIFY_DIGEST]
	ldp	x2, x3, [x20, #purgatory_region_sha256]
	cmp	x0, x2
	ccmp	x1, x3, #0, eq
	b.ne	.Lverify_bad
	ldp	x0, x1, [sp, #VERIFY_DIGEST + 16]
	ldp	x2, x3, [x20, #purgatory_region_sha256 + 16]
	cmp	x0, x2
	ccmp	x1, x3, #0, eq
	b.ne	.Lverify_bad
	add	x21, x21, #1
	add	x20, x20, #purgatory_region_size
	b	.Lverify_next
.Lverify_bad:
	mov	x0, x21
.Lverify_out:
	ldr	x21, [sp, #32]
	ldp	x19, x20, [sp, #16]
	ldp	x29, x30, [sp], #VERIFY_FRAME
	ret

/* ---- SHA-256 (FIPS 180-4), integer only (AAPCS64, runs at EL0 too) ------ */

/*
 * void purgatory_sha256(const void *data, size_t len, uint8_t out[32])
 * With the MMU off, data must be 8-byte and out 4-byte aligned. Whole
 * blocks are hashed in place; the last partial block and the padding are
 * built in a 64-byte buffer on the stack. Stack: 192 bytes + 16 in
 * sha256_blocks. Saves x18 as well, for platforms that reserve it.
 */
	.equ SHA_LEN, 16
	.equ SHA_OUT, 24
	.equ SHA_SAVE, 32                    /* x18..x28: 11 registers */
	.equ SHA_TAIL, 128                   /* 64 bytes, 16-byte aligned */
	.equ SHA_FRAME, 192

purgatory_sha256:
sha256:
	stp	x29, x30, [sp, #-SHA_FRAME]!
	mov	x29, sp
	stp	x1, x2, [sp, #SHA_LEN]
	stp	x18, x19, [sp, #SHA_SAVE]
	stp	x20, x21, [sp, #SHA_SAVE + 16]
	stp	x22, x23, [sp, #SHA_SAVE + 32]
	stp	x24, x25, [sp, #SHA_SAVE + 48]
	stp	x26, x27, [sp, #SHA_SAVE + 64]
	str	x28, [sp, #SHA_SAVE + 80]

	adr	x9, sha256_h0                /* a..h = H(0) */
	ldp	w19, w20, [x9]
	ldp	w21, w22, [x9, #8]
	ldp	w23, w24, [x9, #16]
	ldp	w25, w26, [x9, #24]

	/* Every whole 64-byte block straight from memory. */
	mov	x16, x0
	and	x17, x1, #~63
	add	x17, x0, x17
	bl	sha256_blocks                /* returns x16 = first tail byte */

	/* Tail: the len % 64 remaining bytes, 0x80, zeros, and the bit length
	 * big-endian in the last 8 bytes: one block, or two when fewer than 9
	 * bytes are left after the message. */
	add	x0, sp, #SHA_TAIL
	bl	zero_block
	ldr	x1, [sp, #SHA_LEN]
	and	x2, x1, #63
	mov	x3, #0
3:	cmp	x3, x2
	b.hs	4f
	ldrb	w4, [x16, x3]
	strb	w4, [x0, x3]
	add	x3, x3, #1
	b	3b
4:	mov	w4, #0x80
	strb	w4, [x0, x2]
	cmp	x2, #56
	b.lo	5f
	mov	x16, x0                      /* no room for the length: */
	add	x17, x0, #64                 /* hash this block, then an */
	bl	sha256_blocks                /* all-zero one with it */
	add	x0, sp, #SHA_TAIL
	bl	zero_block
5:	ldr	x1, [sp, #SHA_LEN]
	lsl	x1, x1, #3
	rev	x1, x1
	str	x1, [x0, #56]
	mov	x16, x0
	add	x17, x0, #64
	bl	sha256_blocks

	/* Digest: H(N) big-endian. */
	ldr	x0, [sp, #SHA_OUT]
	rev	w19, w19
	rev	w20, w20
	rev	w21, w21
	rev	w22, w22
	rev	w23, w23
	rev	w24, w24
	rev	w25, w25
	rev	w26, w26
	stp	w19, w20, [x0]
	stp	w21, w22, [x0, #8]
	stp	w23, w24, [x0, #16]
	stp	w25, w26, [x0, #24]

	ldr	x28, [sp, #SHA_SAVE + 80]
	ldp	x26, x27, [sp, #SHA_SAVE + 64]
	ldp	x24, x25, [sp, #SHA_SAVE + 48]
	ldp	x22, x23, [sp, #SHA_SAVE + 32]
	ldp	x20, x21, [sp, #SHA_SAVE + 16]
	ldp	x18, x19, [sp, #SHA_SAVE]
	ldp	x29, x30, [sp], #SHA_FRAME
	ret

/* zero_block: x0 = 16-byte aligned 64 bytes to clear. */
zero_block:
	stp	xzr, xzr, [x0]
	stp	xzr, xzr, [x0, #16]
	stp	xzr, xzr, [x0, #32]
	stp	xzr, xzr, [x0, #48]
	ret

/*
 * One SHA-256 round t. Registers (all 32-bit): a..h the working variables,
 * w the schedule word W[t]; x17 walks K, w18 is the only scratch register.
 * Callers rotate the names of a..h instead of moving values; \h receives
 * the new a and \d the new e.
 *   T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t],  T2 = Σ0(a) + Maj(a,b,c)
 *   Σ1(e) = ror6 ^ ror11 ^ ror25,  Ch = (e & f) + (~e & g)  (disjoint bits)
 *   Σ0(a) = ror2 ^ ror13 ^ ror22,  Maj = (a & b) + (c & (a ^ b))  (disjoint)
 */
	.macro ROUND a, b, c, d, e, f, g, h, w
	ldr	w18, [x17], #4
	add	\h, \h, w18                  /* + K[t] */
	add	\h, \h, \w                   /* + W[t] */
	ror	w18, \e, #6
	eor	w18, w18, \e, ror #11
	eor	w18, w18, \e, ror #25
	add	\h, \h, w18                  /* + Σ1(e) */
	and	w18, \e, \f
	add	\h, \h, w18
	bic	w18, \g, \e
	add	\h, \h, w18                  /* + Ch(e,f,g): \h = T1 */
	add	\d, \d, \h                   /* e' = d + T1 */
	ror	w18, \a, #2
	eor	w18, w18, \a, ror #13
	eor	w18, w18, \a, ror #22
	add	\h, \h, w18                  /* + Σ0(a) */
	and	w18, \a, \b
	add	\h, \h, w18
	eor	w18, \a, \b
	and	w18, w18, \c
	add	\h, \h, w18                  /* + Maj(a,b,c): \h = a' = T1 + T2 */
	.endm

/*
 * The next schedule word in place of W[t-16] (= \w0, a 16-word window):
 *   W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]
 *   σ0(x) = ror7 ^ ror18 ^ shr3,  σ1(x) = ror17 ^ ror19 ^ shr10
 * \w1 = W[t-15], \w9 = W[t-7], \w14 = W[t-2].
 */
	.macro SCHEDULE w0, w1, w9, w14
	ror	w18, \w1, #7
	eor	w18, w18, \w1, ror #18
	eor	w18, w18, \w1, lsr #3
	add	\w0, \w0, w18
	ror	w18, \w14, #17
	eor	w18, w18, \w14, ror #19
	eor	w18, w18, \w14, lsr #10
	add	\w0, \w0, w18
	add	\w0, \w0, \w9
	.endm

/*
 * sha256_blocks: x16 = data (8-byte aligned), x17 = end (x16 + 64 n, n may
 * be 0), w19..w26 = chaining value a..h, updated in place. Returns x16 = end.
 * Internal: clobbers x0..x18 and x27..x30 (saved on a 16-byte frame). The
 * loop keeps everything in registers:
 *   w0..w15  W[t] window, loaded big-endian and updated in place
 *   x16      data, x17 K pointer, w18 scratch
 *   w19..w26 a..h
 *   x27..x30 the block's input chaining value, two words per register
 */
sha256_blocks:
	cmp	x16, x17
	b.hs	.Lblocks_none
	stp	x30, x17, [sp, #-16]!
.Lblock:
	ldp	w0, w1, [x16]                /* paired 32-bit loads: aligned */
	ldp	w2, w3, [x16, #8]            /* to 4 bytes each, and data is */
	ldp	w4, w5, [x16, #16]           /* 8-byte aligned */
	ldp	w6, w7, [x16, #24]
	ldp	w8, w9, [x16, #32]
	ldp	w10, w11, [x16, #40]
	ldp	w12, w13, [x16, #48]
	ldp	w14, w15, [x16, #56]
	add	x16, x16, #64
	rev	w0, w0
	rev	w1, w1
	rev	w2, w2
	rev	w3, w3
	rev	w4, w4
	rev	w5, w5
	rev	w6, w6
	rev	w7, w7
	rev	w8, w8
	rev	w9, w9
	rev	w10, w10
	rev	w11, w11
	rev	w12, w12
	rev	w13, w13
	rev	w14, w14
	rev	w15, w15
	/* 32-bit writes zero the upper halves, so a..h pack cleanly. */
	orr	x27, x19, x20, lsl #32
	orr	x28, x21, x22, lsl #32
	orr	x29, x23, x24, lsl #32
	orr	x30, x25, x26, lsl #32
	adr	x17, sha256_k

.Lrounds:                                /* 16 rounds: 2 turns of a..h */
	ROUND	w19, w20, w21, w22, w23, w24, w25, w26, w0
	ROUND	w26, w19, w20, w21, w22, w23, w24, w25, w1
	ROUND	w25, w26, w19, w20, w21, w22, w23, w24, w2
	ROUND	w24, w25, w26, w19, w20, w21, w22, w23, w3
	ROUND	w23, w24, w25, w26, w19, w20, w21, w22, w4
	ROUND	w22, w23, w24, w25, w26, w19, w20, w21, w5
	ROUND	w21, w22, w23, w24, w25, w26, w19, w20, w6
	ROUND	w20, w21, w22, w23, w24, w25, w26, w19, w7
	ROUND	w19, w20, w21, w22, w23, w24, w25, w26, w8
	ROUND	w26, w19, w20, w21, w22, w23, w24, w25, w9
	ROUND	w25, w26, w19, w20, w21, w22, w23, w24, w10
	ROUND	w24, w25, w26, w19, w20, w21, w22, w23, w11
	ROUND	w23, w24, w25, w26, w19, w20, w21, w22, w12
	ROUND	w22, w23, w24, w25, w26, w19, w20, w21, w13
	ROUND	w21, w22, w23, w24, w25, w26, w19, w20, w14
	ROUND	w20, w21, w22, w23, w24, w25, w26, w19, w15
	adr	x18, sha256_k_end
	cmp	x17, x18
	b.hs	.Lblock_done
	/* W[16..31] (then 32..47, 48..63) replace W[0..15] in order; each
	 * needs only words already in the window. */
	SCHEDULE w0, w1, w9, w14
	SCHEDULE w1, w2, w10, w15
	SCHEDULE w2, w3, w11, w0
	SCHEDULE w3, w4, w12, w1
	SCHEDULE w4, w5, w13, w2
	SCHEDULE w5, w6, w14, w3
	SCHEDULE w6, w7, w15, w4
	SCHEDULE w7, w8, w0, w5
	SCHEDULE w8, w9, w1, w6
	SCHEDULE w9, w10, w2, w7
	SCHEDULE w10, w11, w3, w8
	SCHEDULE w11, w12, w4, w9
	SCHEDULE w12, w13, w5, w10
	SCHEDULE w13, w14, w6, w11
	SCHEDULE w14, w15, w7, w12
	SCHEDULE w15, w0, w8, w13
	b	.Lrounds

.Lblock_done:                            /* H(i) = H(i-1) + a..h */
	add	w19, w19, w27
	lsr	x18, x27, #32
	add	w20, w20, w18
	add	w21, w21, w28
	lsr	x18, x28, #32
	add	w22, w22, w18
	add	w23, w23, w29
	lsr	x18, x29, #32
	add	w24, w24, w18
	add	w25, w25, w30
	lsr	x18, x30, #32
	add	w26, w26, w18
	ldr	x18, [sp, #8]                /* end */
	cmp	x16, x18
	b.lo	.Lblock
	ldr	x30, [sp], #16
.Lblocks_none:
	ret

purgatory_code_end:

/* ---- read-only constants ------------------------------------------------- */

	.balign 8
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
sha256_k_end:

/* ---- data slots and region table: fixed offsets --------------------------
 * Fixed so the layout stays put while the code above changes; an assembly
 * error ("attempt to move .org backwards") means the code outgrew its room. */

	.equ SLOTS_AT, 0xbc0
	.equ REGIONS_AT, 0xbe0
	.equ REGIONS_END, REGIONS_AT + purgatory_max_regions * purgatory_region_size

	/* The deepest path (main -> verify -> sha256 -> sha256_blocks) uses
	 * 80 + 192 + 16 = 288 bytes. */
	.if purgatory_page_size - REGIONS_END < 288
	.error "purgatory stack too small"
	.endif

/* Written by the loader (buildArm64Purgatory); u64, little-endian. */
	.org SLOTS_AT
purgatory_kernel_entry:
kernel_entry:
	.quad 0                              /* kernel base + text_offset */
purgatory_dtb:
dtb:
	.quad 0                              /* physical address of the DTB (x0) */
purgatory_region_count:
region_count:
	.quad 0                              /* regions to verify, 0 = no check */

	.org REGIONS_AT
purgatory_regions:
regions:
	.fill purgatory_max_regions * purgatory_region_size, 1, 0
purgatory_regions_end:

/* ---- private stack: the rest of the page --------------------------------- */

purgatory_stack_bottom:
	.org purgatory_page_size
purgatory_stack_top:
