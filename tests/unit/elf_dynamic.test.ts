import assert from "node:assert/strict";
import {
  defaultLibraryDirs,
  EM_AARCH64,
  EM_X86_64,
  librarySearchDirs,
  readElfDynamic,
} from "../../lib/elf/dynamic.ts";
import { KexecError } from "../../lib/errors.ts";

interface FakeElf {
  littleEndian?: boolean;
  elfClass?: number;
  machine?: number;
  interpreter?: string;
  needed?: string[];
  soname?: string;
  runpath?: string;
  rpath?: string;
  /** Put the string table at an address no PT_LOAD covers. */
  strtabOutsideLoad?: boolean;
  /** Extra dynamic tags placed before the real ones (tag, value). */
  extraTags?: [bigint, bigint][];
}

const LOAD_VADDR = 0x400000;

/**
 * Builds a minimal ELF64 image: Ehdr, program headers (PT_LOAD over the whole file,
 * PT_INTERP, PT_DYNAMIC), the interpreter string, a string table and the dynamic array.
 * Written from the gABI tables, independently of the reader's constants.
 */
function fakeElf(spec: FakeElf): Uint8Array {
  const le = spec.littleEndian ?? true;
  const enc = new TextEncoder();
  const strings: number[] = [0];
  const addString = (s: string) => {
    const at = strings.length;
    strings.push(...enc.encode(s), 0);
    return at;
  };
  const tags: [bigint, bigint][] = [...(spec.extraTags ?? [])];
  for (const n of spec.needed ?? []) tags.push([1n, BigInt(addString(n))]);
  if (spec.soname) tags.push([14n, BigInt(addString(spec.soname))]);
  if (spec.rpath) tags.push([15n, BigInt(addString(spec.rpath))]);
  if (spec.runpath) tags.push([29n, BigInt(addString(spec.runpath))]);

  const phnum = spec.interpreter === undefined ? 2 : 3;
  const phoff = 64;
  const interpOff = phoff + phnum * 56;
  const interp = spec.interpreter === undefined
    ? new Uint8Array(0)
    : enc.encode(spec.interpreter + "\0");
  const strOff = interpOff + interp.length;
  const dynOff = Math.ceil((strOff + strings.length) / 8) * 8;
  const strAddr = spec.strtabOutsideLoad ? 0x10 : LOAD_VADDR + strOff;
  tags.push([5n, BigInt(strAddr)], [10n, BigInt(strings.length)], [0n, 0n]);
  const size = dynOff + tags.length * 16;

  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, spec.elfClass ?? 2, le ? 1 : 2, 1], 0);
  v.setUint16(0x10, 3, le); // ET_DYN
  v.setUint16(0x12, spec.machine ?? EM_X86_64, le);
  v.setBigUint64(0x20, BigInt(phoff), le);
  v.setUint16(0x34, 64, le);
  v.setUint16(0x36, 56, le);
  v.setUint16(0x38, phnum, le);
  const phdr = (i: number, type: number, off: number, vaddr: number, filesz: number) => {
    const at = phoff + i * 56;
    v.setUint32(at, type, le);
    v.setBigUint64(at + 8, BigInt(off), le);
    v.setBigUint64(at + 16, BigInt(vaddr), le);
    v.setBigUint64(at + 32, BigInt(filesz), le);
    v.setBigUint64(at + 40, BigInt(filesz), le);
  };
  phdr(0, 1, 0, LOAD_VADDR, size);
  phdr(1, 2, dynOff, LOAD_VADDR + dynOff, tags.length * 16);
  if (spec.interpreter !== undefined) phdr(2, 3, interpOff, LOAD_VADDR + interpOff, interp.length);
  buf.set(interp, interpOff);
  buf.set(strings, strOff);
  tags.forEach(([tag, value], i) => {
    v.setBigInt64(dynOff + i * 16, tag, le);
    v.setBigUint64(dynOff + i * 16 + 8, value, le);
  });
  return buf;
}

Deno.test("elf: interpreter, needed, soname, runpath and rpath are read", () => {
  const info = readElfDynamic(fakeElf({
    interpreter: "/lib64/ld-linux-x86-64.so.2",
    needed: ["libdl.so.2", "libc.so.6"],
    soname: "libfoo.so.1",
    runpath: "$ORIGIN/../lib:/opt/lib",
    rpath: "/old",
  }));
  assert.equal(info.interpreter, "/lib64/ld-linux-x86-64.so.2");
  assert.deepEqual(info.needed, ["libdl.so.2", "libc.so.6"]);
  assert.equal(info.soname, "libfoo.so.1");
  assert.deepEqual(info.runpath, ["$ORIGIN/../lib", "/opt/lib"]);
  assert.deepEqual(info.rpath, ["/old"]);
  assert.equal(info.machine, EM_X86_64);
  assert.equal(info.type, 3);
  assert.equal(info.littleEndian, true);
});

Deno.test("elf: big-endian files and other machines are read too", () => {
  const info = readElfDynamic(
    fakeElf({ littleEndian: false, machine: EM_AARCH64, needed: ["libc.so.6"] }),
  );
  assert.equal(info.littleEndian, false);
  assert.equal(info.machine, EM_AARCH64);
  assert.deepEqual(info.needed, ["libc.so.6"]);
  assert.equal(info.interpreter, undefined);
});

Deno.test("elf: unknown and OS-specific dynamic tags are skipped", () => {
  const info = readElfDynamic(fakeElf({
    needed: ["liba.so"],
    extraTags: [[0x6ffffffbn, 1n], [-5n, 0xffffffffffffffffn], [30n, 8n]],
  }));
  assert.deepEqual(info.needed, ["liba.so"]);
});

Deno.test("elf: files that are not usable ELF64 are refused with KexecError", () => {
  assert.throws(
    () => readElfDynamic(new TextEncoder().encode("#!/bin/sh\necho hi\n".padEnd(80))),
    /no ELF magic/,
  );
  assert.throws(() => readElfDynamic(fakeElf({ elfClass: 1 })), /not a 64-bit/);
  const whole = fakeElf({ needed: ["libc.so.6"] });
  assert.throws(() => readElfDynamic(whole.subarray(0, 100), "cut"), /cut: .*beyond the end/);
  assert.throws(
    () => readElfDynamic(fakeElf({ needed: ["x"], strtabOutsideLoad: true })),
    /in no PT_LOAD segment/,
  );
  assert.throws(() => readElfDynamic(new Uint8Array(10)), KexecError);
});

Deno.test("elf: a random-access source is asked only for the tables", () => {
  const image = fakeElf({ interpreter: "/lib/ld.so", needed: ["libc.so.6"] });
  const padded = new Uint8Array(1 << 20);
  padded.set(image);
  const reads: [number, number][] = [];
  const info = readElfDynamic((offset, length) => {
    reads.push([offset, length]);
    return padded.subarray(offset, offset + length);
  });
  assert.deepEqual(info.needed, ["libc.so.6"]);
  const total = reads.reduce((n, [, len]) => n + len, 0);
  assert.ok(total < image.length * 2, `read ${total} bytes for a ${image.length}-byte image`);
});

Deno.test("elf: the running deno binary is dynamically linked against glibc", () => {
  const info = readElfDynamic(Deno.readFileSync(Deno.execPath()), Deno.execPath());
  assert.match(info.interpreter ?? "", /^\/.*ld-linux.*\.so/);
  assert.ok(info.needed.includes("libc.so.6"), info.needed.join(" "));
});

Deno.test("elf: search order follows ld.so (RPATH only without RUNPATH, $ORIGIN expanded)", () => {
  assert.deepEqual(
    librarySearchDirs({ rpath: ["/r"], runpath: ["$ORIGIN/lib", "${ORIGIN}/../x"] }, "/app/bin", [
      "/e",
    ], [
      "/s",
    ]),
    ["/e", "/app/bin/lib", "/app/x", "/s"],
  );
  assert.deepEqual(
    librarySearchDirs({ rpath: ["/r", "$LIB/y", "rel"] }, "/app", [], ["/s", "/r/"]),
    ["/r", "/s"],
  );
  assert.equal(defaultLibraryDirs(EM_X86_64)[0], "/lib/x86_64-linux-gnu");
  assert.equal(defaultLibraryDirs(EM_AARCH64)[0], "/lib/aarch64-linux-gnu");
  assert.ok(defaultLibraryDirs(0).includes("/usr/lib"));
});
