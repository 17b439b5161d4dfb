/**
 * Targets for the kernel-image header readers: parseSetupHeader,
 * resolveKernel (the format registry) and checkBzImage, on real and synthetic
 * bzImages, ELF files and the magic numbers of other formats.
 *
 * @module
 */

import type { Arch } from "../../../lib/abi.ts";
import { architecture } from "../../../lib/arch/mod.ts";
import { checkBzImage } from "../../../lib/arch/x86_64/format_bzimage.ts";
import { isPowerOfTwo } from "../../../lib/memory/allocator.ts";
import { parseSetupHeader, type SetupHeader } from "../../../lib/arch/x86_64/setup_header.ts";
import { describeContent } from "../../../lib/image/magic.ts";
import { resolveKernel } from "../../../lib/image/registry.ts";
import { MemfdImageStore } from "../../../lib/image/store.ts";
import { RecordingSystem } from "../../../lib/sys/recording.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { bzImageSeeds, elfSeeds } from "../seeds.ts";
import { check, checkInteger, defineTarget } from "../target.ts";
import { BZIMAGE_SHAPE, elfShape, KERNEL_MAGICS } from "./shapes.ts";

/** Every image seed: bzImages, ELF files, and each other format's magic on a blank page. */
function imageSeeds(): Uint8Array[] {
  const others = KERNEL_MAGICS.map((magic) => {
    const page = new Uint8Array(1024);
    page.set(magic);
    return page;
  });
  const arm64 = new Uint8Array(1024);
  arm64.set(KERNEL_MAGICS.find((m) => m.length === 4 && m[0] === 0x41)!, 0x38);
  return [...bzImageSeeds(), ...elfSeeds().map((e) => e.subarray(0, 4096)), ...others, arm64];
}

function mutateImage(rng: Rng, seed: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
  const isElf = seed[0] === 0x7f && seed[1] === 0x45 && seed.length >= 64;
  return mutateBytes(rng, seed, isElf ? elfShape(seed) : BZIMAGE_SHAPE, seeds);
}

function checkHeader(h: SetupHeader, bytes: Uint8Array): void {
  for (const [name, value] of Object.entries(h)) {
    if (typeof value === "number") checkInteger(value, name);
  }
  check(h.pmOffset + h.pmSize === bytes.length, "pmOffset + pmSize is not the file length");
  check(h.pmSize > 0, "empty protected-mode part accepted");
  check(isPowerOfTwo(h.kernelAlignment), "kernel_alignment not a power of two accepted");
  check(h.initSize > 0, "init_size 0 accepted");
  check(h.payloadOffset + h.payloadLength <= h.pmSize, "payload beyond the file accepted");
}

/** parseSetupHeader on bzImage headers. */
export const setupHeaderTarget = defineTarget<Uint8Array>({
  name: "setup_header",
  entry: "lib/arch/x86_64/setup_header.ts parseSetupHeader",
  seeds: bzImageSeeds,
  mutate: (rng, seed, seeds) => mutateBytes(rng, seed, BZIMAGE_SHAPE, seeds),
  run(bytes) {
    checkHeader(parseSetupHeader(bytes, "fuzz.bzImage"), bytes);
  },
});

/** resolveKernel for both architectures: a native format of that architecture, or a KexecError. */
export const resolveKernelTarget = defineTarget<{ bytes: Uint8Array; arch: Arch }>({
  name: "resolve_kernel",
  entry: "lib/image/registry.ts resolveKernel (+ describeContent)",
  seeds: () =>
    imageSeeds().flatMap((bytes) => [
      { bytes, arch: "x86_64" as const },
      { bytes, arch: "aarch64" as const },
    ]),
  mutate: (rng, seed, seeds) => ({
    bytes: mutateImage(rng, seed.bytes, seeds.map((s) => s.bytes)),
    arch: rng.chance(0.1) ? rng.pick(["x86_64", "aarch64"] as const) : seed.arch,
  }),
  async run({ bytes, arch }) {
    const described = describeContent(bytes);
    check(described === undefined || described.length > 0, "empty description");
    const here = architecture(arch);
    // Inflated layers stay below the worker's allocation cap.
    const store = new MemfdImageStore(new RecordingSystem({}, {}, arch));
    const r = await resolveKernel(bytes, "fuzz.img", here, store, { maxImageBytes: 8 << 20 });
    check(here.formats.includes(r.format), `accepted a ${r.format.name} for ${arch}`);
    check(r.format.probe(r.bytes), "the format found does not probe its own bytes");
  },
});

const CMDLINES = [
  "console=ttyS0 root=/dev/vda quiet",
  "",
  "x".repeat(2046),
  'init=/bin/sh "quoted arg" é',
];

/** checkBzImage: the header and the command-line limits from it. */
export const checkImageTarget = defineTarget<{ bytes: Uint8Array; cmdline: string }>({
  name: "check_image",
  entry: "lib/arch/x86_64/format_bzimage.ts checkBzImage",
  seeds: () => bzImageSeeds().flatMap((bytes) => CMDLINES.map((cmdline) => ({ bytes, cmdline }))),
  mutate: (rng, seed, seeds) =>
    rng.chance(0.8)
      ? { ...seed, bytes: mutateBytes(rng, seed.bytes, BZIMAGE_SHAPE, seeds.map((s) => s.bytes)) }
      : { ...seed, cmdline: mutateText(rng, seed.cmdline, ["x".repeat(500), "\0"], CMDLINES) },
  run({ bytes, cmdline }) {
    const c = checkBzImage({
      bytes,
      path: "fuzz.bzImage",
      cmdlineLength: new TextEncoder().encode(cmdline).length,
      wideUserAddresses: false,
      pageSize: 4096,
    });
    check(c.notes.every((n) => typeof n === "string"), "notes are not strings");
    for (const max of [c.fileLoadMax, c.segmentLoadMax]) {
      check(max !== undefined && Number.isSafeInteger(max), `limit ${max} is not an integer`);
    }
  },
});
