import assert from "node:assert/strict";
import {
  archivePath,
  type CpioEntry,
  NEWC_HEADER_SIZE,
  newcArchive,
  newcChunks,
  NewcEncoder,
  newcPadding,
} from "../../lib/initramfs/cpio.ts";
import { concatBytes } from "../../lib/bytes.ts";
import { KexecError } from "../../lib/errors.ts";

const text = new TextEncoder();

/** One parsed newc record; the parser below is written from the format description only. */
interface Record {
  offset: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevmajor: number;
  rdevminor: number;
  check: number;
  name: string;
  data: Uint8Array;
}

function parseNewc(bytes: Uint8Array): Record[] {
  const ascii = new TextDecoder("latin1");
  const out: Record[] = [];
  let at = 0;
  for (;;) {
    assert.equal(at % 4, 0, `record at ${at} is not 4-aligned`);
    assert.equal(ascii.decode(bytes.subarray(at, at + 6)), "070701", `magic at ${at}`);
    const field = (i: number) => {
      const hex = ascii.decode(bytes.subarray(at + 6 + 8 * i, at + 14 + 8 * i));
      assert.match(hex, /^[0-9a-f]{8}$/);
      return parseInt(hex, 16);
    };
    const namesize = field(11);
    const filesize = field(6);
    const nameStart = at + 110;
    assert.equal(bytes[nameStart + namesize - 1], 0, "name is NUL-terminated");
    const name = new TextDecoder().decode(bytes.subarray(nameStart, nameStart + namesize - 1));
    const dataStart = Math.ceil((nameStart + namesize) / 4) * 4;
    for (let i = nameStart + namesize; i < dataStart; i++) assert.equal(bytes[i], 0, "name pad");
    const rec: Record = {
      offset: at,
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      rdevmajor: field(9),
      rdevminor: field(10),
      check: field(12),
      name,
      data: bytes.subarray(dataStart, dataStart + filesize),
    };
    out.push(rec);
    const end = Math.ceil((dataStart + filesize) / 4) * 4;
    for (let i = dataStart + filesize; i < end; i++) assert.equal(bytes[i], 0, "data pad");
    at = end;
    if (name === "TRAILER!!!") break;
  }
  assert.equal(at, bytes.length, "nothing after the trailer");
  return out;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concatBytes(parts);
}

Deno.test("newc: a single file's header matches the format byte for byte", () => {
  const bytes = newcArchive([{ type: "file", path: "ab", data: text.encode("xyz"), mode: 0o755 }]);
  const expectedHeader = "070701" +
    [1, 0o100755, 0, 0, 1, 0, 3, 0, 0, 0, 0, 3, 0]
      .map((n) => n.toString(16).padStart(8, "0")).join("");
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 110)), expectedHeader);
  // "ab\0" ends at 113; padded to 116, then "xyz" and one pad byte.
  const afterHeader = [...bytes.subarray(110, 120)];
  assert.deepEqual(afterHeader, [0x61, 0x62, 0, 0, 0, 0, 0x78, 0x79, 0x7a, 0]);
  assert.equal(new TextDecoder().decode(bytes.subarray(120, 126)), "070701", "trailer follows");
  assert.equal(NEWC_HEADER_SIZE, 110);
});

Deno.test("newc: every entry type round-trips through an independent parser", () => {
  const records = parseNewc(newcArchive([
    { type: "directory", path: "/dev", mode: 0o711, mtime: 1700000000 },
    { type: "chardev", path: "/dev/console", major: 5, minor: 1 },
    { type: "blockdev", path: "/dev/vda", major: 254, minor: 0, mode: 0o660 },
    { type: "symlink", path: "/bin/sh", target: "busybox" },
    { type: "file", path: "/bin/busybox", data: new Uint8Array([1, 2, 3, 4, 5]), uid: 7, gid: 8 },
  ]));
  const byName = new Map(records.map((r) => [r.name, r]));
  assert.deepEqual(records.map((r) => r.name), [
    "dev",
    "dev/console",
    "dev/vda",
    "bin",
    "bin/sh",
    "bin/busybox",
    "TRAILER!!!",
  ]);
  assert.equal(byName.get("dev")!.mode, 0o040711);
  assert.equal(byName.get("dev")!.mtime, 1700000000);
  assert.equal(byName.get("dev")!.nlink, 2);
  assert.equal(byName.get("dev/console")!.mode, 0o020600);
  assert.deepEqual([byName.get("dev/console")!.rdevmajor, byName.get("dev/console")!.rdevminor], [
    5,
    1,
  ]);
  assert.equal(byName.get("dev/vda")!.mode, 0o060660);
  assert.equal(byName.get("dev/vda")!.rdevmajor, 254);
  assert.equal(byName.get("bin")!.mode, 0o040755, "parent created with 0755");
  assert.equal(byName.get("bin/sh")!.mode, 0o120777);
  assert.equal(new TextDecoder().decode(byName.get("bin/sh")!.data), "busybox");
  assert.equal(byName.get("bin/busybox")!.mode, 0o100644);
  assert.deepEqual([...byName.get("bin/busybox")!.data], [1, 2, 3, 4, 5]);
  assert.deepEqual([byName.get("bin/busybox")!.uid, byName.get("bin/busybox")!.gid], [7, 8]);
  const inodes = records.filter((r) => r.name !== "TRAILER!!!").map((r) => r.ino);
  assert.equal(new Set(inodes).size, inodes.length, "inodes are unique");
  assert.ok(records.every((r) => r.check === 0));
});

Deno.test("newc: names of every length mod 4 keep records aligned", () => {
  const entries: CpioEntry[] = [];
  for (let n = 1; n <= 9; n++) {
    entries.push({ type: "file", path: "f".repeat(n), data: new Uint8Array(n + 1).fill(n) });
  }
  const records = parseNewc(newcArchive(entries));
  for (let n = 1; n <= 9; n++) {
    const rec = records[n - 1];
    assert.equal(rec.name, "f".repeat(n));
    assert.equal(rec.data.length, n + 1);
    assert.ok(rec.data.every((b) => b === n));
  }
});

Deno.test("newc: parents are created once, in order, and only when asked", () => {
  const entries: CpioEntry[] = [
    { type: "file", path: "a/b/c", data: new Uint8Array(0) },
    { type: "file", path: "a/b/d", data: new Uint8Array(0) },
    { type: "directory", path: "a/e" },
    { type: "file", path: "a/e/f", data: new Uint8Array(0) },
  ];
  assert.deepEqual(parseNewc(newcArchive(entries)).map((r) => r.name), [
    "a",
    "a/b",
    "a/b/c",
    "a/b/d",
    "a/e",
    "a/e/f",
    "TRAILER!!!",
  ]);
  assert.deepEqual(
    parseNewc(newcArchive(entries, { createParents: false })).map((r) => r.name),
    ["a/b/c", "a/b/d", "a/e", "a/e/f", "TRAILER!!!"],
  );
});

Deno.test("newc: streamed content is passed through without copying", async () => {
  const big = new Uint8Array(1 << 20).fill(0xab);
  const tail = new Uint8Array([1, 2, 3]);
  async function* content() {
    yield big;
    yield new Uint8Array(0);
    yield tail;
  }
  const seen: Uint8Array[] = [];
  for await (
    const chunk of newcChunks([{
      type: "file",
      path: "big",
      size: big.length + 3,
      chunks: content(),
    }])
  ) seen.push(chunk);
  assert.ok(seen.includes(big), "the 1 MiB chunk is yielded as is");
  assert.ok(seen.includes(tail));
  const bytes = concatBytes(seen);
  const [rec] = parseNewc(bytes);
  assert.equal(rec.data.length, big.length + 3);
  assert.deepEqual([...rec.data.subarray(big.length)], [1, 2, 3]);
});

Deno.test("newc: newcArchive and newcChunks produce the same bytes", async () => {
  const entries = (): CpioEntry[] => [
    { type: "file", path: "x", size: 6, chunks: [text.encode("abc"), text.encode("def")] },
    { type: "symlink", path: "y", target: "x" },
  ];
  assert.deepEqual(await collect(newcChunks(entries())), newcArchive(entries()));
});

Deno.test("newc: content that disagrees with the declared size is refused", async () => {
  await assert.rejects(
    collect(newcChunks([{ type: "file", path: "short", size: 10, chunks: [new Uint8Array(9)] }])),
    (e: unknown) =>
      e instanceof KexecError && /declared 10 bytes but its content had 9/.test(e.message),
  );
  await assert.rejects(
    collect(newcChunks([{ type: "file", path: "long", size: 1, chunks: [new Uint8Array(2)] }])),
    KexecError,
  );
  assert.throws(
    () => newcArchive([{ type: "file", path: "s", size: 2, chunks: [new Uint8Array(3)] }]),
    KexecError,
  );
});

Deno.test("newc: bad paths, modes and sizes are refused with KexecError", () => {
  assert.throws(() => archivePath("a/../b"), KexecError);
  assert.throws(() => archivePath("/"), KexecError);
  assert.throws(() => archivePath("a\0b"), KexecError);
  assert.equal(archivePath("./a//b/"), "a/b");
  assert.throws(
    () => newcArchive([{ type: "file", path: "m", data: new Uint8Array(0), mode: 0o100644 }]),
    /bits beyond 0o7777/,
  );
  assert.throws(
    () => newcArchive([{ type: "chardev", path: "c", major: 2 ** 32, minor: 0 }]),
    /does not fit/,
  );
  assert.throws(() => newcArchive([{ type: "symlink", path: "l", target: "" }]), KexecError);
  assert.throws(
    () =>
      newcArchive([{
        type: "file",
        path: "async",
        size: 0,
        chunks: (async function* () {})(),
      }]),
    /asynchronous content/,
  );
});

Deno.test("newc: the encoder refuses entries after the trailer", () => {
  const enc = new NewcEncoder({ firstInode: 100 });
  const header = enc.header({ type: "directory", path: "d" });
  assert.equal(parseInt(new TextDecoder().decode(header.subarray(6, 14)), 16), 100);
  enc.trailer();
  assert.throws(() => enc.header({ type: "directory", path: "e" }), KexecError);
});

Deno.test("newc: padding brings any size to a multiple of four", () => {
  for (let n = 0; n < 12; n++) assert.equal((n + newcPadding(n).length) % 4, 0);
  assert.ok(newcPadding(7).every((b) => b === 0));
});
