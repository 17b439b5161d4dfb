/**
 * `deno task initramfs` end to end: the rescue image it writes holds busybox,
 * the tool and the tool's libraries, boots Debian's kernel in a QEMU x86_64
 * guest, and from it the tool loads and kexecs a second kernel, whose initrd
 * reports the exact command line. The test's own part (the kexec script, the
 * kernel, the second-stage initrd) is a second archive appended to the image,
 * the way the image's /init documents for users' /etc/rescue.d/ scripts.
 */
import assert from "node:assert/strict";
import { hostFileEntry, writeArchive } from "../../scripts/mkinitramfs.ts";
import { RESCUE_PATHS } from "../../scripts/initramfs.ts";
import { defaultCacheDir, ensureTestAssets } from "../../scripts/fetch-test-assets.ts";
import { guestArch } from "./harness/arch.ts";
import { workDir } from "./harness/prepare.ts";
import { runQemu } from "./harness/qemu.ts";
import { parseReport } from "./harness/results.ts";
import { GUEST_PATHS, shellAssignments, stage2Archive } from "./harness/image.ts";
import { checker, expectRc, value } from "./harness/checks.ts";
import type { GuestRun } from "./harness/guest.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const KEXEC_APPEND = `console=ttyS0 panic=-1 rescue.arg="x y" z=1`;
const HOOK = `${REPO}tests/e2e/cases/rescue-kexec.sh`;
/** 3x the guest's time at a load of about 2 (60 s); runQemu stretches it with the host's load. */
const TIMEOUT_MS = 180_000;

function token(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function buildRescue(output: string): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "initramfs", "--output", output],
    cwd: REPO,
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
  assert.ok(r.success, `deno task initramfs failed:\n${text}`);
  return text;
}

async function listArchive(path: string): Promise<string[]> {
  const file = await Deno.open(path);
  const r = new Deno.Command("cpio", { args: ["-it", "--quiet"], stdin: "piped", stdout: "piped" })
    .spawn();
  await file.readable.pipeTo(r.stdin);
  const out = await r.output();
  assert.ok(out.success, "cpio -t failed");
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

async function appendFile(to: string, from: string): Promise<void> {
  const out = await Deno.open(to, { append: true });
  const src = await Deno.open(from);
  await src.readable.pipeTo(out.writable);
}

Deno.test("e2e x86_64: deno task initramfs boots, and its kexec boots a second kernel", async (t) => {
  const assets = await ensureTestAssets({ arch: "x86_64" });
  const dir = await workDir();
  const rescue = `${dir}/rescue.cpio`;
  await buildRescue(rescue);
  const listed = await listArchive(rescue);

  await t.step(
    "the image holds /init, busybox, kexec, deno, the bundle and their libraries",
    () => {
      for (const path of ["init", "bin/busybox", "bin/sh", "dev/console", "etc/rescue.d"]) {
        assert.ok(listed.includes(path), `${path} not in ${listed.join(" ")}`);
      }
      const kexec = RESCUE_PATHS.kexec.slice(1);
      assert.ok(listed.includes(kexec), `${kexec} not in the image`);
      // deno and the bundle, unless dist/kexec (deno task compile) was there to take instead.
      if (listed.includes(RESCUE_PATHS.deno.slice(1))) {
        assert.ok(listed.includes(RESCUE_PATHS.bundle.slice(1)), "the bundle is missing");
      }
      for (const lib of ["ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1", "libm.so.6"]) {
        assert.ok(listed.some((p) => p.endsWith(`/${lib}`)), `${lib} is missing`);
      }
    },
  );

  const stage1Token = token();
  const stage2Token = token();
  const arch = guestArch("x86_64");
  const params = {
    KERNEL: GUEST_PATHS.kernel,
    INITRD: GUEST_PATHS.stage2Initrd,
    KEXEC_APPEND,
    E2E_STAGE1_TOKEN: stage1Token,
    E2E_RESULTS_PORT: arch.resultsPort,
  };
  const stage2 = stage2Archive(
    await Deno.readFile(assets.busybox),
    await Deno.readTextFile(`${REPO}tests/e2e/guest/stage2-init.sh`),
    stage2Token,
    { resultsPort: arch.resultsPort },
  );
  const text = new TextEncoder();
  const extra = `${dir}/rescue-e2e.cpio`;
  await writeArchive([
    { type: "directory", path: "/e2e" },
    await hostFileEntry(HOOK, "/etc/rescue.d/50-e2e", 0o755),
    await hostFileEntry(`${REPO}tests/e2e/guest/lib.sh`, GUEST_PATHS.lib, 0o644),
    { type: "file", path: GUEST_PATHS.params, data: text.encode(shellAssignments(params)) },
    { type: "file", path: GUEST_PATHS.stage2Initrd, data: stage2 },
    await hostFileEntry(assets.kernel, GUEST_PATHS.kernel, 0o644),
  ], extra);
  const initrd = `${dir}/rescue-boot.cpio`;
  await Deno.copyFile(rescue, initrd);
  await appendFile(initrd, extra);

  const logDir = `${defaultCacheDir()}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  const logs = {
    console: `${logDir}/rescue-initramfs.console.log`,
    results: `${logDir}/rescue-initramfs.results.log`,
  };
  const qemu = await runQemu({
    qemu: assets.qemu,
    arch,
    kernel: assets.kernel,
    initrd,
    append: "console=ttyS0 panic=-1",
    memoryMiB: 2048,
    smp: 2,
    timeoutMs: TIMEOUT_MS,
    consoleLog: logs.console,
    resultsLog: logs.results,
  });
  console.log(`[e2e] rescue-initramfs: ${qemu.durationMs} ms wall, qemu exit ${qemu.code}`);
  const run = {
    spec: { name: "rescue-initramfs", script: HOOK },
    arch,
    append: "console=ttyS0 panic=-1",
    stage1Token,
    stage2Token,
    qemu,
    report: parseReport(qemu.results),
    assets,
    logs,
  } as unknown as GuestRun;
  const check = checker(t, run);
  await check("the image's /init ran our /etc/rescue.d script with the image's kexec", (run) => {
    assert.equal(run.report.stage1?.token, stage1Token);
    assert.deepEqual(expectRc(run, "which_kexec", 0).out, [RESCUE_PATHS.kexec]);
  });
  await check("kexec -l succeeds in the rescue image", (run) => {
    expectRc(run, "load", 0);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("kexec -e boots the second kernel with exactly the --append text", (run) => {
    assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
    assert.equal(run.report.stage2?.token, stage2Token, "the second stage did not report");
    assert.equal(run.report.stage2?.cmdline, KEXEC_APPEND);
  });
});
