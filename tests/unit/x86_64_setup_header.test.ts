import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { probeBzImage } from "../../lib/arch/x86_64/bzimage.ts";
import { formatProtocol, parseSetupHeader } from "../../lib/arch/x86_64/setup_header.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";

const PATH = "/boot/vmlinuz-test";

/** Asserts a KexecError whose message names the file and matches `what`, with a hint. */
function rejects(bytes: Uint8Array, what: RegExp): void {
  assert.throws(
    () => parseSetupHeader(bytes, PATH),
    (e: unknown) => {
      assert.ok(e instanceof KexecError, `not a KexecError: ${e}`);
      assert.ok(e.message.startsWith(`kernel ${PATH}: `), e.message);
      assert.match(e.message, what);
      assert.ok(e.hint && e.hint.length > 10, "missing hint");
      return true;
    },
  );
}

Deno.test("setup header: every field of a 2.15 header is read", () => {
  const k = syntheticKernel({
    setupSects: 3,
    pmSize: 0x6000,
    initrdAddrMax: 0x37ffffff,
    kernelAlignment: 0x1000000,
    minAlignment: 0x15,
    cmdlineSize: 0x7ff,
    hardwareSubarch: 2,
    payloadOffset: 0x300,
    payloadLength: 0x5000,
    syssize: 0x600,
    prefAddress: 0x2000000,
    initSize: 0x1234000,
    xloadflags: 0x13,
    loadflags: 0x21,
  });
  const h = parseSetupHeader(k, PATH);
  assert.deepEqual(h, {
    setupSects: 3,
    pmOffset: 0x800,
    pmSize: 0x6000,
    headerEnd: 0x26c,
    version: 0x020f,
    syssize: 0x600,
    loadflags: 0x21,
    xloadflags: 0x13,
    initrdAddrMax: 0x37ffffff,
    kernelAlignment: 0x1000000,
    relocatableKernel: true,
    minAlignment: 0x15,
    cmdlineSize: 0x7ff,
    hardwareSubarch: 2,
    payloadOffset: 0x300,
    payloadLength: 0x5000,
    prefAddress: 0x2000000,
    initSize: 0x1234000,
    handoverOffset: 0x4db0,
    kernelInfoOffset: 0x479c,
  });
});

Deno.test("setup header: setup_sects 0 means 4; pre-2.15 has no kernel_info; 2.12 is accepted", () => {
  const h = parseSetupHeader(syntheticKernel({ setupSects: 0 }), PATH);
  assert.equal(h.setupSects, 4);
  assert.equal(h.pmOffset, 5 * 512);
  const old = parseSetupHeader(
    syntheticKernel({ version: 0x020c, jumpDisplacement: 0x66, relocatable: 0 }),
    PATH,
  );
  assert.equal(old.kernelInfoOffset, 0);
  assert.equal(old.headerEnd, 0x268);
  assert.equal(old.relocatableKernel, false);
});

Deno.test("setup header: protocol versions print as boot.rst does", () => {
  assert.equal(formatProtocol(0x020b), "2.11");
  assert.equal(formatProtocol(0x020c), "2.12");
  assert.equal(formatProtocol(0x0205), "2.05");
});

Deno.test("setup header: old protocols are rejected with the version", () => {
  rejects(syntheticKernel({ version: 0x020b }), /boot protocol 2\.11 is too old.*2\.12 or newer/);
  rejects(syntheticKernel({ version: 0x0204 }), /boot protocol 2\.04 is too old/);
});

Deno.test("setup header: 32-bit-only and zImage kernels are rejected", () => {
  rejects(syntheticKernel({ xloadflags: 0x02 }), /no 64-bit entry point.*32-bit-only/);
  rejects(syntheticKernel({ loadflags: 0x80 }), /is a zImage/);
});

Deno.test("setup header: bad magic, short files and corrupt fields are rejected", () => {
  rejects(new Uint8Array(1000), /1000 bytes is too short/);
  rejects(
    syntheticKernel({ bootFlag: 0x1234 }),
    /no boot flag 0xaa55 at offset 0x1fe \(found 0x1234\)/,
  );
  rejects(syntheticKernel({ magic: 0x53726449 }), /no "HdrS" signature/);
  rejects(syntheticKernel({ jumpDisplacement: 0x80 }), /header length byte at 0x201 is 0x80/);
  rejects(
    syntheticKernel({ kernelAlignment: 0x300000 }),
    /kernel_alignment 0x300000 is not a power/,
  );
  rejects(syntheticKernel({ kernelAlignment: 0 }), /kernel_alignment 0x0 is not a power/);
  rejects(syntheticKernel({ initSize: 0 }), /init_size is 0/);
  const noJump = syntheticKernel();
  noJump[0x200] = 0xe9;
  rejects(noJump, /jump opcode 0xe9/);
});

Deno.test("setup header: truncated kernels are rejected (payload, syssize, setup)", () => {
  const k = syntheticKernel({ pmSize: 0x8000, payloadOffset: 0x300, payloadLength: 0x7000 });
  assert.equal(parseSetupHeader(k, PATH).pmSize, 0x8000);
  // Cut inside the payload.
  rejects(
    k.subarray(0, 0x800 + 0x6000),
    /truncated: the compressed payload ends at 29440 bytes into the protected-mode part, which has only 24576/,
  );
  // Payload intact, but the tail syssize promises is missing (more than a sector).
  rejects(
    k.subarray(0, 0x800 + 0x7300),
    /truncated: syssize says the protected-mode part is 32768 bytes, the file has 29440/,
  );
  // Up to one sector of rounding is tolerated; an appended signature is fine.
  assert.equal(parseSetupHeader(k.subarray(0, 0x800 + 0x8000 - 512), PATH).pmSize, 0x7e00);
  const signed = new Uint8Array(k.length + 1472);
  signed.set(k);
  assert.equal(parseSetupHeader(signed, PATH).pmSize, 0x8000 + 1472);
  // Cut inside the setup code.
  rejects(
    syntheticKernel({ setupSects: 30 }).subarray(0, 31 * 512),
    /file ends at 15872 bytes, before the protected-mode kernel at 15872/,
  );
});

Deno.test("probeBzImage: cheap magic check, true for old kernels too", () => {
  assert.equal(probeBzImage(syntheticKernel()), true);
  assert.equal(probeBzImage(syntheticKernel({ version: 0x0204 })), true);
  assert.equal(probeBzImage(syntheticKernel({ magic: 0 })), false);
  assert.equal(probeBzImage(syntheticKernel({ bootFlag: 0 })), false);
  assert.equal(probeBzImage(new Uint8Array(0x205)), false);
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(probeBzImage(elf), false);
});
