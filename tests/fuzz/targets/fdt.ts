/**
 * The device tree reader and writer (lib/fdt), and the kexec `/chosen` edit
 * on top of them. Seeds: QEMU's own virt device tree and a kexec'd kernel's
 * /sys/firmware/fdt look-alike with stale properties and FDT_NOPs
 * (tests/fixtures/fdt-*.dtb), mutated in every header field, reservation
 * entry, token, length and name offset.
 *
 * An accepted blob must serialise back to itself, re-parse to the same tree,
 * and survive an edit that moves every block; an accepted edit must leave
 * exactly what was asked in `/chosen`, nothing else changed, and a blob the
 * arm64 kernel can map.
 *
 * @module
 */

import { KexecError } from "../../../lib/errors.ts";
import {
  editChosenForKexec,
  KEXEC_FDT_FREE_SPACE,
  type KexecChosenInput,
  kexecFdtBlob,
} from "../../../lib/fdt/chosen.ts";
import {
  cloneFdt,
  decodeRanges,
  type Fdt,
  FDT_HEADER,
  fdtAlign,
  type FdtNode,
  type FdtRange,
  getProperty,
  parseFdt,
  readU64,
  rootCells,
  serializeFdt,
  setProperty,
} from "../../../lib/fdt/fdt.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import type { Rng } from "../rng.ts";
import { check, defineTarget, InvariantError } from "../target.ts";
import { fdtShape } from "./shapes.ts";

const MAX_FDT_SIZE = 2 * 1024 * 1024;
const shapes = new WeakMap<Uint8Array, ReturnType<typeof fdtShape>>();

/** `blob` with its strings block moved before its structure block (valid, if unusual). */
function stringsFirst(blob: Uint8Array): Uint8Array {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const struct = v.getUint32(FDT_HEADER.offDtStruct);
  const structSize = v.getUint32(FDT_HEADER.sizeDtStruct);
  const strings = v.getUint32(FDT_HEADER.offDtStrings);
  const stringsSize = v.getUint32(FDT_HEADER.sizeDtStrings);
  const newStruct = fdtAlign(struct + stringsSize);
  const out = new Uint8Array(newStruct + structSize);
  out.set(blob.subarray(0, struct));
  out.set(blob.subarray(strings, strings + stringsSize), struct);
  out.set(blob.subarray(struct, struct + structSize), newStruct);
  const w = new DataView(out.buffer);
  w.setUint32(FDT_HEADER.totalsize, out.length);
  w.setUint32(FDT_HEADER.offDtStruct, newStruct);
  w.setUint32(FDT_HEADER.offDtStrings, struct);
  return out;
}

function fixtureSeeds(): Uint8Array[] {
  const fixtures = ["fdt-qemu-virt.dtb", "fdt-kexec-stale.dtb"].map((name) =>
    Deno.readFileSync(new URL(`../../fixtures/${name}`, import.meta.url))
  );
  return [...fixtures, stringsFirst(fixtures[1])].map((bytes) => {
    shapes.set(bytes, fdtShape(bytes));
    return bytes;
  });
}

function mutateDtb(rng: Rng, seed: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
  return mutateBytes(rng, seed, shapes.get(seed) ?? { fields: [], littleEndian: false }, others);
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Same names, property values and children, in order (children named `skip` aside). */
function sameNode(a: FdtNode, b: FdtNode, skip?: string): boolean {
  const ac = a.children.filter((c) => c.name !== skip);
  const bc = b.children.filter((c) => c.name !== skip);
  return a.name === b.name && a.properties.length === b.properties.length &&
    a.properties.every((p, i) =>
      p.name === b.properties[i].name && sameBytes(p.value, b.properties[i].value)
    ) &&
    ac.length === bc.length && ac.every((c, i) => sameNode(c, bc[i]));
}

/** Everything a tree says is the same. */
function sameTree(a: Fdt, b: Fdt): boolean {
  return a.bootCpuidPhys === b.bootCpuidPhys &&
    a.reservations.length === b.reservations.length &&
    a.reservations.every((r, i) =>
      r.address === b.reservations[i].address && r.size === b.reservations[i].size
    ) &&
    sameNode(a.root, b.root);
}

/** A call that may not fail once the blob was accepted. */
function mustWork<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new InvariantError(`${what} failed on an accepted tree: ${(e as Error).message}`);
  }
}

/** parseFdt, then serializeFdt unchanged and after an edit that moves every block. */
export const fdtTarget = defineTarget<Uint8Array>({
  name: "fdt",
  entry: "lib/fdt/parse.ts parseFdt, lib/fdt/serialize.ts serializeFdt",
  seeds: fixtureSeeds,
  mutate: mutateDtb,
  run(bytes) {
    const fdt = parseFdt(bytes, "fuzz.dtb");
    const out = mustWork("serializeFdt", () => serializeFdt(fdt));
    const total = new DataView(bytes.buffer, bytes.byteOffset).getUint32(FDT_HEADER.totalsize);
    if (fdt.version === 17 && fdt.lastCompVersion === 16) {
      check(
        out.length === total && out.every((b, i) => b === bytes[i]),
        "an unchanged tree did not serialise to the same blob",
      );
    }
    const again = mustWork("re-parse", () => parseFdt(out));
    check(sameTree(again, fdt), "re-parsed tree differs");
    const edited = cloneFdt(fdt);
    setProperty(edited.root, "x-fuzz-edit", new Uint8Array([1, 2, 3]));
    const moved = mustWork("edit", () => parseFdt(serializeFdt(edited, { freeSpace: 64 })));
    check(sameTree(moved, edited), "an edited tree did not survive serialisation");
    check(sameTree(fdt, again), "editing a copy changed the source tree");
  },
});

/** One kexec device tree edit. */
export interface ChosenFuzzInput {
  dtb: Uint8Array;
  cmdline?: Uint8Array;
  initrd: FdtRange | null;
  kaslrSeed: Uint8Array;
  rngSeed: Uint8Array;
  crash?: { elfcorehdr: FdtRange; usableMemory: FdtRange[] };
}

const ADDRESSES = [0, 1, 0xfff, 0x1000, 0x48000000, 0xffffffff, 2 ** 32, 2 ** 48, 2 ** 53 - 1];
const SIZES = [0, 1, 0x1000, 0x123456, 2 ** 32 - 1, 2 ** 32, 2 ** 52];

function range(rng: Rng): FdtRange {
  return { start: rng.pick(ADDRESSES), size: rng.pick(SIZES) };
}

function mutateOptions(rng: Rng, seed: ChosenFuzzInput): ChosenFuzzInput {
  const out = { ...seed };
  switch (rng.int(6)) {
    case 0:
      out.initrd = rng.chance(0.3) ? null : range(rng);
      break;
    case 1:
      out.cmdline = rng.chance(0.3) ? undefined : rng.pick([
        new TextEncoder().encode("console=ttyAMA0 é\0"),
        new Uint8Array(0),
        new Uint8Array([0x61, 0, 0x62, 0]),
        new Uint8Array(3000).fill(0x61).map((b, i, a) => (i === a.length - 1 ? 0 : b)),
      ]);
      break;
    case 2:
      out.kaslrSeed = rng.bytes(rng.pick([0, 7, 8, 8, 9]));
      out.rngSeed = rng.bytes(rng.pick([0, 1, 32, 128, 128, 4096]));
      break;
    case 3:
      out.crash = rng.chance(0.3) ? undefined : {
        elfcorehdr: range(rng),
        usableMemory: Array.from({ length: rng.int(4) }, () => range(rng)),
      };
      break;
    default:
      out.dtb = mutateDtb(rng, seed.dtb, []);
  }
  return out;
}

function chosenSeeds(): ChosenFuzzInput[] {
  const cmdline = new TextEncoder().encode("console=ttyAMA0 root=/dev/vda\0");
  const crash = {
    elfcorehdr: { start: 0xbf000000, size: 0x10000 },
    usableMemory: [{ start: 0xa0000000, size: 0x20000000 }, { start: 0xc000000, size: 0x4000000 }],
  };
  return fixtureSeeds().flatMap((dtb) => [
    {
      dtb,
      cmdline,
      initrd: { start: 0x48000000, size: 0x123456 },
      kaslrSeed: new Uint8Array(8),
      rngSeed: new Uint8Array(128),
    },
    {
      dtb,
      initrd: null,
      kaslrSeed: new Uint8Array(8).fill(1),
      rngSeed: new Uint8Array(128).fill(2),
    },
    {
      dtb,
      cmdline,
      initrd: null,
      kaslrSeed: new Uint8Array(8),
      rngSeed: new Uint8Array(16),
      crash,
    },
  ]);
}

const same = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

function checkChosen(input: ChosenFuzzInput, source: Fdt, out: Uint8Array): void {
  check(out.length <= MAX_FDT_SIZE, `blob of ${out.length} bytes is over 2 MiB`);
  const view = new DataView(out.buffer);
  const end = (offset: number, size: number) => view.getUint32(offset) + view.getUint32(size);
  const used = Math.max(
    view.getUint32(FDT_HEADER.offMemRsvmap) + 16 * (source.reservations.length + 1),
    end(FDT_HEADER.offDtStruct, FDT_HEADER.sizeDtStruct),
    end(FDT_HEADER.offDtStrings, FDT_HEADER.sizeDtStrings),
  );
  check(out.length - used >= KEXEC_FDT_FREE_SPACE, "no room to spare");
  const fdt = parseFdt(out, "edited");
  const chosen = fdt.root.children.find((c) => c.name === "chosen");
  check(chosen, "no /chosen");
  const prop = (name: string) => getProperty(chosen, name);
  check(
    input.cmdline ? same(prop("bootargs")?.value, input.cmdline) : !prop("bootargs"),
    "bootargs",
  );
  if (input.initrd) {
    check(readU64(prop("linux,initrd-start")!) === BigInt(input.initrd.start), "initrd-start");
    check(
      readU64(prop("linux,initrd-end")!) === BigInt(input.initrd.start + input.initrd.size),
      "initrd-end",
    );
  } else {
    check(!prop("linux,initrd-start") && !prop("linux,initrd-end"), "stale initrd properties");
  }
  check(same(prop("kaslr-seed")?.value, input.kaslrSeed), "kaslr-seed");
  check(same(prop("rng-seed")?.value, input.rngSeed), "rng-seed");
  check(prop("linux,booted-from-kexec")?.value.length === 0, "linux,booted-from-kexec");
  for (const name of ["linux,ima-kexec-buffer", "linux,kho-fdt", "linux,kho-scratch"]) {
    check(!prop(name), `${name} kept`);
  }
  if (input.crash) {
    const cells = rootCells(fdt);
    const header = decodeRanges(prop("linux,elfcorehdr")!, cells);
    check(JSON.stringify(header) === JSON.stringify([input.crash.elfcorehdr]), "linux,elfcorehdr");
    const usable = decodeRanges(prop("linux,usable-memory-range")!, cells);
    check(
      JSON.stringify(usable) === JSON.stringify(input.crash.usableMemory),
      "usable-memory-range",
    );
  } else {
    check(
      !prop("linux,elfcorehdr") && !prop("linux,usable-memory-range"),
      "stale crash properties",
    );
  }
  // Reservations are only ever dropped (the old initrd's, the IMA buffer's), in order.
  const kept = fdt.reservations.map((r) => `${r.address}+${r.size}`);
  const had = source.reservations.map((r) => `${r.address}+${r.size}`);
  check(kept.length >= had.length - 2, "more than two reservations dropped");
  let i = 0;
  for (const r of kept) {
    while (i < had.length && had[i] !== r) i++;
    check(i++ < had.length, `reservation ${r} was not in the source`);
  }
  check(
    sameNode(fdt.root, source.root, "chosen"),
    "a node outside /chosen changed",
  );
}

/** editChosenForKexec and kexecFdtBlob on parsed blobs and every kind of input. */
export const fdtChosenTarget = defineTarget<ChosenFuzzInput>({
  name: "fdt_chosen",
  entry: "lib/fdt/chosen.ts editChosenForKexec, kexecFdtBlob",
  seeds: chosenSeeds,
  mutate(rng, seed) {
    let out = mutateOptions(rng, seed);
    for (let n = rng.count(2); n > 0; n--) out = mutateOptions(rng, out);
    return out;
  },
  run(input) {
    const source = parseFdt(input.dtb, "fuzz.dtb");
    const options: KexecChosenInput = { ...input, cmdline: input.cmdline };
    const { fdt, notes } = editChosenForKexec(source, options);
    check(sameTree(source, parseFdt(input.dtb)), "the source tree changed");
    check(notes.length > 0 && notes.every((n) => n.length > 0 && !n.includes("\n")), "notes");
    let out: Uint8Array;
    try {
      out = kexecFdtBlob(fdt, MAX_FDT_SIZE).blob;
    } catch (e) {
      if (e instanceof KexecError) {
        throw new InvariantError(`a small tree did not fit: ${e.message}`);
      }
      throw e;
    }
    checkChosen(input, source, out);
  },
});
