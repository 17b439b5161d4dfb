/**
 * An x86_64 ELF `vmlinux` (the decompressed kernel, as Debian's kdump-config
 * and `extract-vmlinux` produce it) booted through `kexec_load`: every
 * PT_LOAD at its physical address, entered at `e_entry` (the physical
 * address of `startup_64`) with %rsi = boot_params, like a bzImage's 64-bit
 * entry (Documentation/arch/x86/boot.rst "64-bit Boot Protocol").
 *
 * A vmlinux carries no setup header, so one is made for boot_params: what
 * a bzImage of protocol 2.15 would say (arch/x86/boot/header.S), with
 * `cmdline_size` from COMMAND_LINE_SIZE (arch/x86/include/asm/setup.h).
 *
 * A crash kernel must run inside the crash region: the vmlinux is then moved
 * as a whole by a multiple of 2 MiB, which `__startup_64`
 * (arch/x86/kernel/head64.c) corrects for at boot in every CONFIG_RELOCATABLE
 * kernel (all distribution kernels); a normal load keeps the linked
 * addresses, as kexec-tools does.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { X86_64_ABI } from "./abi.ts";
import { type ElfExecutable, isElf64For, readElfExecutable } from "../../elf/exec.ts";
import { ET_EXEC } from "../../elf/exec.ts";
import { hex } from "../../format.ts";
import { alignUp } from "../../memory/align.ts";
import type { ImageCheck, ImageCheckInput, KernelFormat } from "../types.ts";
import { FLOOR_1MIB, type KernelPiece, type X86KernelImage } from "./kernel_image.ts";
import { LOADFLAGS, SETUP_HEADER, SETUP_MAGIC, type SetupHeader, XLF } from "./setup_header.ts";

/** COMMAND_LINE_SIZE of x86 (arch/x86/include/asm/setup.h); the header says one less. */
export const X86_COMMAND_LINE_SIZE = 2048;
/** `__startup_64` stops when the load delta is not a multiple of PMD_SIZE (2 MiB). */
const RELOCATION_ALIGN = 0x200000;
/** Protocol of the made-up header: 2.15 (Linux 5.5), whose fields every 64-bit kernel reads. */
const MADE_UP_VERSION = 0x020f;
/** Header length byte at 0x201 for protocol 2.15: the header ends at 0x26c. */
const MADE_UP_JUMP = 0x6a;
/** ROOT_RDONLY, the root_flags default of header.S. */
const ROOT_RDONLY = 1;
const PAGE = 4096;
/** x86_64's largest physical address space (MAXPHYADDR ≤ 52). */
const PHYS_LIMIT = 2 ** 52;

function fail(path: string, what: string): KexecError {
  return new KexecError(`kernel ${path}: ${what}`, {
    hint: "give an x86_64 vmlinux (e.g. from scripts/extract-vmlinux) or a bzImage",
  });
}

interface VmlinuxLayout {
  readonly elf: ElfExecutable;
  /** Lowest p_paddr: where the kernel was linked to run. */
  readonly base: number;
  /** Bytes from `base` to the end of the last PT_LOAD. */
  readonly span: number;
  readonly pieces: readonly KernelPiece[];
  readonly entryOffset: number;
}

function layout(bytes: Uint8Array, path: string): VmlinuxLayout {
  const elf = readElfExecutable(bytes, `kernel ${path}`);
  if (elf.machine !== X86_64_ABI.elfMachine || elf.type !== ET_EXEC) {
    throw fail(path, `is not an x86_64 executable (e_machine ${elf.machine}, e_type ${elf.type})`);
  }
  const loads = elf.loads.filter((l) => l.memsz > 0).sort((a, b) => a.paddr - b.paddr);
  if (loads.length === 0) throw fail(path, "has only empty PT_LOAD segments");
  const base = loads[0].paddr;
  let end = 0;
  const pieces: KernelPiece[] = [];
  for (const [i, load] of loads.entries()) {
    if (load.paddr % PAGE !== 0) {
      throw fail(path, `PT_LOAD at p_paddr ${hex(load.paddr)} is not page-aligned`);
    }
    if (load.paddr < end) {
      throw fail(path, `PT_LOAD at p_paddr ${hex(load.paddr)} overlaps the one before it`);
    }
    end = load.paddr + alignUp(load.memsz, PAGE);
    if (end > PHYS_LIMIT) {
      throw fail(path, `PT_LOAD at p_paddr ${hex(load.paddr)} ends beyond 2^52, past any RAM`);
    }
    pieces.push({
      name: i === 0 ? "kernel" : `kernel.${i}`,
      buf: bytes.subarray(load.offset, load.offset + load.filesz),
      offset: load.paddr - base,
      memsz: load.memsz,
    });
  }
  if (elf.entry < BigInt(base) || elf.entry >= BigInt(end)) {
    throw fail(
      path,
      `e_entry ${hex(elf.entry)} lies outside its PT_LOADs (${hex(base)}-${hex(end - 1)}); ` +
        "a vmlinux's entry is the physical address of startup_64",
    );
  }
  return { elf, base, span: end - base, pieces, entryOffset: Number(elf.entry) - base };
}

/** The setup header a bzImage of protocol 2.15 would carry, at its boot_params offsets. */
function madeUpHeader(l: VmlinuxLayout, relocatable: boolean): [SetupHeader, Uint8Array] {
  const header: SetupHeader = {
    setupSects: 0,
    pmOffset: 0,
    pmSize: l.span,
    headerEnd: SETUP_HEADER.header + MADE_UP_JUMP,
    version: MADE_UP_VERSION,
    syssize: 0,
    loadflags: LOADFLAGS.LOADED_HIGH,
    // XLF_5LEVEL too: a vmlinux cannot declare it, and one that runs under a
    // 5-level kernel of its distribution is built with CONFIG_X86_5LEVEL.
    xloadflags: XLF.KERNEL_64 | XLF.CAN_BE_LOADED_ABOVE_4G | XLF.FIVE_LEVEL,
    initrdAddrMax: 0x7fffffff,
    kernelAlignment: RELOCATION_ALIGN,
    relocatableKernel: relocatable,
    minAlignment: 21,
    cmdlineSize: X86_COMMAND_LINE_SIZE - 1,
    hardwareSubarch: 0,
    payloadOffset: 0,
    payloadLength: 0,
    prefAddress: l.base,
    initSize: l.span,
    handoverOffset: 0,
    kernelInfoOffset: 0,
  };
  const bytes = new Uint8Array(header.headerEnd);
  const v = new DataView(bytes.buffer);
  v.setUint16(SETUP_HEADER.rootFlags, ROOT_RDONLY, true);
  v.setUint16(SETUP_HEADER.bootFlag, SETUP_MAGIC.bootFlag, true);
  v.setUint8(SETUP_HEADER.jump, SETUP_MAGIC.jumpOpcode);
  v.setUint8(SETUP_HEADER.jumpDisplacement, MADE_UP_JUMP);
  v.setUint32(SETUP_HEADER.header, SETUP_MAGIC.header, true);
  v.setUint16(SETUP_HEADER.version, header.version, true);
  v.setUint8(SETUP_HEADER.loadflags, header.loadflags);
  v.setUint32(SETUP_HEADER.initrdAddrMax, header.initrdAddrMax, true);
  v.setUint32(SETUP_HEADER.kernelAlignment, header.kernelAlignment, true);
  v.setUint8(SETUP_HEADER.relocatableKernel, relocatable ? 1 : 0);
  v.setUint8(SETUP_HEADER.minAlignment, header.minAlignment);
  v.setUint16(SETUP_HEADER.xloadflags, header.xloadflags, true);
  v.setUint32(SETUP_HEADER.cmdlineSize, header.cmdlineSize, true);
  v.setBigUint64(SETUP_HEADER.prefAddress, BigInt(header.prefAddress), true);
  v.setUint32(SETUP_HEADER.initSize, Math.min(header.initSize, 0xffffffff), true);
  return [header, bytes];
}

/**
 * A vmlinux as an {@link X86KernelImage}. Normal loads put it exactly at its
 * linked physical addresses; crash loads (`relocate`) anywhere 2 MiB-aligned
 * in the crash region.
 *
 * @example
 * ```ts
 * import { vmlinuxKernel } from "./vmlinux.ts";
 * const f = new Uint8Array(0x3000);
 * const v = new DataView(f.buffer);
 * f.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
 * v.setUint16(0x10, 2, true);
 * v.setUint16(0x12, 62, true);
 * v.setBigUint64(0x18, 0x1000000n, true);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x36, 56, true);
 * v.setUint16(0x38, 1, true);
 * v.setUint32(64, 1, true);
 * v.setBigUint64(64 + 8, 0x1000n, true);
 * v.setBigUint64(64 + 0x18, 0x1000000n, true);
 * v.setBigUint64(64 + 0x20, 0x1000n, true);
 * v.setBigUint64(64 + 0x28, 0x5000n, true);
 * const k = vmlinuxKernel(f, "vmlinux", false);
 * if (k.entryOffset !== 0 || k.header.cmdlineSize !== 2047) throw new Error();
 * if (k.placement(true, 4096).min?.[1].address !== 0x1000000) throw new Error();
 * ```
 */
export function vmlinuxKernel(bytes: Uint8Array, path: string, relocate: boolean): X86KernelImage {
  const l = layout(bytes, path);
  const movable = relocate && l.base % RELOCATION_ALIGN === 0;
  const [header, headerBytes] = madeUpHeader(l, movable);
  return {
    header,
    headerBytes,
    summary: `kernel ${path}: x86_64 ELF vmlinux, ${l.pieces.length} PT_LOADs from p_paddr ` +
      `${hex(l.base)}, ${hex(l.span)} bytes, entry ${hex(l.elf.entry)} (e_entry); setup ` +
      `header made up (protocol 2.15, cmdline_size ${header.cmdlineSize})`,
    pieces: l.pieces,
    entryOffset: l.entryOffset,
    placement(_canGoAbove4G, pageSize) {
      if (movable) {
        return {
          name: "kernel",
          size: l.span,
          align: RELOCATION_ALIGN,
          min: [FLOOR_1MIB],
          direction: "bottom-up",
        };
      }
      return {
        name: "kernel",
        size: l.span,
        min: [FLOOR_1MIB, {
          address: l.base,
          reason: "p_paddr: a vmlinux is loaded at its linked physical address",
        }],
        limit: [{
          address: alignUp(l.base + l.span, pageSize),
          reason: "p_paddr + size: a vmlinux is loaded at its linked physical address",
        }],
        direction: "bottom-up",
      };
    },
    describePlacement: (start, end) =>
      `kernel: ${hex(start)}-${hex(end - 1)}, ` +
      (start === l.base
        ? "the linked physical addresses"
        : `moved by ${hex(start - l.base)} from p_paddr ${hex(l.base)} (a multiple of 2 MiB, ` +
          "which startup_64 corrects for)") +
      `; entry ${hex(start + l.entryOffset)}`,
  };
}

/**
 * Checks a vmlinux before any system call: the program headers and the
 * command line against COMMAND_LINE_SIZE. Under 5-level paging a note says
 * what cannot be checked: a vmlinux cannot declare that it supports it.
 *
 * @example
 * ```ts
 * import { checkVmlinux } from "./vmlinux.ts";
 * let message = "";
 * try {
 *   checkVmlinux({ bytes: new Uint8Array(64), path: "/k", cmdlineLength: 0,
 *     wideUserAddresses: false, pageSize: 4096 });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("/k")) throw new Error(message);
 * ```
 */
export function checkVmlinux(input: ImageCheckInput): ImageCheck {
  const l = layout(input.bytes, input.path);
  const max = X86_COMMAND_LINE_SIZE - 1;
  return {
    notes: [
      ...(input.wideUserAddresses
        ? [
          "5-level paging is on: the vmlinux must be built with CONFIG_X86_5LEVEL, which it " +
          "cannot declare (distribution kernels are)",
        ]
        : []),
      `vmlinux: ${l.pieces.length} PT_LOADs, p_paddr ${hex(l.base)}-${
        hex(l.base + l.span - 1)
      }, e_entry ${hex(l.elf.entry)}`,
      `command line: ${input.cmdlineLength} bytes (kexec_load allows ${max})`,
    ],
    // kexec_file_load is ruled out by fileLoad, not by the command line.
    fitsFileLoad: true,
    fitsSegmentLoad: input.cmdlineLength <= max,
    segmentLoadMax: max,
  };
}

/**
 * The x86_64 ELF vmlinux format (kexec-tools' `elf-x86_64` loader, always
 * with Linux boot parameters as its `--args-linux`).
 *
 * @example
 * ```ts
 * import { VMLINUX } from "./vmlinux.ts";
 * if (VMLINUX.probe(new Uint8Array(64)) || VMLINUX.fileLoad === true) throw new Error();
 * ```
 */
export const VMLINUX: KernelFormat = {
  name: "ELF vmlinux",
  typeNames: ["elf-x86_64"],
  probe: (bytes) =>
    isElf64For(bytes, X86_64_ABI.elfMachine) && (bytes[0x10] | bytes[0x11] << 8) === ET_EXEC,
  describe: () => "x86_64 ELF vmlinux",
  check: (input) => Promise.resolve(checkVmlinux(input)),
  fileLoad: "it is an ELF vmlinux, and the kernel's x86_64 file loader takes only bzImages " +
    "(arch/x86/kernel/kexec-bzimage64.c is its only kexec_file_ops)",
  planSegments: async (sys, input) =>
    (await import("./plan_load.ts")).planX86Load(
      sys,
      input,
      vmlinuxKernel(input.kernel, input.kernelPath, input.crash),
    ),
};
