import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { findIomem, iomemMemoryMap, parseIomem } from "../../lib/memory/iomem.ts";
import { fixtureText } from "../fixtures/fixtures.ts";

Deno.test("iomem: tree structure follows the indentation", () => {
  const tree = parseIomem(fixtureText("iomem-qemu-seabios-1g.txt"));
  assert.equal(tree.length, 15);
  const ram = tree.find((n) => n.start === 0x100000);
  assert.ok(ram);
  assert.equal(ram.name, "System RAM");
  assert.equal(ram.end, 0x3ffe0000);
  assert.deepEqual(ram.children.map((c) => c.name), [
    "Kernel code",
    "Kernel rodata",
    "Kernel data",
    "Kernel bss",
    "Crash kernel",
  ]);
  const hpet = tree.find((n) => n.name === "HPET 0");
  assert.deepEqual(hpet?.children.map((c) => [c.name, c.start, c.end]), [
    ["PNP0103:00", 0xfed00000, 0xfed00400],
  ]);
  assert.equal(tree.at(-1)?.start, 0x100000000);
  assert.equal(tree.at(-1)?.end, 0x180000000);
});

Deno.test("iomem: top-level classification keeps memory, drops PCI/APIC, nests stay RAM", () => {
  const map = iomemMemoryMap(parseIomem(fixtureText("iomem-qemu-seabios-1g.txt")));
  assert.deepEqual(map.map((r) => [r.start, r.end, r.kind]), [
    [0x0, 0x1000, "reserved"],
    [0x1000, 0x9fc00, "ram"],
    [0x9fc00, 0xa0000, "reserved"],
    [0xf0000, 0x100000, "reserved"],
    [0x100000, 0x3ffe0000, "ram"],
    [0x3ffe0000, 0x40000000, "reserved"],
    [0xfffc0000, 0x100000000, "reserved"],
  ]);
  const other = iomemMemoryMap(parseIomem(
    [
      "00000000-00000fff : reserved",
      "00001000-00001fff : ACPI Tables",
      "00002000-00002fff : ACPI Non-volatile Storage",
      "00003000-00003fff : Unusable memory",
      "00004000-00004fff : Persistent Memory",
      "00005000-00005fff : Persistent Memory (legacy)",
      "00006000-00006fff : Soft Reserved",
      "00007000-00007fff : System RAM (kmem)",
    ].join("\n"),
  ));
  assert.deepEqual(other.map((r) => r.kind), [
    "reserved",
    "acpi",
    "nvs",
    "unusable",
    "pmem",
    "pram",
    "soft-reserved",
  ]);
});

Deno.test("iomem: findIomem searches every depth", () => {
  const tree = parseIomem(fixtureText("iomem-qemu-seabios-1g.txt"));
  const [crash, ...more] = findIomem(tree, "Crash kernel");
  assert.equal(more.length, 0);
  assert.equal(crash.start, 0x35000000);
  assert.equal(crash.end, 0x3d000000);
  assert.equal(findIomem(tree, "Kernel code")[0].end, 0x01e02a07);
  assert.equal(findIomem(tree, "Reserved").length, 5);
  assert.equal(findIomem(tree, "PNP0103:00").length, 1);
  assert.deepEqual(findIomem(tree, "nothing"), []);
});

Deno.test("iomem: all-zero addresses (no CAP_SYS_ADMIN) are a KexecError with a hint", () => {
  assert.throws(
    () => parseIomem(fixtureText("iomem-unprivileged.txt")),
    (e: unknown) =>
      e instanceof KexecError && /every address reads as zero/.test(e.message) &&
      /CAP_SYS_ADMIN/.test(e.hint ?? ""),
  );
  // One real address is enough to trust the file.
  assert.equal(parseIomem("00000000-00000000 : x\n00001000-00001fff : y\n").length, 2);
  assert.deepEqual(parseIomem(""), []);
});

Deno.test("iomem: malformed lines and bad nesting are KexecErrors naming the line", () => {
  assert.throws(
    () => parseIomem("00000000-00000fff : Reserved\ngarbage\n"),
    (e: unknown) => e instanceof KexecError && /line 2: cannot parse 'garbage'/.test(e.message),
  );
  assert.throws(
    () => parseIomem("    00000000-00000fff : too deep\n"),
    (e: unknown) => e instanceof KexecError && /line 1: indented deeper/.test(e.message),
  );
  assert.throws(() => parseIomem("   00000000-00000fff : odd indent\n"), KexecError);
});
