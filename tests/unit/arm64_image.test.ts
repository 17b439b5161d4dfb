/**
 * The arm64 Image header (lib/arch/arm64/image_header.ts) and the checks made
 * before any system call (format_image.ts): fields and flags, refusals of
 * big-endian, other-page-size and pre-3.17 Images, and the refusal of another
 * architecture's kernel in both directions, each naming both architectures
 * and leaving the kernel untouched.
 */

import assert from "node:assert/strict";
import { checkArm64Image, probeArm64Image } from "../../lib/arch/arm64/format_image.ts";
import {
  describeArm64ImageHeader,
  parseArm64ImageHeader,
} from "../../lib/arch/arm64/image_header.ts";
import { ExitCode, KexecError } from "../../lib/errors.ts";
import { loadKernel } from "../../lib/load.ts";
import { silentReporter } from "../../lib/report.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { machine } from "../support/machine.ts";
import { arm64Image, IMAGE, INITRD, virtMachine } from "../support/arm64_machine.ts";

const rejects = (re: RegExp) => (e: unknown) => e instanceof KexecError && re.test(e.message);

function check(image: Uint8Array, pageSize = 4096, cmdlineLength = 20) {
  return checkArm64Image({
    bytes: image,
    path: "/boot/Image",
    cmdlineLength,
    wideUserAddresses: false,
    pageSize,
  });
}

Deno.test("Debian 6.1's header: EFI stub, LE, 4K, text_offset 0, image_size 0x2010000, anywhere", () => {
  const h = parseArm64ImageHeader(arm64Image(), "/boot/vmlinuz");
  assert.deepEqual(h, {
    textOffset: 0,
    imageSize: 0x2010000,
    flags: 0xan,
    bigEndian: false,
    pageSize: 4096,
    placeAnywhere: true,
    efiStub: true,
  });
  assert.equal(
    describeArm64ImageHeader(h),
    "arm64 Image with EFI stub: little-endian, 4K pages, text_offset 0x0, image_size 0x2010000, " +
      "may be placed anywhere",
  );
});

Deno.test("flags: each field read on its own (bit 0 BE, bits 1-2 page size, bit 3 placement)", () => {
  const cases: [bigint, { bigEndian: boolean; pageSize?: number; placeAnywhere: boolean }][] = [
    [0n, { bigEndian: false, pageSize: undefined, placeAnywhere: false }],
    [1n, { bigEndian: true, pageSize: undefined, placeAnywhere: false }],
    [0b0010n, { bigEndian: false, pageSize: 0x1000, placeAnywhere: false }],
    [0b0100n, { bigEndian: false, pageSize: 0x4000, placeAnywhere: false }],
    [0b0110n, { bigEndian: false, pageSize: 0x10000, placeAnywhere: false }],
    [0b1000n, { bigEndian: false, pageSize: undefined, placeAnywhere: true }],
    // Reserved bits above 3 change nothing.
    [0xfffffffffffffff0n, { bigEndian: false, pageSize: undefined, placeAnywhere: false }],
  ];
  for (const [flags, want] of cases) {
    const h = parseArm64ImageHeader(arm64Image({ flags }), "I");
    assert.deepEqual(
      { bigEndian: h.bigEndian, pageSize: h.pageSize, placeAnywhere: h.placeAnywhere },
      want,
      `flags ${flags.toString(2)}`,
    );
  }
});

Deno.test("an old kernel's text_offset 0x80000 and a kernel without EFI stub", () => {
  const h = parseArm64ImageHeader(arm64Image({ textOffset: 0x80000n, efiStub: false }), "I");
  assert.equal(h.textOffset, 0x80000);
  assert.equal(h.efiStub, false);
  assert.match(describeArm64ImageHeader(h), /^arm64 Image: .*text_offset 0x80000/);
});

Deno.test("header refusals name the file: short, no magic, text_offset ≥ 2 MiB, image_size > 4 GiB", () => {
  assert.throws(
    () => parseArm64ImageHeader(new Uint8Array(63), "/k"),
    rejects(/^kernel \/k: 63 bytes/),
  );
  const noMagic = arm64Image();
  noMagic[0x38] = 0;
  assert.equal(probeArm64Image(noMagic), false);
  assert.throws(() => parseArm64ImageHeader(noMagic, "/k"), rejects(/\/k: no "ARM\\x64" magic/));
  assert.throws(
    () => parseArm64ImageHeader(arm64Image({ textOffset: 0x200000n }), "/k"),
    rejects(/text_offset 0x200000 is not below 2 MiB/),
  );
  assert.throws(
    () => parseArm64ImageHeader(arm64Image({ imageSize: 2n ** 32n + 1n }), "/k"),
    rejects(/image_size 0x100000001 is beyond 4 GiB/),
  );
});

Deno.test("check: a big-endian Image is refused with the reason", () => {
  assert.throws(
    () => check(arm64Image({ flags: 0xbn })),
    rejects(/big-endian arm64 Image \(header flags bit 0\).*running kernel is little-endian/),
  );
});

Deno.test("check: a 16K or 64K Image on a 4K kernel (and a 4K one on 64K) is refused naming both", () => {
  assert.throws(
    () => check(arm64Image({ flags: 0b1100n })),
    rejects(/built for 16K pages.*uses 4K pages/),
  );
  assert.throws(
    () => check(arm64Image({ flags: 0b1110n })),
    rejects(/built for 64K pages.*uses 4K pages/),
  );
  assert.throws(
    () => check(arm64Image({ flags: 0b1010n }), 0x10000),
    rejects(/built for 4K pages.*uses 64K pages/),
  );
  // Same size, or unspecified: accepted.
  assert.doesNotThrow(() => check(arm64Image({ flags: 0b1110n }), 0x10000));
  assert.doesNotThrow(() => check(arm64Image({ flags: 0b1000n }), 0x4000));
});

Deno.test("check: image_size 0 (before 3.17) is refused", () => {
  assert.throws(() => check(arm64Image({ imageSize: 0n })), rejects(/image_size is 0.*3\.17/));
});

Deno.test("check: the command line may have 2047 bytes (COMMAND_LINE_SIZE 2048 with the NUL)", () => {
  const ok = check(arm64Image(), 4096, 2047);
  assert.equal(ok.fitsSegmentLoad && ok.fitsFileLoad, true);
  assert.equal(ok.segmentLoadMax, 2047);
  const long = check(arm64Image(), 4096, 2048);
  assert.equal(long.fitsSegmentLoad || long.fitsFileLoad, false);
  assert.match(ok.notes[0], /^arm64 Image with EFI stub: little-endian, 4K pages/);
});

Deno.test("refused Images reach no system call and leave the loaded kernel loaded", async () => {
  for (const flags of [0xbn, 0b1110n]) {
    const sys = virtMachine("direct", {
      [IMAGE]: arm64Image({ flags }),
      "/sys/kernel/kexec_loaded": "1\n",
    });
    for (const syscall of ["auto", "file", "load"] as const) {
      await assert.rejects(
        loadKernel(
          sys,
          { kernel: IMAGE, initrds: [INITRD], cmdline: "", crash: false, syscall },
          silentReporter,
        ),
        (e: unknown) => e instanceof KexecError && e.exitCode === ExitCode.FAILURE,
      );
    }
    assert.deepEqual(sys.calls.filter((c) => c.op.startsWith("kexec")), []);
    assert.equal(sys.readText("/sys/kernel/kexec_loaded"), "1\n");
  }
});

Deno.test("an x86 bzImage on arm64 is refused naming both architectures, before any syscall", async () => {
  const sys = virtMachine("direct", { [IMAGE]: syntheticKernel() });
  await assert.rejects(
    loadKernel(
      sys,
      { kernel: IMAGE, initrds: [], cmdline: "", crash: false, syscall: "auto" },
      silentReporter,
    ),
    rejects(/is an x86 bzImage built for x86_64, but this machine is arm64 \(aarch64\)/),
  );
  assert.deepEqual(sys.calls, []);
});

Deno.test("an arm64 Image on x86_64 is refused naming both architectures, before any syscall", async () => {
  const sys = machine({ "/boot/Image": arm64Image() });
  await assert.rejects(
    loadKernel(sys, {
      kernel: "/boot/Image",
      initrds: [],
      cmdline: "",
      crash: false,
      syscall: "auto",
    }, silentReporter),
    rejects(
      /is an arm64 Image with EFI stub built for arm64 \(aarch64\), but this machine is x86_64/,
    ),
  );
  assert.deepEqual(sys.calls, []);
});
