/**
 * The device tree edits of a kexec: what the next kernel finds in `/chosen`
 * and in the memory reservation block. The model is Linux's own loader,
 * drivers/of/kexec.c `of_kexec_alloc_and_setup_fdt` (used by kexec_file_load
 * on arm64), property by property; the properties are described in dt-schema's
 * schemas/chosen.yaml (formerly Linux Documentation/devicetree/bindings/chosen.txt).
 *
 * Like the kernel:
 * - `/chosen` is created when missing;
 * - stale `linux,elfcorehdr` and `linux,usable-memory-range` (left by a crash
 *   load, or present when kexec'ing from a kdump kernel) are removed;
 * - the `/memreserve/` entry of the old initrd (exact size, or rounded up to
 *   a page) is removed, and `linux,initrd-start`/`-end` are set (u64, end =
 *   start + size, exclusive) or removed when there is no initrd now;
 * - crash loads get `linux,elfcorehdr` and `linux,usable-memory-range` in the
 *   root's `#address-cells`/`#size-cells` (main region first, the low region
 *   last: drivers/of/fdt.c early_init_dt_check_for_usable_mem_range);
 * - stale kexec handover pointers (`linux,kho-fdt`, `linux,kho-scratch`,
 *   kho_add_chosen) and the IMA buffer (`linux,ima-kexec-buffer` with its
 *   `/memreserve/` entry, remove_ima_buffer) are removed;
 * - `bootargs` is set, or removed when no command line is given (kexec-tools
 *   keeps the old one instead);
 * - `kaslr-seed` (8 bytes) and `rng-seed` (the kernel gives 128) are replaced
 *   with fresh bytes, and `linux,booted-from-kexec` is set.
 *
 * Unlike the kernel, on purpose:
 * - no `/memreserve/` entry is added for the new initrd or the elfcorehdr:
 *   the next kernel reserves both from the `/chosen` properties
 *   (init/initramfs.c reserve_initrd_mem, drivers/of/fdt.c
 *   fdt_reserve_elfcorehdr, which warns "elfcorehdr is overlapped" when a
 *   `/memreserve/` entry already covers it), and an entry the next loader
 *   does not remove keeps that memory reserved for good (kexec-tools removes
 *   none);
 * - the entry reserving the old device tree itself is left alone: the kernel
 *   knows where its blob lies, user space does not;
 * - the seeds are inputs, so the edit is pure and its result reproducible.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";
import { FDT_HEADER, FDT_RESERVE_ENTRY_SIZE } from "./layout.ts";
import { serializeFdt } from "./serialize.ts";
import {
  addChild,
  cloneFdt,
  deleteProperty,
  type Fdt,
  type FdtNode,
  findNode,
  getProperty,
  setProperty,
} from "./tree.ts";
import {
  decodeRanges,
  encodeRanges,
  type FdtRange,
  fdtU64,
  readU64,
  type RootCells,
  rootCells,
} from "./values.ts";

/** Bytes of `kaslr-seed`: one u64 (drivers/of/kexec.c). */
export const KASLR_SEED_SIZE = 8;

/** Bytes of `rng-seed` Linux's own loader gives (drivers/of/kexec.c RNG_SEED_SIZE). */
export const RNG_SEED_SIZE = 128;

/**
 * Free bytes left at the end of the blob for the next kernel: the 4 KiB
 * drivers/of/kexec.c gives itself for these edits (FDT_EXTRA_SPACE, "so that
 * we can add initrd, bootargs, kaslr-seed, rng-seed, useable-memory-range and
 * elfcorehdr"), kept so that whoever edits the blob in place next has room.
 * (arm64's kexec_file_load packs its blob with fdt_pack instead,
 * arch/arm64/kernel/machine_kexec_file.c load_other_segments.)
 */
export const KEXEC_FDT_FREE_SPACE = 0x1000;

/** What a crash kernel is told in `/chosen`. */
export interface KexecChosenCrash {
  /** Where the ELF core header lies. */
  readonly elfcorehdr: FdtRange;
  /** The memory the crash kernel may use: the main (high) region first, the low one last. */
  readonly usableMemory: readonly FdtRange[];
}

/** The next kernel's boot inputs, as `/chosen` carries them. */
export interface KexecChosenInput {
  /**
   * `bootargs` as lib/cmdline.ts cmdlineBytes makes them (UTF-8 and one
   * terminating NUL); undefined removes `bootargs`. The architecture's limit
   * (arm64: COMMAND_LINE_SIZE 2048 with the NUL) is the planner's to check.
   */
  readonly cmdline: Uint8Array | undefined;
  /** Where the initrd was placed; null when there is none. */
  readonly initrd: FdtRange | null;
  /** 8 random bytes for `kaslr-seed`. */
  readonly kaslrSeed: Uint8Array;
  /** Random bytes for `rng-seed` ({@link RNG_SEED_SIZE} like the kernel). */
  readonly rngSeed: Uint8Array;
  /** Set for a crash (kdump) load. */
  readonly crash?: KexecChosenCrash;
}

/** An edited tree and what was changed, one line per change (for --dry-run). */
export interface ChosenEdit {
  readonly fdt: Fdt;
  readonly notes: readonly string[];
}

/** The largest initrd reservation rounding tried: arm64's largest page (64 KiB). */
const MAX_PAGE_SIZE = 0x10000;

function inputError(what: string): KexecError {
  return new KexecError(`device tree /chosen: ${what}`);
}

function checkRange(range: FdtRange, what: string): void {
  const { start, size } = range;
  if (
    !Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size <= 0 ||
    !Number.isSafeInteger(start + size)
  ) {
    throw inputError(`${what} ${start}+${size} is not a range of memory`);
  }
}

function checkInput(input: KexecChosenInput): void {
  const { cmdline } = input;
  if (
    cmdline !== undefined && (cmdline.length === 0 || cmdline.indexOf(0) !== cmdline.length - 1)
  ) {
    throw inputError("the command line must be one NUL-terminated string");
  }
  if (input.initrd !== null) checkRange(input.initrd, "initrd");
  if (input.kaslrSeed.length !== KASLR_SEED_SIZE) {
    throw inputError(`kaslr-seed must be ${KASLR_SEED_SIZE} bytes, not ${input.kaslrSeed.length}`);
  }
  if (input.rngSeed.length === 0) throw inputError("rng-seed must not be empty");
  if (input.crash) {
    checkRange(input.crash.elfcorehdr, "elfcorehdr");
    if (input.crash.usableMemory.length === 0) {
      throw inputError("a crash kernel needs usable memory");
    }
    input.crash.usableMemory.forEach((r, i) => checkRange(r, `usable memory range ${i}`));
  }
}

const rangeText = (ranges: readonly FdtRange[]) =>
  ranges.map((r) => `${hex(r.start)} ${hex(r.size)}`).join(", ");

/** A u64 property as a number, or undefined when it is absent, malformed or beyond 2^53. */
function readAddress(chosen: FdtNode, name: string): number | undefined {
  const property = getProperty(chosen, name);
  if (property === undefined || (property.value.length !== 4 && property.value.length !== 8)) {
    return undefined;
  }
  const value = readU64(property);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** Removes the reservation entry of the initrd the old `/chosen` points at, if any. */
function dropOldInitrdReservation(fdt: Fdt, chosen: FdtNode, notes: string[]): void {
  const start = readAddress(chosen, "linux,initrd-start");
  const end = readAddress(chosen, "linux,initrd-end");
  if (start === undefined || end === undefined || end < start) return;
  const size = end - start;
  // The kernel reserves the exact size, firmware may round up to its page size.
  const candidates = fdt.reservations.filter((r) =>
    r.address === start && r.size >= size &&
    r.size <= Math.ceil(size / MAX_PAGE_SIZE) * MAX_PAGE_SIZE
  );
  const entry = candidates.find((r) => r.size === size) ?? candidates[0];
  if (entry === undefined) return;
  fdt.reservations.splice(fdt.reservations.indexOf(entry), 1);
  notes.push(`/memreserve/ ${hex(entry.address)} ${hex(entry.size)}: removed (the old initrd's)`);
}

/** Removes `linux,ima-kexec-buffer` and the reservation entry of the buffer it names. */
function dropImaBuffer(fdt: Fdt, chosen: FdtNode, notes: string[]): void {
  const property = deleteProperty(chosen, "linux,ima-kexec-buffer");
  if (property === undefined) return;
  let buffer: FdtRange | undefined;
  try {
    buffer = decodeRanges(property, rootCells(fdt))[0];
  } catch (e) {
    // Undecodable: the kernel (do_get_kexec_buffer) also drops only the property then.
    if (!(e instanceof KexecError)) throw e;
  }
  const index = buffer === undefined
    ? -1
    : fdt.reservations.findIndex((r) => r.address === buffer.start && r.size === buffer.size);
  if (index < 0) {
    notes.push("/chosen/linux,ima-kexec-buffer: removed (the old kernel's IMA log)");
    return;
  }
  fdt.reservations.splice(index, 1);
  notes.push(
    `/chosen/linux,ima-kexec-buffer: removed with /memreserve/ ${hex(buffer!.start)} ` +
      `${hex(buffer!.size)} (the old kernel's IMA log)`,
  );
}

function setCrashProperties(fdt: Fdt, chosen: FdtNode, crash: KexecChosenCrash, notes: string[]) {
  const cells: RootCells = rootCells(fdt);
  const layout = `(${cells.addressCells} address, ${cells.sizeCells} size cells)`;
  setProperty(chosen, "linux,elfcorehdr", encodeRanges([crash.elfcorehdr], cells));
  notes.push(`/chosen/linux,elfcorehdr: ${rangeText([crash.elfcorehdr])} ${layout}`);
  setProperty(chosen, "linux,usable-memory-range", encodeRanges(crash.usableMemory, cells));
  notes.push(`/chosen/linux,usable-memory-range: ${rangeText(crash.usableMemory)} ${layout}`);
}

/**
 * The device tree the next kernel gets: a copy of `source` with `/chosen` and
 * the memory reservation block edited as the module description says, and
 * one note per change. `source` is not modified. A crash load needs the root
 * node's `#address-cells` and `#size-cells` ({@link rootCells}).
 *
 * @example
 * ```ts
 * import { editChosenForKexec } from "./chosen.ts";
 * import { emptyFdt, findNode, fdtU32, readString, readU64, getProperty, setProperty } from "./fdt.ts";
 * const source = emptyFdt();
 * setProperty(source.root, "#address-cells", fdtU32(2));
 * setProperty(source.root, "#size-cells", fdtU32(2));
 * const { fdt, notes } = editChosenForKexec(source, {
 *   cmdline: new TextEncoder().encode("console=ttyAMA0\0"),
 *   initrd: { start: 0x48000000, size: 0x123456 },
 *   kaslrSeed: new Uint8Array(8).fill(1),
 *   rngSeed: new Uint8Array(128).fill(2),
 * });
 * const chosen = findNode(fdt, "/chosen")!;
 * if (readString(getProperty(chosen, "bootargs")!) !== "console=ttyAMA0") throw new Error();
 * if (readU64(getProperty(chosen, "linux,initrd-end")!) !== 0x48123456n) throw new Error();
 * if (findNode(source, "/chosen") !== undefined || notes[0] !== "/chosen: created") throw new Error();
 * ```
 */
export function editChosenForKexec(source: Fdt, input: KexecChosenInput): ChosenEdit {
  checkInput(input);
  const fdt = cloneFdt(source);
  const notes: string[] = [];
  const found = findNode(fdt, "/chosen");
  const chosen = found?.name === "chosen" ? found : addChild(fdt.root, "chosen");
  if (chosen !== found) notes.push("/chosen: created");
  const remove = (name: string, why: string) => {
    if (deleteProperty(chosen, name)) notes.push(`/chosen/${name}: removed (${why})`);
  };
  remove("linux,elfcorehdr", "stale: from a crash load");
  remove("linux,usable-memory-range", "stale: from a crash load");

  dropOldInitrdReservation(fdt, chosen, notes);
  if (input.initrd !== null) {
    const { start, size } = input.initrd;
    setProperty(chosen, "linux,initrd-start", fdtU64(start));
    setProperty(chosen, "linux,initrd-end", fdtU64(start + size));
    notes.push(
      `/chosen/linux,initrd-start, linux,initrd-end: ${hex(start)}, ${hex(start + size)} ` +
        `(${hex(size)} bytes)`,
    );
  } else {
    remove("linux,initrd-start", "no initrd");
    remove("linux,initrd-end", "no initrd");
  }

  if (input.crash) setCrashProperties(fdt, chosen, input.crash, notes);
  remove("linux,kho-fdt", "stale: the old kernel's handover data");
  remove("linux,kho-scratch", "stale: the old kernel's handover data");

  if (input.cmdline !== undefined) {
    setProperty(chosen, "bootargs", input.cmdline);
    const text = new TextDecoder().decode(input.cmdline.subarray(0, input.cmdline.length - 1));
    notes.push(`/chosen/bootargs: ${JSON.stringify(text)}`);
  } else {
    remove("bootargs", "no command line given");
  }

  const oldSeed = deleteProperty(chosen, "kaslr-seed");
  setProperty(chosen, "kaslr-seed", input.kaslrSeed);
  notes.push(`/chosen/kaslr-seed: ${KASLR_SEED_SIZE} fresh bytes${oldSeed ? " (replaced)" : ""}`);
  const oldRng = getProperty(chosen, "rng-seed");
  setProperty(chosen, "rng-seed", input.rngSeed);
  notes.push(`/chosen/rng-seed: ${input.rngSeed.length} fresh bytes${oldRng ? " (replaced)" : ""}`);
  setProperty(chosen, "linux,booted-from-kexec", new Uint8Array(0));
  notes.push("/chosen/linux,booted-from-kexec: set");
  dropImaBuffer(fdt, chosen, notes);
  return { fdt, notes };
}

/** A blob for the next kernel and a line saying how large it is. */
export interface KexecFdtBlob {
  readonly blob: Uint8Array;
  readonly notes: readonly string[];
}

/**
 * Writes the edited tree in its source's layout with exactly
 * {@link KEXEC_FDT_FREE_SPACE} bytes free after the data (a source's larger
 * room, such as QEMU's 1 MiB, is not carried over), at most `maxTotalSize`
 * bytes in all: arm64 passes 2 MiB, the most the kernel maps
 * (Documentation/arch/arm64/booting.rst: the dtb "must not exceed 2 megabytes
 * in size"). Larger is a {@link KexecError}.
 *
 * @example
 * ```ts
 * import { kexecFdtBlob } from "./chosen.ts";
 * import { emptyFdt } from "./fdt.ts";
 * const { blob, notes } = kexecFdtBlob(emptyFdt(), 2 * 1024 * 1024);
 * if (blob.length !== 0x1000 + 0x48 || !notes[0].includes("4096 free")) throw new Error(notes[0]);
 * ```
 */
export function kexecFdtBlob(fdt: Fdt, maxTotalSize: number): KexecFdtBlob {
  const blob = serializeFdt(fdt, { freeSpace: KEXEC_FDT_FREE_SPACE, maxTotalSize });
  const header = (offset: number) => new DataView(blob.buffer).getUint32(offset);
  const used = Math.max(
    header(FDT_HEADER.offMemRsvmap) + (fdt.reservations.length + 1) * FDT_RESERVE_ENTRY_SIZE,
    header(FDT_HEADER.offDtStruct) + header(FDT_HEADER.sizeDtStruct),
    header(FDT_HEADER.offDtStrings) + header(FDT_HEADER.sizeDtStrings),
  );
  return {
    blob,
    notes: [
      `device tree: ${blob.length} bytes (${used} used, ${blob.length - used} free, ` +
      `at most ${maxTotalSize})`,
    ],
  };
}
