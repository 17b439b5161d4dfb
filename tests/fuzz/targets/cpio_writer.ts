/**
 * The newc writer has no reader to fuzz, so its inputs are fuzzed: entry
 * paths, types, modes, owners, times, device numbers, declared versus actual
 * streamed sizes, symlink targets and encoder options. Every archive it
 * produces is read back by an independent newc reader and compared with the
 * entries, and the streaming writer must produce the same bytes.
 *
 * @module
 */

import { concatBytes } from "../../../lib/bytes.ts";
import { KexecError } from "../../../lib/errors.ts";
import {
  archivePath,
  type CpioEntry,
  newcArchive,
  newcChunks,
  type NewcOptions,
} from "../../../lib/initramfs/cpio.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { check, defineTarget } from "../target.ts";

/** An archive to write. */
export interface CpioInput {
  entries: CpioEntry[];
  options: NewcOptions;
}

const encoder = new TextEncoder();
// Names are compared as the bytes the archive holds: a BOM stays, a lone surrogate is U+FFFD.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const asStored = (name: string) => decoder.decode(encoder.encode(name));
const NUMBERS = [
  0,
  1,
  0o644,
  0o755,
  0o7777,
  0o10000,
  0o170000,
  -1,
  -0,
  0.5,
  NaN,
  Infinity,
  -Infinity,
  0x7fffffff,
  0xffffffff,
  2 ** 32,
  2 ** 53,
  Number.MAX_SAFE_INTEGER + 2,
];
const PATH_TOKENS = ["/", "//", "./", "../", "..", ".", "\0", "a".repeat(255), "é", "TRAILER!!!"];

function seeds(): CpioInput[] {
  const init = encoder.encode("#!/bin/sh\nexec /bin/busybox sh\n");
  const lib = new Uint8Array(1000).map((_, i) => (i * 13) & 0xff);
  const entries: CpioEntry[] = [
    { type: "directory", path: "/bin" },
    { type: "file", path: "/init", data: init, mode: 0o755 },
    { type: "symlink", path: "/bin/sh", target: "busybox" },
    { type: "file", path: "/bin/busybox", size: 1000, chunks: [lib.slice(0, 600), lib.slice(600)] },
    { type: "chardev", path: "/dev/console", major: 5, minor: 1 },
    { type: "blockdev", path: "dev/vda", major: 254, minor: 0, mode: 0o660 },
    {
      type: "file",
      path: "lib/x86_64-linux-gnu/libc.so.6",
      data: lib.subarray(0, 101),
      uid: 1000,
      gid: 100,
      mtime: 1700000000,
    },
    { type: "file", path: "./etc//hostname/", data: encoder.encode("guest\n") },
    { type: "file", path: "empty", data: new Uint8Array(0) },
  ];
  return [
    { entries, options: {} },
    { entries: entries.slice(0, 4), options: { createParents: false, firstInode: 100 } },
    { entries: [], options: {} },
  ];
}

function mutateEntry(rng: Rng, entry: CpioEntry): CpioEntry {
  const e: CpioEntry = { ...entry };
  switch (rng.int(6)) {
    case 0:
      e.path = mutateText(rng, e.path, PATH_TOKENS, []);
      break;
    case 1: {
      const field = rng.pick(["mode", "uid", "gid", "mtime"] as const);
      e[field] = rng.chance(0.1) ? undefined : rng.pick(NUMBERS);
      break;
    }
    case 2:
      if (e.type === "symlink") e.target = mutateText(rng, e.target, PATH_TOKENS, []);
      else if (e.type === "chardev" || e.type === "blockdev") {
        e[rng.pick(["major", "minor"] as const)] = rng.pick(NUMBERS);
      } else if (e.type === "file" && "data" in e) {
        e.data = mutateBytes(rng, e.data, { fields: [] }, []);
      }
      break;
    case 3:
      if (e.type === "file" && "chunks" in e) {
        const chunks = [...(e.chunks as Uint8Array[])];
        const edit = rng.int(4);
        if (edit === 0) e.size += rng.range(-2, 2);
        else if (edit === 1) e.size = rng.pick(NUMBERS);
        else if (edit === 2) chunks.splice(rng.int(chunks.length + 1), 0, rng.bytes(rng.int(9)));
        else chunks.splice(rng.int(chunks.length), 1);
        e.chunks = chunks;
      }
      break;
    case 4: {
      // Another type for the same path, with that type's fields.
      const path = e.path;
      const next: CpioEntry[] = [
        { type: "directory", path },
        { type: "file", path, data: rng.bytes(rng.int(8)) },
        { type: "file", path, size: 3, chunks: [rng.bytes(3)] },
        { type: "symlink", path, target: rng.pick(["", "x", "../x", "/abs"]) },
        { type: rng.pick(["chardev", "blockdev"] as const), path, major: 1, minor: 3 },
      ];
      return rng.pick(next);
    }
    default:
      e.mode = rng.pick(NUMBERS);
  }
  return e;
}

function mutate(rng: Rng, seed: CpioInput, all: readonly CpioInput[]): CpioInput {
  const entries = [...seed.entries];
  const options = { ...seed.options };
  for (let n = rng.count(5); n > 0; n--) {
    const i = rng.int(entries.length);
    switch (rng.int(6)) {
      case 0:
        entries.splice(i, 1);
        break;
      case 1:
        if (entries[i]) entries.splice(i, 0, entries[i]);
        break;
      case 2: {
        const j = rng.int(entries.length);
        [entries[i], entries[j]] = [entries[j], entries[i]];
        break;
      }
      case 3: {
        const donor = rng.pick(all).entries;
        if (donor.length) entries.push(rng.pick(donor));
        break;
      }
      case 4:
        if (rng.chance(0.5)) options.createParents = !(options.createParents ?? true);
        else options.firstInode = rng.chance(0.2) ? undefined : rng.pick(NUMBERS);
        break;
      default:
        if (entries[i]) entries[i] = mutateEntry(rng, entries[i]);
    }
  }
  return { entries: entries.filter((e) => e !== undefined), options };
}

// An independent newc reader (buffer-format.rst): 110-byte ASCII header,
// NUL-terminated name padded to 4, data padded to 4, "TRAILER!!!" last.
interface NewcRecord {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  rdevmajor: number;
  rdevminor: number;
  data: Uint8Array;
}

function readNewc(bytes: Uint8Array): NewcRecord[] {
  const text = (at: number, n: number) => decoder.decode(bytes.subarray(at, at + n));
  const align = (n: number) => (n + 3) & ~3;
  const records: NewcRecord[] = [];
  let at = 0;
  for (;;) {
    check(at + 110 <= bytes.length, `archive ends inside a header at ${at}`);
    check(text(at, 6) === "070701", `bad magic at ${at}`);
    const field = (i: number) => {
      const digits = text(at + 6 + 8 * i, 8);
      check(/^[0-9a-f]{8}$/.test(digits), `field ${i} '${digits}' is not 8 hex digits`);
      return parseInt(digits, 16);
    };
    const fields = Array.from({ length: 13 }, (_, i) => field(i));
    const [, mode, uid, gid, , mtime, filesize, , , rdevmajor, rdevminor, namesize] = fields;
    check(namesize >= 2, `namesize ${namesize}`);
    check(bytes[at + 110 + namesize - 1] === 0, "name not NUL-terminated");
    const name = text(at + 110, namesize - 1);
    check(!name.includes("\0"), `NUL inside name '${name}'`);
    const dataAt = align(at + 110 + namesize);
    check(bytes.subarray(at + 110 + namesize, dataAt).every((b) => b === 0), "name padding");
    const data = bytes.subarray(dataAt, dataAt + filesize);
    check(data.length === filesize, "file data cut short");
    at = align(dataAt + filesize);
    check(bytes.subarray(dataAt + filesize, at).every((b) => b === 0), "data padding");
    if (name === "TRAILER!!!") break;
    records.push({ name, mode, uid, gid, mtime, rdevmajor, rdevminor, data });
  }
  check(at === bytes.length, `${bytes.length - at} bytes after the trailer`);
  return records;
}

const TYPE_BITS = { file: 0o100000, directory: 0o040000, symlink: 0o120000, chardev: 0o020000 };
const DEFAULT_MODE = { file: 0o644, directory: 0o755, symlink: 0o777, chardev: 0o600 };

function contentOf(e: CpioEntry): Uint8Array {
  if (e.type === "symlink") return encoder.encode(e.target);
  if (e.type !== "file") return new Uint8Array(0);
  if ("data" in e) return e.data;
  return concatBytes(e.chunks as Iterable<Uint8Array>);
}

function checkArchive(input: CpioInput, bytes: Uint8Array): void {
  const records = readNewc(bytes);
  let j = 0;
  for (const r of records) {
    check(!r.name.startsWith("/") && !r.name.split("/").includes(".."), `bad name '${r.name}'`);
    const e = input.entries[j];
    if (e && r.name === asStored(archivePath(e.path))) {
      const type = e.type === "blockdev" ? 0o060000 : TYPE_BITS[e.type];
      const perm = e.mode ?? (e.type === "blockdev" ? 0o600 : DEFAULT_MODE[e.type]);
      check(r.mode === (type | perm), `${r.name}: mode 0o${r.mode.toString(8)}`);
      check(r.uid === (e.uid ?? 0) && r.gid === (e.gid ?? 0), `${r.name}: owner`);
      check(r.mtime === (e.mtime ?? 0), `${r.name}: mtime`);
      if (e.type === "chardev" || e.type === "blockdev") {
        check(r.rdevmajor === e.major && r.rdevminor === e.minor, `${r.name}: device`);
      }
      const content = contentOf(e);
      check(
        r.data.length === content.length && r.data.every((b, i) => b === content[i]),
        `${r.name}: content differs`,
      );
      j++;
    } else {
      check(
        (input.options.createParents ?? true) && r.mode === (0o040000 | 0o755),
        `unexpected record '${r.name}'`,
      );
    }
  }
  check(j === input.entries.length, `${input.entries.length - j} entries missing`);
}

async function streamed(input: CpioInput): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of newcChunks(input.entries, input.options)) parts.push(chunk);
  return concatBytes(parts);
}

/** newcArchive and newcChunks with fuzzed entries; the output is read back. */
export const cpioWriterTarget = defineTarget<CpioInput>({
  name: "cpio_writer",
  entry: "lib/initramfs/cpio.ts newcArchive/newcChunks (inputs; no reader exists)",
  seeds,
  mutate,
  async run(input) {
    let archive: Uint8Array | undefined;
    let refusal: unknown;
    try {
      archive = newcArchive(input.entries, input.options);
    } catch (e) {
      refusal = e;
    }
    let stream: Uint8Array | undefined;
    try {
      stream = await streamed(input);
    } catch (e) {
      check(refusal !== undefined, `newcChunks refused what newcArchive wrote: ${e}`);
      if (!(e instanceof KexecError)) throw e;
    }
    if (refusal !== undefined) {
      check(stream === undefined, "newcChunks wrote what newcArchive refused");
      throw refusal;
    }
    checkArchive(input, archive!);
    check(
      stream!.length === archive!.length && stream!.every((b, i) => b === archive![i]),
      "newcChunks and newcArchive differ",
    );
  },
});
