/**
 * End-to-end acceptance of kexec_load on x86_64 (issue 4): our bzImage planner
 * and purgatory in real guests (Debian 6.1 kernel, QEMU TCG). Each Deno.test
 * is one guest boot; its t.steps are the checks on what the guest reported.
 * The scripts are tests/e2e/cases/load-*.sh.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { GUEST_PATHS } from "./harness/image.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";
import type { StepResult } from "./harness/results.ts";
import { defaultCacheDir } from "../../scripts/fetch-test-assets.ts";
import { writeArchive } from "../../scripts/mkinitramfs.ts";

/** Command line for the second kernel: quotes and spaces must arrive byte for byte. */
const KEXEC_APPEND = `console=ttyS0 panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'`;
const KERNEL_PATH = "/e2e/vmlinuz";

/**
 * The large file: 100 MiB of fresh random bytes plus an odd tail, so neither
 * the file nor the initrd ends on a page or a 4-byte boundary.
 */
const BIG_FILE_BYTES = 100 * 2 ** 20 + 4099;
const BIG_FILE_GUEST = "/e2e-big.bin";
const BIG_PART_GUEST = "/e2e/stage2-big-part.cpio";
/** Where stage2-init.sh looks for a case's second-stage hook. */
const STAGE2_HOOK_GUEST = "/e2e-stage2-case.sh";
const STAGE2_HOOK = new URL("./cases/load-big-initrd.stage2.sh", import.meta.url);
/** crypto.getRandomValues fills at most 64 KiB per call. */
const RANDOM_CHUNK = 65536;

/** The --mem-min/--mem-max window: 512 MiB in the middle of the 2 GiB guest. */
const WINDOW = { min: 0x2000_0000, max: 0x3fff_ffff };
/** A window far too small for the kernel (1 MiB). */
const TINY_MAX = WINDOW.min + 0xf_ffff;

/**
 * How long the corrupted image's guest runs before it is killed: the
 * purgatory is reached ~15 s after start (alone on the host), so this leaves
 * room for a loaded machine while keeping the expected hang short.
 */
const CORRUPT_TIMEOUT_MS = 45_000;
/** The purgatory's failure line (lib/arch/x86_64/purgatory.S, msg_mismatch…msg_close). */
const MISMATCH_LINE =
  /purgatory: sha256 mismatch in region (\d+) \(mem (0x[0-9a-f]+), len (0x[0-9a-f]+)\)/g;
/** The kernel's banner (after its timestamp; firmware escapes may precede it on the line). */
const LINUX_BANNER = /\] Linux version \d/g;

interface PlannedSegment {
  name: string;
  mem: number;
  memsz: number;
  bufsz: number;
}

function expectSecondStage(run: GuestRun): void {
  assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.cmdline, KEXEC_APPEND, "second kernel's /proc/cmdline");
  assert.equal(stage2.kernel, run.report.stage1?.kernel);
  assert.equal(stage2.ended, true);
}

/** The kexec_load plan of a `--dry-run --json` step. */
function jsonPlan(run: GuestRun, name: string): { segments: PlannedSegment[] } {
  const s = expectRc(run, name, 0);
  let parsed;
  try {
    parsed = JSON.parse(s.out.join("\n"));
  } catch (err) {
    throw new assert.AssertionError({ message: `${stepInfo(s)}\nnot JSON: ${err}` });
  }
  const plans = parsed.plans as { syscall: string; segments: PlannedSegment[] }[];
  assert.deepEqual(plans.map((p) => p.syscall), ["kexec_load"], stepInfo(s));
  return plans[0];
}

/** The segment table `-d` printed for the load actually made (rows of segmentTableLines). */
function debugSegments(s: StepResult): PlannedSegment[] {
  const rows = s.err.flatMap((line) => {
    const m = line.match(
      /^kexec:\s+\d+\s+(\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s*$/,
    );
    return m ? [{ name: m[1], mem: Number(m[2]), memsz: Number(m[3]), bufsz: Number(m[4]) }] : [];
  });
  assert.ok(rows.length >= 4, `no segment table in -d output\n${stepInfo(s)}`);
  return rows;
}

function segmentNamed(segments: PlannedSegment[], name: string): PlannedSegment {
  const found = segments.find((s) => s.name === name);
  assert.ok(found, `no ${name} segment in ${JSON.stringify(segments)}`);
  return found;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Writes the archive appended to the second-stage initrd: a fresh random file
 * of BIG_FILE_BYTES, streamed (never whole in memory), and the stage-2 hook.
 * Returns the file's SHA-256 (hex).
 */
async function writeBigPart(path: string): Promise<string> {
  const hash = createHash("sha256");
  async function* randomBytes(): AsyncGenerator<Uint8Array> {
    for (let left = BIG_FILE_BYTES; left > 0; left -= RANDOM_CHUNK) {
      const chunk = crypto.getRandomValues(new Uint8Array(Math.min(RANDOM_CHUNK, left)));
      hash.update(chunk);
      yield chunk;
    }
  }
  await writeArchive([
    { type: "file", path: BIG_FILE_GUEST, size: BIG_FILE_BYTES, chunks: randomBytes() },
    { type: "file", path: STAGE2_HOOK_GUEST, data: await Deno.readFile(STAGE2_HOOK) },
  ], path);
  return hash.digest("hex");
}

/**
 * The large-initrd guest has 6 GiB, so its map has RAM above 4 GiB (QEMU's pc
 * machine puts 3 GiB below the PCI hole and the rest from 4 GiB up).
 */
const BIG_GUEST_MIB = 6144;
const FOUR_GIB = 2 ** 32;

Deno.test("e2e x86_64: -c -l with a 100 MiB random initrd in a 6 GiB guest; the second kernel sees it intact", async (t) => {
  await Deno.mkdir(`${defaultCacheDir()}/tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${defaultCacheDir()}/tmp`, prefix: "big-initrd-" });
  let run: GuestRun;
  let expectedSha256: string;
  try {
    const started = performance.now();
    const bigPart = `${dir}/big-part.cpio`;
    expectedSha256 = await writeBigPart(bigPart);
    console.log(
      `[e2e] big initrd part: ${(await Deno.stat(bigPart)).size} bytes, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    run = await runGuestCase({
      name: "load-big-initrd",
      script: "load-big-initrd.sh",
      memoryMiB: BIG_GUEST_MIB,
      params: { BIG_PART: BIG_PART_GUEST, KEXEC_APPEND },
      files: [{ host: bigPart, guest: BIG_PART_GUEST }],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const check = checker(t, run);
  await check("-c -d -l loads the whole large initrd with kexec_load", (run) => {
    expectRc(run, "concat", 0);
    const initrdSize = Number(value(run, "big_initrd_size"));
    assert.ok(initrdSize > BIG_FILE_BYTES, `initrd size ${value(run, "big_initrd_size")}`);
    const load = expectRc(run, "load", 0);
    assert.equal(segmentNamed(debugSegments(load), "initrd").bufsz, initrdSize, stepInfo(load));
    assert.match(load.err.join("\n"), /^kexec: loaded kernel \S+ with kexec_load /m);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("the digests were computed by the guest's libcrypto, opened with dlopen", (run) => {
    const trace = expectRc(run, "libcrypto", 0);
    assert.match(trace.out.join("\n"), /calling init: \S*\/libcrypto\.so\.3$/m, stepInfo(trace));
  });
  await check("-e boots it with the exact cmdline and our initrd's token", expectSecondStage);
  await check("the 100 MiB file's SHA-256 in the second kernel is the one written", (run) => {
    assert.equal(Number(value(run, "stage2_big_size")), BIG_FILE_BYTES);
    assert.equal(value(run, "stage2_big_sha256"), expectedSha256);
  });
  await check("the second kernel got the RAM above 4 GiB in its e820 and uses it", (run) => {
    const ramEnd = Number(value(run, "stage2_ram_end"));
    assert.ok(
      ramEnd > FOUR_GIB + 2 * 2 ** 30,
      `highest System RAM ends at 0x${ramEnd.toString(16)}`,
    );
    const memTotalKiB = Number(value(run, "stage2_memtotal_kib"));
    assert.ok(memTotalKiB > 5.5 * 2 ** 20, `MemTotal ${memTotalKiB} kB`);
  });
});

Deno.test("e2e x86_64: plain -l (auto) -d says kexec_file_load loaded it, and -e boots it", async (t) => {
  const run = await runGuestCase({
    name: "load-auto-debug",
    script: "load-auto-debug.sh",
    params: { KEXEC_APPEND },
  });
  const check = checker(t, run);
  await check("--dry-run names the order: kexec_file_load first, kexec_load as fallback", (run) => {
    const plan = expectRc(run, "plan", 0);
    assert.match(plan.out.join("\n"), /^syscall order: kexec_file_load first; kexec_load only/m);
  });
  await check("-d shows the kexec_file_load call that succeeded and no kexec_load", (run) => {
    const load = expectRc(run, "load", 0);
    const err = load.err.join("\n");
    assert.match(err, /^kexec: kexec_file_load\(kernel_fd=\d+, initrd_fd=\d+, /m, stepInfo(load));
    // The last kexec_file_load result is the one that counts (6.1 refuses KEXEC_FILE_DEBUG).
    const results = [...err.matchAll(/^kexec: kexec_file_load: (.*)$/gm)].map((m) => m[1]);
    assert.equal(results.at(-1), "ok", stepInfo(load));
    assert.doesNotMatch(err, /^kexec: kexec_load\(/m, "kexec_load was not needed");
    assert.match(
      err,
      new RegExp(`^kexec: loaded kernel ${KERNEL_PATH} with kexec_file_load `, "m"),
    );
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("-e boots it with the exact cmdline and our initrd's token", expectSecondStage);
});

Deno.test("e2e x86_64: a segment corrupted after its digest stops in the purgatory, never boots", async (t) => {
  const run = await runGuestCase({
    name: "load-corrupt-initrd",
    script: "load-corrupt.sh",
    params: { CORRUPT_FILE: GUEST_PATHS.stage2Initrd, KEXEC_APPEND },
    timeoutMs: CORRUPT_TIMEOUT_MS,
  });
  const check = checker(t, run);
  await check(
    "-c -l through the test-only entry with the initrd corrupted loads (the kernel cannot tell)",
    (run) => {
      const load = expectRc(run, "load", 0);
      assert.match(
        load.err.join("\n"),
        new RegExp(
          `^kexec: test: segment \\d+ \\(${GUEST_PATHS.stage2Initrd}\\) passed with byte \\d+ ` +
            "flipped after its digest",
          "m",
        ),
      );
      assert.equal(value(run, "loaded_after"), "1");
      assert.equal(value(run, "executing"), "yes");
    },
  );
  await check("the purgatory prints one mismatch line, naming the initrd's region", (run) => {
    const initrd = segmentNamed(debugSegments(run.report.steps.get("load")!), "initrd");
    const lines = [...run.qemu.console.matchAll(MISMATCH_LINE)];
    assert.equal(lines.length, 1, `mismatch lines: ${lines.map((m) => m[0]).join(" | ")}`);
    const [, , mem, len] = lines[0];
    assert.deepEqual([mem, len], [hex(initrd.mem), hex(initrd.bufsz)], lines[0][0]);
  });
  await check("no second kernel starts: one Linux banner, no stage 2, the guest halts", (run) => {
    assert.equal(run.report.stage2, undefined, "a second stage reported");
    assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
    assert.equal([...run.qemu.console.matchAll(LINUX_BANNER)].length, 1, "Linux banners");
    // Halted in the purgatory's loop until the harness killed QEMU: expected here only.
    assert.equal(run.qemu.timedOut, true, `QEMU exited by itself (code ${run.qemu.code})`);
  });
});

Deno.test("e2e x86_64: -c with --mem-min/--mem-max keeps every segment in the window and boots", async (t) => {
  const run = await runGuestCase({
    name: "load-window",
    script: "load-window.sh",
    params: {
      MEM_MIN: hex(WINDOW.min),
      MEM_MAX: hex(WINDOW.max),
      TINY_MAX: hex(TINY_MAX),
      KEXEC_APPEND,
    },
  });
  const check = checker(t, run);
  const outside = (s: PlannedSegment) => s.mem < WINDOW.min || s.mem + s.memsz - 1 > WINDOW.max;
  await check("without the window some segment lies outside it (the window matters)", (run) => {
    const free = jsonPlan(run, "plan_free").segments;
    assert.ok(free.some(outside), JSON.stringify(free));
  });
  await check("--dry-run --json: every segment inside [mem-min, mem-max]", (run) => {
    const segments = jsonPlan(run, "plan_window").segments;
    assert.deepEqual(segments.filter(outside), [], JSON.stringify(segments));
    for (const name of ["kernel", "initrd", "boot_params", "purgatory"]) {
      segmentNamed(segments, name);
    }
  });
  await check("a 1 MiB window is refused, naming what did not fit and the limit", (run) => {
    const s = run.report.steps.get("plan_tiny");
    assert.ok(s, "step plan_tiny did not run");
    assert.notEqual(s.rc, 0, stepInfo(s));
    const limit = new RegExp(`^kexec: kernel .*does not fit.*--mem-max=${hex(TINY_MAX)}`, "m");
    assert.match(s.err.join("\n"), limit, stepInfo(s));
  });
  await check("the real load matches the plan and stays in the window", (run) => {
    const load = expectRc(run, "load", 0);
    const loaded = debugSegments(load);
    assert.deepEqual(loaded.filter(outside), [], stepInfo(load));
    const planned = jsonPlan(run, "plan_window").segments;
    assert.deepEqual(
      loaded.map((s) => [s.name, s.mem, s.memsz]),
      planned.map((s) => [s.name, s.mem, s.memsz]),
    );
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("-e boots it with the exact cmdline and our initrd's token", expectSecondStage);
});
