/**
 * The rows of the guest matrix (tests/e2e/hostile_x86_64.test.ts) that
 * tests/unit/bad_input.test.ts does not have, on real files with every kexec
 * syscall recorded instead of made: special files as initrd, a kernel cut at
 * each header and payload boundary, another architecture's image, -p -e.
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { SafeHostSystem } from "../support/fake_system.ts";

const SECTOR = 512;
const SETUP_SECTS = 3;
const PM_OFFSET = (SETUP_SECTS + 1) * SECTOR;
const PM_SIZE = 0x8000;
const PAYLOAD_OFFSET = 0x2cc;
/** A payload that ends well before the protected-mode part does, as in real kernels. */
const PAYLOAD_LENGTH = 0x1000;
/** The kernel_info_offset field: the last one of a protocol 2.15 header. */
const KERNEL_INFO_OFFSET_FIELD = 0x268;

const dir = Deno.makeTempDirSync({ prefix: "kexec-hostile-files-" });
const kernelBytes = syntheticKernel({
  setupSects: SETUP_SECTS,
  pmSize: PM_SIZE,
  payloadOffset: PAYLOAD_OFFSET,
  payloadLength: PAYLOAD_LENGTH,
});
const kernel = `${dir}/vmlinuz`;
Deno.writeFileSync(kernel, kernelBytes);
Deno.symlinkSync(`${dir}/loop-b`, `${dir}/loop-a`);
Deno.symlinkSync(`${dir}/loop-a`, `${dir}/loop-b`);
const mkfifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
assert.ok(mkfifo.success, "mkfifo (coreutils) is needed for the FIFO case");
const arm64 = new Uint8Array(64);
new TextEncoder().encodeInto("ARMd", arm64.subarray(0x38)); // "ARM\x64"
Deno.writeFileSync(`${dir}/Image`, arm64);

const payloadStart = PM_OFFSET + PAYLOAD_OFFSET;
const syssizeBytes = Math.ceil(PM_SIZE / 16) * 16;
const CUTS: [string, number, RegExp][] = [
  ["inside the setup header", KERNEL_INFO_OFFSET_FIELD, /616 bytes is too short for a bzImage/],
  ["at the end of the real-mode part", PM_OFFSET, /before the protected-mode kernel.*truncated/],
  ["inside the payload", payloadStart + 0x100, /truncated: the compressed payload ends at/],
  [
    "one byte short of the payload",
    payloadStart + PAYLOAD_LENGTH - 1,
    new RegExp(
      `payload ends at ${PAYLOAD_OFFSET + PAYLOAD_LENGTH} bytes .* has only ` +
        `${PAYLOAD_OFFSET + PAYLOAD_LENGTH - 1}`,
    ),
  ],
  [
    "after the payload, a sector beyond syssize's slack",
    PM_OFFSET + syssizeBytes - SECTOR - 1,
    /truncated: syssize says the protected-mode part is/,
  ],
];

for (const [where, length, message] of CUTS) {
  Deno.test(`hostile files: a kernel cut ${where} is refused before any syscall`, async () => {
    const path = `${dir}/cut-${length}`;
    await Deno.writeFile(path, kernelBytes.subarray(0, length));
    for (const mode of ["-s", "-c", "-a"]) {
      const sys = new SafeHostSystem();
      assert.equal(await runCli([mode, "-l", path], sys), 255, sys.captured.stderr);
      assert.match(sys.captured.stderr, new RegExp(`^kexec: kernel ${path}: `));
      assert.match(sys.captured.stderr, message);
      assert.deepEqual(sys.calls, [], `${mode}: no syscall`);
    }
  });
}

Deno.test("hostile files: the uncut kernel passes the same checks (the cuts are what fail)", async () => {
  const sys = new SafeHostSystem({ fileLoadErrnos: [0] });
  assert.equal(await runCli(["-s", "-l", kernel], sys), 0, sys.captured.stderr);
  assert.equal(sys.calls.length, 1);
});

const INITRD_ROWS: [string, string, RegExp][] = [
  ["a FIFO", `${dir}/fifo`, /initrd .*fifo is a FIFO, not a regular file/],
  ["/dev/zero", "/dev/zero", /initrd \/dev\/zero is a character device, not a regular file/],
  ["a symlink loop", `${dir}/loop-a`, /cannot open initrd .*loop-a: ELOOP/],
];

for (const [what, path, message] of INITRD_ROWS) {
  Deno.test(`hostile files: an initrd that is ${what} is refused without blocking or a syscall`, async () => {
    const sys = new SafeHostSystem();
    assert.equal(await runCli(["-l", kernel, `--initrd=${path}`], sys), 255);
    assert.match(sys.captured.stderr, message);
    assert.equal(sys.captured.stderr.trimEnd().split("\n").length, 1);
    assert.deepEqual(sys.calls, []);
  });
}

Deno.test("hostile files: an arm64 Image on x86_64 names both architectures, for either syscall", async () => {
  for (const mode of ["-s", "-c", "-a"]) {
    const sys = new SafeHostSystem();
    assert.equal(await runCli([mode, "-l", `${dir}/Image`], sys), 255);
    assert.match(
      sys.captured.stderr,
      /is an arm64 Image built for arm64 \(aarch64\), but this machine is x86_64/,
    );
    assert.deepEqual(sys.calls, [], `${mode}: no syscall`);
  }
});

Deno.test("hostile files: -p -e boots (as in kexec-tools), and the host's kernel without kexec refuses it before anything", async () => {
  const sys = new SafeHostSystem();
  assert.equal(await runCli(["-p", "-e", kernel], sys), 1);
  assert.match(sys.captured.stderr, /is ignored: this command line loads no kernel/);
  assert.match(sys.captured.stderr, /Nothing has been loaded!/);
  assert.deepEqual(sys.calls, []);
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
