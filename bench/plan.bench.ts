/**
 * Benchmarks of the pure core (`deno task bench:plan`): the costs a load adds on
 * top of the kernel's own work. Timings are printed by Deno.bench, never
 * asserted in tests.
 */

import { sha256 } from "../lib/plan/sha256.ts";
import { planBzImage64 } from "../lib/arch/x86_64/bzimage.ts";
import { parseInvocation } from "../lib/cli/invocation.ts";
import { parseIomem } from "../lib/memory/iomem.ts";
import { parseFirmwareMemmap } from "../lib/memory/memmap.ts";
import { newcChunks } from "../lib/initramfs/cpio.ts";
import { syntheticKernel } from "../tests/fixtures/bzimage.ts";
import { fixtureText, memmapFixture } from "../tests/fixtures/fixtures.ts";

const kernel = syntheticKernel({ pmSize: 8 * 1024 * 1024 });
const memoryMap = parseFirmwareMemmap([...memmapFixture("memmap-qemu-seabios-1g.txt").values()]);
const initrd64M = new Uint8Array(64 * 1024 * 1024).map((_, i) => i * 31);
const seed = new Uint8Array(32);
const iomemText = fixtureText("iomem-qemu-seabios-1g.txt");

function plan(verify: boolean, initrd: Uint8Array | null) {
  return planBzImage64({
    kernel,
    kernelPath: "vmlinuz",
    initrd,
    cmdline: "console=ttyS0 root=/dev/vda",
    memoryMap,
    rngSeed: seed,
    verify: verify ? sha256 : undefined,
    pageSize: 4096,
    flags: 0,
  });
}

Deno.bench("kexec_load plan, 8 MiB kernel, no initrd, with digests", { group: "plan" }, () => {
  plan(true, null);
});

Deno.bench("kexec_load plan, 8 MiB kernel + 64 MiB initrd, with digests", { group: "plan" }, () => {
  plan(true, initrd64M);
});

Deno.bench("kexec_load plan, 8 MiB kernel + 64 MiB initrd, -i (no digests)", {
  group: "plan",
  baseline: true,
}, () => {
  plan(false, initrd64M);
});

Deno.bench("parse argv (systemd's kexec --load … invocation)", { group: "parse" }, () => {
  parseInvocation([
    "--load",
    "/boot/vmlinuz",
    "--append",
    "root=/dev/vda1 ro quiet",
    "--initrd",
    "/boot/initrd.img",
  ], "x86_64");
});

Deno.bench("parse /proc/iomem (QEMU guest)", { group: "parse" }, () => {
  parseIomem(iomemText);
});

Deno.bench("newc archive of a 64 MiB file (streamed, no copy)", { group: "cpio" }, async () => {
  let n = 0;
  for await (
    const chunk of newcChunks([{ path: "big", type: "file", data: initrd64M }])
  ) n += chunk.length;
  if (n < initrd64M.length) throw new Error("short archive");
});
