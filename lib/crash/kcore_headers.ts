/**
 * The program headers of /proc/kcore (an ELF64 core file, fs/proc/kcore.c):
 * how many bytes hold them, and its PT_LOADs, which map kernel virtual
 * addresses to physical ones and to offsets in the file. Pure: the bytes are
 * read by lib/crash/sources.ts.
 *
 * @module
 */

import { PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import { ELF, ELF64_EHDR, ELF64_PHDR, ELF_MAGIC } from "./elf64.ts";

// p_paddr of a /proc/kcore segment without a physical address.
const KCORE_NO_PADDR = 0xffffffffffffffffn;

/** One PT_LOAD of /proc/kcore. */
export interface KcoreLoad {
  /** Virtual address (p_vaddr). */
  readonly vaddr: bigint;
  /** Physical address, when the kernel gives one (RAM and kernel text). */
  readonly paddr?: bigint;
  /** Size (p_memsz). */
  readonly memsz: bigint;
  /** Where its bytes are in /proc/kcore (p_offset). */
  readonly offset?: bigint;
}

/**
 * How many bytes of /proc/kcore hold its ELF header and program headers, or
 * undefined when `bytes` does not even hold the ELF header.
 *
 * @example
 * ```ts
 * import { kcoreHeaderLength } from "./kcore_headers.ts";
 * const b = new Uint8Array(64);
 * const v = new DataView(b.buffer);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x38, 3, true);
 * if (kcoreHeaderLength(b) !== 64 + 3 * 56) throw new Error();
 * ```
 */
export function kcoreHeaderLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < ELF64_EHDR.size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = view.getBigUint64(ELF64_EHDR.phoff, true);
  const phnum = view.getUint16(ELF64_EHDR.phnum, true);
  return Number(phoff) + phnum * ELF64_PHDR.size;
}

/**
 * The PT_LOADs of /proc/kcore's program headers (ELF64, little-endian).
 * Throws a {@link KexecError} when `bytes` is not such a header or is cut
 * before the last program header.
 *
 * @example
 * ```ts
 * import { parseKcoreLoads } from "./kcore_headers.ts";
 * const b = new Uint8Array(64 + 56);
 * const v = new DataView(b.buffer);
 * b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
 * v.setUint16(0x10, 4, true);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x36, 56, true);
 * v.setUint16(0x38, 1, true);
 * v.setUint32(64, 1, true);
 * v.setBigUint64(64 + 0x10, 0xffff888000100000n, true);
 * v.setBigUint64(64 + 0x18, 0x100000n, true);
 * v.setBigUint64(64 + 0x28, 0x3ff00000n, true);
 * const [ram] = parseKcoreLoads(b);
 * if (ram.vaddr !== 0xffff888000100000n || ram.paddr !== 0x100000n) throw new Error();
 * ```
 */
export function parseKcoreLoads(bytes: Uint8Array, path: string = PATHS.kcore): KcoreLoad[] {
  const bad = (what: string) =>
    new KexecError(`${path}: ${what}`, {
      hint: "the crash dump header is built without it; run with -d to see what was used",
    });
  if (bytes.length < ELF64_EHDR.size || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw bad("not an ELF file");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    view.getUint8(ELF64_EHDR.class) !== ELF.CLASS64 ||
    view.getUint8(ELF64_EHDR.data) !== ELF.DATA2LSB
  ) {
    throw bad("not a little-endian ELF64 file");
  }
  if (view.getUint16(ELF64_EHDR.phentsize, true) !== ELF64_PHDR.size) {
    throw bad(`program header size ${view.getUint16(ELF64_EHDR.phentsize, true)}, not 56`);
  }
  const phoff = Number(view.getBigUint64(ELF64_EHDR.phoff, true));
  const phnum = view.getUint16(ELF64_EHDR.phnum, true);
  if (phoff + phnum * ELF64_PHDR.size > bytes.length) {
    throw bad(`program headers end at ${phoff + phnum * ELF64_PHDR.size}, after the bytes read`);
  }
  const loads: KcoreLoad[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * ELF64_PHDR.size;
    if (view.getUint32(at + ELF64_PHDR.type, true) !== ELF.PT_LOAD) continue;
    const paddr = view.getBigUint64(at + ELF64_PHDR.paddr, true);
    loads.push({
      vaddr: view.getBigUint64(at + ELF64_PHDR.vaddr, true),
      paddr: paddr === KCORE_NO_PADDR ? undefined : paddr,
      memsz: view.getBigUint64(at + ELF64_PHDR.memsz, true),
      offset: view.getBigUint64(at + ELF64_PHDR.offset, true),
    });
  }
  return loads;
}
