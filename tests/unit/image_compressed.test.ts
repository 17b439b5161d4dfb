/**
 * Compressed kernels, made by the real gzip, zstd and xz tools: unwrapped
 * byte for byte into memfds, nested, refused clearly when truncated, garbage,
 * a compression this tool does not inflate, a filter xz-embedded lacks, or a
 * decompression bomb — which is stopped at the limit and loses nothing.
 */

import assert from "node:assert/strict";
import { architecture } from "../../lib/arch/mod.ts";
import { runCli } from "../../lib/cli/run.ts";
import { KexecError } from "../../lib/errors.ts";
import { DEFAULT_MAX_IMAGE_BYTES, resolveKernel } from "../../lib/image/registry.ts";
import { MemfdImageStore } from "../../lib/image/store.ts";
import { RecordingSystem } from "../../lib/sys/recording.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { seedBytes } from "../fuzz/seeds.ts";
import { compress, pipeThrough } from "../support/image_samples.ts";
import { KERNEL, machine } from "../support/machine.ts";
import { PATHS } from "../../lib/abi.ts";

const X86 = architecture("x86_64");
const store = () => new MemfdImageStore(new RecordingSystem({}));
const kernel = syntheticKernel({ pmSize: 0x40000 });

function refusal(re: RegExp, hint?: RegExp) {
  return (e: unknown) =>
    e instanceof KexecError && re.test(e.message) && (!hint || hint.test(e.hint ?? ""));
}

for (const tool of ["gzip", "zstd", "xz"] as const) {
  Deno.test(`${tool}: a kernel compressed by ${tool} resolves to the same bytes, in a memfd`, async () => {
    const sys = new RecordingSystem({});
    const s = new MemfdImageStore(sys);
    const packed = await compress(tool, kernel);
    const r = await resolveKernel(packed, "/boot/vmlinuz", X86, s);
    assert.equal(r.format.name, "bzImage");
    assert.deepEqual(r.layers, [tool]);
    assert.equal(r.unwrapped, true);
    assert.deepEqual(r.bytes, kernel);
    assert.match(r.notes[0], new RegExp(`^/boot/vmlinuz: ${tool}-compressed, .*inflated to`));
    const [memfd] = sys.callsOf("memfd");
    assert.equal(memfd.name, "kexec-kernel-1");
    assert.equal(memfd.size, kernel.length);
    assert.equal(s.fileOf(r.bytes)?.size, kernel.length, "the memfd is reused for kexec_file_load");
  });

  Deno.test(`${tool}: truncated data is refused as corrupt or truncated, naming the file`, async () => {
    const packed = await compress(tool, kernel);
    await assert.rejects(
      () => resolveKernel(packed.subarray(0, packed.length >> 1), "/k", X86, store()),
      refusal(new RegExp(`^kernel /k: its ${tool} data is corrupt or truncated`), /copy it again/),
    );
  });
}

Deno.test("a real bzImage head gzip'd twice unwraps two layers; five layers are too deep", async () => {
  const real = seedBytes("bzimage-debian-head.bin");
  const twice = await compress("gzip", await compress("zstd", real));
  const r = await resolveKernel(twice, "/k", X86, store());
  assert.deepEqual(r.layers, ["gzip", "zstd"]);
  assert.deepEqual(r.bytes, real);
  assert.equal(r.notes.length, 3);
  let deep = kernel;
  for (let i = 0; i < 5; i++) deep = await compress("gzip", deep, ["-1"]);
  await assert.rejects(
    () => resolveKernel(deep, "/k", X86, store()),
    refusal(/wrapped more than 4 layers deep/),
  );
});

Deno.test("garbage after a gzip magic is corrupt; an empty payload inflates to nothing", async () => {
  const garbage = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
  garbage.set([0x1f, 0x8b, 0x08, 0x00]);
  await assert.rejects(
    () => resolveKernel(garbage, "/k", X86, store()),
    refusal(/its gzip data is corrupt or truncated/),
  );
  await assert.rejects(
    async () => resolveKernel(await compress("gzip", new Uint8Array(0)), "/k", X86, store()),
    refusal(/its gzip data inflates to nothing/),
  );
});

Deno.test("xz with a BCJ filter: refused naming the filter and 'xz -d'", async () => {
  const bcj = await pipeThrough("xz", ["-c", "--x86", "--lzma2"], kernel);
  await assert.rejects(
    () => resolveKernel(bcj, "/k.xz", X86, store()),
    refusal(/kernel \/k.xz: its xz data uses a filter this decoder lacks \(a BCJ/, /xz -d/),
  );
});

Deno.test("bzip2, lzma, lz4 and lzo: refused naming the compression and the command that helps", async () => {
  const cases: [number[], RegExp, RegExp][] = [
    [[0x42, 0x5a, 0x68, 0x39], /is bzip2-compressed/, /bunzip2/],
    [[0x5d, 0x00, 0x00, 0x80], /is lzma-compressed/, /unlzma/],
    [[0x04, 0x22, 0x4d, 0x18], /is lz4-compressed/, /lz4 -d/],
    [[0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], /is lzo-compressed/, /lzop -d/],
  ];
  for (const [magic, message, hint] of cases) {
    const bytes = new Uint8Array(1024);
    bytes.set(magic);
    await assert.rejects(() => resolveKernel(bytes, "/k", X86, store()), refusal(message, hint));
  }
});

Deno.test("a decompression bomb is stopped at 100 times its size, before it is inflated whole", async () => {
  // Under 1 KiB that inflates to 300 KB, which inflates to 300 MB of zeros.
  const zeros = await pipeThrough("sh", ["-c", "head -c 300000000 /dev/zero | gzip -9 | gzip -9"]);
  assert.ok(zeros.length <= 1024, `${zeros.length} bytes`);
  // The usual store, counting what reaches it.
  let written = 0;
  const memfds = store();
  const counting = {
    create: (name: string) => {
      const sink = memfds.create(name);
      return {
        write: (c: Uint8Array) => {
          written += c.length;
          sink.write(c);
        },
        finish: () => sink.finish(),
        discard: () => sink.discard(),
      };
    },
  };
  await assert.rejects(
    () => resolveKernel(zeros, "/bomb.gz", X86, counting),
    refusal(
      /^kernel \/bomb.gz \(gzip payload\): its gzip data inflates to more than 100 times its 28\d\.\d KiB \(past 2\d\.\d MiB\); refusing it as a decompression bomb$/,
    ),
  );
  // The outer layer's 300 KB and the inner one's output until it was stopped.
  assert.ok(written < 32 << 20, `${written} bytes inflated`);
  assert.equal(DEFAULT_MAX_IMAGE_BYTES, 256 << 20);
});

Deno.test("the absolute limit: an image above maxImageBytes is refused even at a kernel's ratio", async () => {
  const noise = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(2 << 20).map((_, i) => noise[i % 65536] ^ (i >> 16));
  await assert.rejects(
    async () =>
      resolveKernel(await compress("gzip", big), "/big.gz", X86, store(), {
        maxImageBytes: 1 << 20,
      }),
    refusal(/its gzip data inflates to more than 1 MiB, the limit for an unwrapped image/),
  );
});

Deno.test("a bomb given to the command: one line, exit 255, no syscall, the loaded kernel stays", async () => {
  const bomb = await pipeThrough("sh", ["-c", "head -c 300000000 /dev/zero | gzip -9 | gzip -9"]);
  assert.ok(bomb.length <= 1024, `${bomb.length} bytes`);
  const sys = machine({ [KERNEL]: bomb, [PATHS.kexecLoaded]: "1\n" });
  const code = await runCli(["-l", KERNEL], sys);
  assert.equal(code, 255);
  assert.equal(sys.stderr.trim().split("\n").length, 1, sys.stderr);
  assert.match(sys.stderr, /inflates to more than 100 times its .*decompression bomb/);
  assert.equal(sys.callsOf("kexec_file_load").length + sys.callsOf("kexec_load").length, 0);
  assert.equal(sys.readText(PATHS.kexecLoaded), "1\n");
  assert.equal(sys.fds.size, 0, "every file and memfd is closed");
});

Deno.test("-s with a gzip'd kernel: the memfd it was inflated into is the kernel fd, no second copy", async () => {
  const sys = machine({ [KERNEL]: await compress("gzip", kernel) });
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 0, sys.stderr);
  assert.deepEqual(sys.callsOf("memfd").map((m) => m.name), ["kexec-kernel-1"]);
  const [call] = sys.callsOf("kexec_file_load");
  assert.notEqual(call.kernelFd, 3, "not the compressed file's fd");
  assert.equal(sys.fds.size, 0, "every file and memfd is closed");
});
