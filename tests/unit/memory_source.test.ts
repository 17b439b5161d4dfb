import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { readMemoryMap } from "../../lib/memory/source.ts";
import type { System } from "../../lib/sys/system.ts";
import { fixtureText, memmapFixture } from "../fixtures/fixtures.ts";

/** A System that only has files and directories, recording every read. */
function fakeSystem(files: Record<string, string>, dirs: Record<string, string[]>) {
  const reads: string[] = [];
  const sys = {
    readText: (path: string) => {
      reads.push(path);
      return files[path];
    },
    listDir: (path: string) => dirs[path],
  } as unknown as System;
  return { sys, reads };
}

function memmapFiles(fixture: string): {
  files: Record<string, string>;
  dirs: Record<string, string[]>;
} {
  const files: Record<string, string> = {};
  const entries = memmapFixture(fixture);
  for (const [n, e] of entries) {
    files[`/sys/firmware/memmap/${n}/start`] = e.start;
    files[`/sys/firmware/memmap/${n}/end`] = e.end;
    files[`/sys/firmware/memmap/${n}/type`] = e.type;
  }
  // readdir order is not numeric; the reader must sort.
  return { files, dirs: { "/sys/firmware/memmap": [...entries.keys()].sort() } };
}

Deno.test("readMemoryMap prefers /sys/firmware/memmap and sorts entries numerically", () => {
  const { files, dirs } = memmapFiles("memmap-uefi-6g.txt");
  files["/proc/iomem"] = fixtureText("iomem-qemu-seabios-1g.txt");
  const { sys, reads } = fakeSystem(files, dirs);
  const { ranges, source } = readMemoryMap(sys);
  assert.equal(source, "/sys/firmware/memmap");
  assert.equal(ranges.length, 16);
  assert.equal(ranges[15].start, 0xfd00000000);
  assert.ok(!reads.includes("/proc/iomem"));
  assert.equal(
    reads.indexOf("/sys/firmware/memmap/2/start") < reads.indexOf("/sys/firmware/memmap/10/start"),
    true,
  );
});

Deno.test("readMemoryMap falls back to /proc/iomem and says why", () => {
  const { sys } = fakeSystem({ "/proc/iomem": fixtureText("iomem-qemu-seabios-1g.txt") }, {});
  const { ranges, source } = readMemoryMap(sys);
  assert.match(source, /^\/proc\/iomem \(\/sys\/firmware\/memmap is missing/);
  assert.equal(ranges.find((r) => r.kind === "ram" && r.start === 0x100000)?.end, 0x3ffe0000);

  const { files, dirs } = memmapFiles("memmap-qemu-seabios-1g.txt");
  delete files["/sys/firmware/memmap/3/type"];
  files["/proc/iomem"] = fixtureText("iomem-qemu-seabios-1g.txt");
  const partial = readMemoryMap(fakeSystem(files, dirs).sys);
  assert.match(partial.source, /entry 3 is unreadable/);
});

Deno.test("readMemoryMap: neither source usable is a clear KexecError", () => {
  assert.throws(
    () => readMemoryMap(fakeSystem({}, { "/sys/firmware/memmap": [] }).sys),
    (e: unknown) =>
      e instanceof KexecError &&
      e.message === "no memory map: /sys/firmware/memmap is empty and /proc/iomem is unreadable" &&
      /kexec_file_load/.test(e.hint ?? ""),
  );
  assert.throws(
    () =>
      readMemoryMap(fakeSystem({ "/proc/iomem": fixtureText("iomem-unprivileged.txt") }, {}).sys),
    (e: unknown) => e instanceof KexecError && /CAP_SYS_ADMIN/.test(e.hint ?? ""),
  );
  assert.throws(
    () => readMemoryMap(fakeSystem({ "/proc/iomem": "00000000-00000fff : Reserved\n" }, {}).sys),
    (e: unknown) => e instanceof KexecError && /lists no System RAM/.test(e.message),
  );
});
