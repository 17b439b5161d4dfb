/**
 * The kernel as the x86_64 boot planner (bzimage.ts) places it: its setup
 * header for boot_params, the pieces loaded from the load address, the span
 * reserved there and the 64-bit entry. A bzImage is one piece (its
 * protected-mode part, entered at +0x200, boot.rst); an ELF vmlinux is its
 * PT_LOADs (vmlinux.ts). Everything else of the boot (boot_params, e820,
 * setup_data, initrd, purgatory, crash segments) is shared.
 *
 * @module
 */

import { hex } from "../../format.ts";
import type { AddressBound, PlacementRequest } from "../../memory/allocator.ts";
import { alignUp } from "../../memory/align.ts";
import { formatProtocol, parseSetupHeader, type SetupHeader, XLF } from "./setup_header.ts";

/** Offset of the 64-bit entry point from the protected-mode load address (boot.rst). */
export const STARTUP_64_OFFSET = 0x200;

const FOUR_GiB = 2 ** 32;

/** Segments go at or above 1 MiB: low memory belongs to firmware. */
export const FLOOR_1MIB: AddressBound = {
  address: 0x100000,
  reason: "1 MiB floor: low memory belongs to firmware",
};

/** One segment of the kernel, relative to its load address. */
export interface KernelPiece {
  /** The segment's name in tables and notes. */
  readonly name: string;
  /** The bytes (a view of the image). */
  readonly buf: Uint8Array;
  /** Offset from the load address (page-aligned). */
  readonly offset: number;
  /** Bytes reserved at the destination (≥ buf.length). */
  readonly memsz: number;
}

/** A kernel the x86_64 planner can boot through the 64-bit entry. */
export interface X86KernelImage {
  /** The setup header given to the new kernel. */
  readonly header: SetupHeader;
  /** Holds the header at its boot_params offsets: [0x1F1, header.headerEnd) is copied. */
  readonly headerBytes: Uint8Array;
  /** One line for the notes. */
  readonly summary: string;
  /** What is loaded, relative to the load address, in ascending order. */
  readonly pieces: readonly KernelPiece[];
  /** The 64-bit entry's offset from the load address. */
  readonly entryOffset: number;
  /** How the load address is chosen (its size is the whole span to reserve). */
  placement(canGoAbove4G: boolean, pageSize: number): PlacementRequest;
  /** Why it went to `[start, end)`, for the notes. */
  describePlacement(start: number, end: number): string;
}

/**
 * A bzImage as an {@link X86KernelImage}: the protected-mode part at a
 * `kernel_alignment`-aligned address at or above `pref_address` (exactly
 * there when not relocatable) with all of `init_size` reserved.
 *
 * @example
 * ```ts
 * import { bzImageKernel } from "./kernel_image.ts";
 * const k = new Uint8Array(0x3000);
 * const v = new DataView(k.buffer);
 * k[0x1f1] = 1;
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * k[0x211] = 1;
 * v.setUint32(0x230, 0x200000, true);
 * k[0x234] = 1;
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x260, 0x800000, true);
 * const image = bzImageKernel(k, "vmlinuz");
 * if (image.pieces[0].buf.length !== 0x2c00 || image.entryOffset !== 0x200) throw new Error();
 * ```
 */
export function bzImageKernel(kernel: Uint8Array, path: string): X86KernelImage {
  const header = parseSetupHeader(kernel, path);
  const memsz = Math.max(header.initSize, header.pmSize);
  return {
    header,
    headerBytes: kernel,
    summary: `kernel ${path}: bzImage, boot protocol ${formatProtocol(header.version)}, ` +
      `${header.setupSects} setup sectors, protected-mode part ${header.pmSize} bytes, ` +
      `init_size ${hex(header.initSize)}, pref_address ${hex(header.prefAddress)}, ` +
      `kernel_alignment ${hex(header.kernelAlignment)}, ` +
      `${header.relocatableKernel ? "relocatable" : "not relocatable"}, ` +
      `xloadflags ${hex(header.xloadflags)}`,
    pieces: [{ name: "kernel", buf: kernel.subarray(header.pmOffset), offset: 0, memsz }],
    entryOffset: STARTUP_64_OFFSET,
    placement(canGoAbove4G, pageSize) {
      const above4G = canGoAbove4G ? [] : [{
        address: FOUR_GiB,
        reason: "4 GiB: the kernel lacks XLF_CAN_BE_LOADED_ABOVE_4G",
      }];
      return header.relocatableKernel
        ? {
          name: "kernel",
          size: memsz,
          align: header.kernelAlignment,
          min: [FLOOR_1MIB, {
            address: header.prefAddress,
            reason: "pref_address: a relocatable kernel below it moves itself up there",
          }],
          limit: above4G,
          direction: "bottom-up",
        }
        : {
          name: "kernel",
          size: memsz,
          min: [FLOOR_1MIB, {
            address: header.prefAddress,
            reason: "pref_address: the kernel is not relocatable",
          }],
          limit: [{
            address: alignUp(header.prefAddress + memsz, pageSize),
            reason: "pref_address + init_size: the kernel is not relocatable",
          }, ...above4G],
          direction: "bottom-up",
        };
    },
    describePlacement: (start, end) =>
      `kernel: ${hex(start)}, lowest ${hex(header.kernelAlignment)}-aligned free address ` +
      `at or above pref_address ${hex(header.prefAddress)}; memsz ${hex(end - start)} ` +
      `covers init_size ${hex(header.initSize)}; entry ${hex(start + STARTUP_64_OFFSET)}`,
  };
}

/**
 * True when the kernel may be placed above 4 GiB (boot.rst, XLF_CAN_BE_LOADED_ABOVE_4G).
 *
 * @example
 * ```ts
 * import { canLoadAbove4G } from "./kernel_image.ts";
 * if (!canLoadAbove4G({ xloadflags: 3 } as never)) throw new Error();
 * ```
 */
export function canLoadAbove4G(header: SetupHeader): boolean {
  return (header.xloadflags & XLF.CAN_BE_LOADED_ABOVE_4G) !== 0;
}
