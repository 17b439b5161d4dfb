/**
 * Hostile conditions in real guests (issues 6 and 7): bad files, bad options,
 * missing privileges, kexec_load_disabled, lockdown and a concurrent load each
 * fail with their exit code and message, and the kernel (or crash kernel)
 * loaded before them is still loaded afterwards and still boots.
 *
 * Three boots: the normal-image matrix ending in -e; the crash-image matrix
 * ending in sysrq-c; lockdown=integrity. Scripts: tests/e2e/cases/hostile-*.sh,
 * each sourcing hostile-lib.sh (shipped as /e2e/hostile-lib.sh).
 */
import assert from "node:assert/strict";
import { MAX_ELFCOREHDR_STR_LEN } from "../../lib/arch/x86_64/format_bzimage.ts";
import { parseSetupHeader, SETUP_HEADER, XLF } from "../../lib/arch/x86_64/setup_header.ts";
import { ensureTestAssets } from "../../scripts/fetch-test-assets.ts";
import { type GuestCase, type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectMakedumpfileReads, step, stepInfo, value } from "./harness/checks.ts";

const CASES = new URL("./cases/", import.meta.url).pathname;
const HOSTILE_LIB_GUEST_PATH = "/e2e/hostile-lib.sh";

/** Command line of the kernel loaded before the matrix: quotes and spaces arrive byte for byte. */
const KEXEC_APPEND = `console=ttyS0 panic=-1 e2e.hostile="before matrix" x=1`;
/** Command line of the crash kernel that must survive the crash matrix. */
const CRASH_APPEND = "console=ttyS0 panic=-1 irqpoll nr_cpus=1 reset_devices e2e.crash=kept";
const CRASH_REGION_MIB = 256;
/** A sparse initrd larger than the crash region, and big enough to hold the kexec lock for seconds. */
const BIG_INITRD_MIB = 384;
/** --mem-min/--mem-max entirely below the crash region (which the kernel puts high in RAM). */
const CRASH_MEM_OUTSIDE = "--mem-min=0x1000000 --mem-max=0x1ffffff";

/** Where the test kernel is cut: each label a header or payload boundary. */
type TruncationLabel =
  | "setup_header"
  | "real_mode_only"
  | "payload_start"
  | "payload_last_byte"
  | "syssize"
  | "three_mib";

/** What the rows are computed from: the test kernel's own header. */
interface KernelFacts {
  truncateAt: Record<TruncationLabel, number>;
  xloadflags: number;
  /** Longest command line for kexec_file_load and kexec_load (bytes, no NUL). */
  fileLoadMax: number;
  segmentLoadMax: number;
}

async function kernelFacts(): Promise<KernelFacts> {
  const assets = await ensureTestAssets({ log: (l) => console.log(`[e2e] ${l}`) });
  const h = parseSetupHeader(await Deno.readFile(assets.kernel), assets.kernel);
  const payloadStart = h.pmOffset + h.payloadOffset;
  const SECTOR = 512;
  const PAST_PAYLOAD_HEAD = 0x1000;
  return {
    truncateAt: {
      // Inside the setup header (before its last field), shorter than any bzImage.
      setup_header: SETUP_HEADER.kernelInfoOffset,
      // The real-mode part only: no protected-mode kernel at all.
      real_mode_only: h.pmOffset,
      // Inside the compressed payload, and only its last byte missing.
      payload_start: payloadStart + PAST_PAYLOAD_HEAD,
      payload_last_byte: payloadStart + h.payloadLength - 1,
      // The payload is whole but syssize says more is missing than padding explains.
      syssize: h.pmOffset + h.syssize * 16 - SECTOR - 1,
      // What kexec-tools 2.0.25 loaded without complaint in a QEMU guest: neither
      // its bzImage64_probe nor the kernel's checks the file against the payload.
      three_mib: 3 * 2 ** 20,
    },
    xloadflags: h.xloadflags,
    fileLoadMax: h.cmdlineSize - 1 - MAX_ELFCOREHDR_STR_LEN,
    segmentLoadMax: h.cmdlineSize - 1,
  };
}

/** Boots a hostile-* case with hostile-lib.sh and the kernel facts as params. */
function runHostileCase(spec: GuestCase, facts: KernelFacts): Promise<GuestRun> {
  const LOW_BYTE = 0xff;
  const noAbove4g = facts.xloadflags & ~XLF.CAN_BE_LOADED_ABOVE_4G & LOW_BYTE;
  return runGuestCase({
    ...spec,
    files: [{ host: `${CASES}hostile-lib.sh`, guest: HOSTILE_LIB_GUEST_PATH }],
    params: {
      TRUNCATE_AT: Object.entries(facts.truncateAt).map(([l, n]) => `${l}:${n}`).join(" "),
      XLOADFLAGS_OFFSET: String(SETUP_HEADER.xloadflags),
      XLOADFLAGS_NO_ABOVE_4G: noAbove4g.toString(8),
      FILE_LOAD_TOO_LONG: "f".repeat(facts.fileLoadMax + 1),
      SEGMENT_LOAD_TOO_LONG: "s".repeat(facts.segmentLoadMax + 1),
      ...spec.params,
    },
  });
}

/** One failing row: its exit code and what stderr must say. */
interface Row {
  rc: number;
  message: RegExp;
  /** The row runs with -d: several lines, the last one the error. */
  debug?: boolean;
}

/**
 * Checks rows: exit code, message, one `kexec: ` line with no stack trace, and
 * that `image` ("loaded" or "crash_loaded") still reads 1 after each.
 */
function expectRows(
  run: GuestRun,
  rows: Record<string, Row>,
  image: "loaded" | "crash_loaded" | null,
): void {
  for (const [name, row] of Object.entries(rows)) {
    const s = step(run, name);
    const info = stepInfo(s);
    assert.equal(s.rc, row.rc, info);
    const err = s.err.join("\n");
    assert.match(err, row.message, info);
    assert.doesNotMatch(err, /^\s+at /m, `stack trace\n${info}`);
    assert.equal(s.out.length, 0, info);
    if (row.debug) {
      assert.match(s.err.at(-1) ?? "", /^kexec: /, info);
      assert.match(s.err.at(-1) ?? "", row.message, info);
    } else {
      assert.equal(s.err.length, 1, `one line on stderr\n${info}`);
      assert.match(err, /^kexec: /, info);
    }
    if (image) assert.equal(value(run, `${image}.${name}`), "1", `${image} after ${name}`);
  }
}

/** Every reported row is one the test checks (a row added to a script must get an expectation). */
function expectOnlyRows(run: GuestRun, ...groups: Record<string, Row>[]): void {
  const known = new Set(groups.flatMap((g) => Object.keys(g)));
  const reported = [...run.report.values.keys()]
    .filter((k) => k.startsWith("loaded."))
    .map((k) => k.slice("loaded.".length));
  assert.deepEqual(reported.filter((r) => !known.has(r)), [], "rows without an expectation");
  assert.deepEqual([...known].filter((r) => !reported.includes(r)), [], "rows that never ran");
}

const NOT_REGULAR = (role: string, path: string, what: string) =>
  new RegExp(
    `${role} ${path} is a ${what}, not a regular file.*hint: give the path of the ${role}`,
  );

/** Rows with a bad kernel file; `H` is the guest's /tmp/hostile. */
function badKernelRows(prefix: string): Record<string, Row> {
  const H = "/tmp/hostile";
  return {
    [`${prefix}kernel_missing`]: {
      rc: 255,
      message: new RegExp(`cannot open kernel ${H}/nope: ENOENT.*hint: check the path`),
    },
    [`${prefix}kernel_directory`]: {
      rc: 255,
      message: NOT_REGULAR("kernel", `${H}/adir`, "directory"),
    },
    [`${prefix}kernel_garbage`]: {
      rc: 255,
      message: new RegExp(
        `cannot determine the kernel format of ${H}/garbage: not a kernel image this tool ` +
          "recognises \\(tried [^)]*\\bbzImage\\b[^)]*\\).*hint: give a bzImage kernel for x86_64",
      ),
    },
    // Issue 7: another architecture's image names both architectures.
    [`${prefix}kernel_arm64`]: {
      rc: 255,
      message: new RegExp(
        `kernel ${H}/arm64-Image is an arm64 Image built for arm64 \\(aarch64\\), ` +
          "but this machine is x86_64",
      ),
    },
  };
}

const TRUNCATED_MESSAGES: Record<TruncationLabel, RegExp> = {
  setup_header: /: \d+ bytes is too short for a bzImage \(at least 1024\)/,
  real_mode_only: /: file ends at \d+ bytes, before the protected-mode kernel at \d+ .*: truncated/,
  payload_start:
    /: truncated: the compressed payload ends at \d+ bytes into the protected-mode part, which has only \d+/,
  payload_last_byte:
    /: truncated: the compressed payload ends at (\d+) bytes into the protected-mode part, which has only \d+/,
  syssize: /: truncated: syssize says the protected-mode part is \d+ bytes, the file has \d+/,
  three_mib: /: truncated: the compressed payload ends at \d+ bytes/,
};

function truncatedRows(prefix: string, labels: readonly TruncationLabel[]): Record<string, Row> {
  return Object.fromEntries(labels.map((label) => [
    `${prefix}kernel_truncated_${label}`,
    {
      rc: 255,
      message: new RegExp(
        `kernel /tmp/hostile/trunc-${label}${TRUNCATED_MESSAGES[label].source}`,
      ),
    },
  ]));
}

const NO_CAP_SYS_BOOT = /this process lacks CAP_SYS_BOOT.*hint: run as root/;
const DISABLED =
  /EPERM \(Operation not permitted\): kexec is disabled by kernel\.kexec_load_disabled=1/;

Deno.test("e2e x86_64 hostile: after every refused load, option, privilege and kexec_load_disabled, -e boots the kernel loaded first", async (t) => {
  const facts = await kernelFacts();
  const run = await runHostileCase({
    name: "hostile-normal",
    script: "hostile-normal.sh",
    params: { KEXEC_APPEND },
  }, facts);
  const check = checker(t, run);
  const H = "/tmp/hostile";

  const kernelFiles: Record<string, Row> = {
    ...badKernelRows(""),
    kernel_empty: { rc: 255, message: new RegExp(`kernel ${H}/empty is empty`) },
    kernel_fifo: { rc: 255, message: NOT_REGULAR("kernel", `${H}/fifo`, "FIFO") },
    kernel_dev_zero: { rc: 255, message: NOT_REGULAR("kernel", "/dev/zero", "character device") },
    kernel_symlink_loop: {
      rc: 255,
      message: new RegExp(`cannot open kernel ${H}/loop-a: ELOOP.*symbolic link loop`),
    },
  };
  const truncated = truncatedRows("", Object.keys(facts.truncateAt) as TruncationLabel[]);
  const initrdFiles: Record<string, Row> = {
    initrd_missing: { rc: 255, message: new RegExp(`cannot open initrd ${H}/nope: ENOENT`) },
    initrd_empty: { rc: 255, message: new RegExp(`initrd ${H}/empty is empty`) },
    initrd_directory: { rc: 255, message: NOT_REGULAR("initrd", `${H}/adir`, "directory") },
    initrd_fifo: { rc: 255, message: NOT_REGULAR("initrd", `${H}/fifo`, "FIFO") },
    initrd_dev_zero: { rc: 255, message: NOT_REGULAR("initrd", "/dev/zero", "character device") },
    initrd_symlink_loop: {
      rc: 255,
      message: new RegExp(`cannot open initrd ${H}/loop-a: ELOOP`),
    },
    // Larger than RAM: the kernel's reader gives up (a normal load keeps the old image)...
    initrd_huge: {
      rc: 255,
      message: /kexec_file_load failed: ENOMEM .*could not allocate memory for the image/,
    },
    // ...and kexec_load's planner refuses before the syscall.
    initrd_huge_segments: {
      rc: 255,
      message: /initrd \(3221225472 bytes\) does not fit in RAM .*3221225472 bytes are needed/,
    },
  };
  const cmdlines: Record<string, Row> = {
    cmdline_too_long: {
      rc: 255,
      message: new RegExp(
        `command line is ${facts.segmentLoadMax + 1} bytes; kernel /e2e/vmlinuz accepts at ` +
          `most ${facts.segmentLoadMax} with either syscall.*hint: shorten it by 1 byte \\(`,
      ),
    },
    cmdline_too_long_file: {
      rc: 255,
      message: new RegExp(
        `command line is ${facts.fileLoadMax + 1} bytes; kernel /e2e/vmlinuz accepts at most ` +
          `${facts.fileLoadMax} with kexec_file_load`,
      ),
    },
    cmdline_too_long_segments: {
      rc: 255,
      message: new RegExp(
        `command line is ${facts.segmentLoadMax + 1} bytes; .* at most ${facts.segmentLoadMax} ` +
          "with kexec_load",
      ),
    },
  };
  const noCrashRegion: Record<string, Row> = {
    crash_no_region: {
      rc: 1,
      message:
        /Memory for crashkernel is not reserved: .*kexec_crash_size is 0.*hint: .*booting .*crashkernel=/,
    },
  };
  const kexecJump: Record<string, Row> = {
    preserve_context: {
      rc: 255,
      message: /this kernel was built without CONFIG_KEXEC_JUMP: .*KEXEC_PRESERVE_CONTEXT/,
    },
  };
  const unprivileged: Record<string, Row> = {
    user_load_file: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    user_load_segments: {
      rc: 255,
      message: new RegExp(`kexec_load failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    user_unload: {
      rc: 255,
      message: new RegExp(`kexec_file_load\\(unload\\) failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    user_exec: {
      rc: 255,
      message: new RegExp(`kexec \\(reboot\\) failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    userns_load: {
      rc: 255,
      message:
        /kexec_file_load failed: EPERM .*user namespace.*initial user namespace.*hint: run kexec on the host/,
    },
  };
  const disabled: Record<string, Row> = {
    disabled_load_file: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: ${DISABLED.source}`),
    },
    disabled_load_segments: {
      rc: 255,
      message: new RegExp(`kexec_load failed: ${DISABLED.source}`),
    },
    disabled_load_auto: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: ${DISABLED.source}`),
    },
    disabled_unload: {
      rc: 255,
      message: new RegExp(`kexec_file_load\\(unload\\) failed: ${DISABLED.source}`),
    },
  };

  await check("the good kernel is loaded first (-s -l, initrd, quoted --append)", (run) => {
    assert.equal(run.report.stage1?.token, run.stage1Token);
    assert.equal(value(run, "loaded_before"), "0");
    assert.equal(step(run, "good_load").rc, 0, stepInfo(step(run, "good_load")));
    assert.equal(value(run, "loaded_after_good_load"), "1");
  });
  await check(
    "kernel missing, empty, a directory, a FIFO, /dev/zero, a symlink loop, garbage, arm64: 255",
    (run) => {
      expectRows(run, kernelFiles, "loaded");
    },
  );
  await check("the kernel cut at each header and payload boundary: 255, 'truncated'", (run) => {
    expectRows(run, truncated, "loaded");
  });
  await check(
    "initrd missing, empty, a directory, a FIFO, /dev/zero, a symlink loop, larger than RAM: 255",
    (run) => {
      expectRows(run, initrdFiles, "loaded");
    },
  );
  await check(
    "command lines one byte over each syscall's limit: 255, before any syscall",
    (run) => {
      expectRows(run, cmdlines, "loaded");
    },
  );
  await check(
    "-p without crashkernel=: exit 1 (kexec-tools' die()) with the crashkernel= hint",
    (run) => {
      expectRows(run, noCrashRegion, "loaded");
    },
  );
  await check(
    "--load-preserve-context on a kernel without CONFIG_KEXEC_JUMP: 255, nothing loaded or lost",
    (run) => {
      expectRows(run, kexecJump, "loaded");
    },
  );
  await check(
    "no CAP_SYS_BOOT (uid 1000; root of a user namespace): EPERM named, for load, unload and -e",
    (run) => {
      expectRows(run, unprivileged, "loaded");
    },
  );
  await check(
    "kernel.kexec_load_disabled=1: EPERM naming the sysctl, for both syscalls and unload",
    (run) => {
      assert.equal(value(run, "load_disabled"), "1");
      expectRows(run, disabled, "loaded");
    },
  );
  await check("every row the guest ran is checked here", (run) => {
    expectOnlyRows(
      run,
      kernelFiles,
      truncated,
      initrdFiles,
      cmdlines,
      noCrashRegion,
      kexecJump,
      unprivileged,
      disabled,
    );
  });
  await check(
    "-e then boots the kernel loaded before the matrix: its initrd token, its exact cmdline",
    (run) => {
      assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
      const stage2 = run.report.stage2;
      assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
      assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
      assert.equal(stage2.cmdline, KEXEC_APPEND);
      assert.equal(stage2.ended, true);
    },
  );
});

Deno.test("e2e x86_64 hostile: refusals before the syscall, EPERM and EBUSY keep the crash kernel; sysrq-c boots it", async (t) => {
  const facts = await kernelFacts();
  const crashTruncated: TruncationLabel[] = ["payload_last_byte", "three_mib"];
  const run = await runHostileCase({
    name: "hostile-crash",
    script: "hostile-crash.sh",
    kernelArgs: [`crashkernel=${CRASH_REGION_MIB}M`],
    params: {
      CRASH_APPEND,
      CRASH_TRUNCATED: crashTruncated.join(" "),
      CRASH_MEM_OUTSIDE,
      BIG_INITRD_MIB: String(BIG_INITRD_MIB),
    },
  }, facts);
  const check = checker(t, run);
  const H = "/tmp/hostile";

  const beforeSyscall: Record<string, Row> = {
    // The file loader's ENOEXEC is predicted, so the kernel never frees the crash image.
    crash_refused_by_kernel: {
      rc: 253,
      message:
        /kexec_file_load would refuse kernel .*XLF_CAN_BE_LOADED_ABOVE_4G.*nothing was loaded/,
    },
    ...badKernelRows("crash_"),
    ...truncatedRows("crash_", crashTruncated),
    crash_initrd_missing: { rc: 255, message: new RegExp(`cannot open initrd ${H}/nope: ENOENT`) },
    crash_initrd_empty: { rc: 255, message: new RegExp(`initrd ${H}/empty is empty`) },
    crash_cmdline_too_long: {
      rc: 255,
      message: new RegExp(`command line is ${facts.segmentLoadMax + 1} bytes`),
    },
    crash_cmdline_too_long_file: {
      rc: 255,
      message: new RegExp(
        `command line is ${facts.fileLoadMax + 1} bytes; .* at most ${facts.fileLoadMax} ` +
          "with kexec_file_load",
      ),
    },
    // Issue 7: the kexec_load crash planner checks the window against the region.
    crash_mem_outside: {
      rc: 255,
      message:
        /--mem-min\/--mem-max \(0x1000000-0x1ffffff\) leave no room inside the crash region 0x[0-9a-f]+-0x[0-9a-f]+ \([\d.]+ MiB\); nothing was loaded/,
    },
    crash_initrd_too_big: {
      rc: 255,
      message: new RegExp(
        `initrd ${H}/big \\(${BIG_INITRD_MIB * 2 ** 20} bytes\\) need at least \\d+ bytes, more ` +
          `than the ${CRASH_REGION_MIB * 2 ** 20}-byte crash region; the kernel would drop ` +
          "the loaded crash kernel",
      ),
    },
  };
  const options: Record<string, Row> = {
    mem_min_not_a_number: { rc: 1, message: /option --mem-min: 'abc' is not a number/ },
    mem_min_negative: { rc: 1, message: /option --mem-min: '-1' is negative/ },
    mem_max_overflow: {
      rc: 1,
      message: /option --mem-max: '0x10000000000000000' is too large.*2\^53/,
    },
    mem_min_above_max: {
      rc: 1,
      message: /--mem-min \(0x2000000\) is above --mem-max \(0x1000000\)/,
    },
    bogus_unload_initrd: {
      rc: 1,
      message: /option --initrd is given, but this command line does not load a kernel/,
    },
    missing_kernel: { rc: 255, message: /No kernel specified.*nothing was done/ },
    crash_preserve: {
      rc: 1,
      message: /--load-preserve-context after -p: a crash kernel cannot preserve context/,
    },
  };
  const keptByKernel: Record<string, Row> = {
    crash_user: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    crash_user_unload: {
      rc: 255,
      message: new RegExp(`kexec_file_load\\(unload\\) failed: EPERM .*${NO_CAP_SYS_BOOT.source}`),
    },
    crash_busy: {
      rc: 255,
      message: /kexec_file_load failed: EBUSY .*another kexec operation holds the kexec lock/,
    },
  };

  await check("the crash region is reserved and a crash kernel loads (-p -s)", (run) => {
    assert.equal(Number(value(run, "crash_size")), CRASH_REGION_MIB * 2 ** 20);
    assert.equal(step(run, "crash_load").rc, 0, stepInfo(step(run, "crash_load")));
    assert.equal(value(run, "crash_loaded_after_load"), "1");
  });
  await check(
    "reloaded, the crash kernel survives every refusal made before the syscall",
    (run) => {
      assert.equal(step(run, "crash_reload").rc, 0, stepInfo(step(run, "crash_reload")));
      assert.equal(value(run, "crash_loaded_after_reload"), "1");
      expectRows(run, beforeSyscall, "crash_loaded");
    },
  );
  await check(
    "bad --mem-min/--mem-max, --initrd without a load, -u -p without a kernel, -p " +
      "--load-preserve-context: refused, crash kernel kept",
    (run) => {
      expectRows(run, options, "crash_loaded");
    },
  );
  await check(
    "...and the kernel's own EPERM (uid 1000) and EBUSY (a concurrent load) answers",
    (run) => {
      assert.ok(Number(value(run, "busy_waited_ds")) < 300, "the holder never took the kexec lock");
      expectRows(run, keptByKernel, "crash_loaded");
      assert.equal(value(run, "busy_holder_rc"), "0", value(run, "busy_holder_said"));
      console.log(
        `[e2e] EBUSY margin: the holder finished ${
          value(run, "busy_margin_ms")
        } ms after the contender`,
      );
    },
  );
  await check("every row the guest ran is checked here", (run) => {
    expectOnlyRows(run, beforeSyscall, options, keptByKernel);
  });
  await check(
    "sysrq-c boots the crash kernel loaded before the rows: token and command line",
    (run) => {
      assert.equal(value(run, "crash_loaded_at_end"), "1");
      assert.equal(value(run, "survived_crash"), undefined);
      const stage2 = run.report.stage2;
      assert.ok(stage2, "the crash kernel's initrd never reported (it did not boot)");
      assert.equal(stage2.token, run.stage2Token);
      // kexec_file_load puts elfcorehdr= in front; the rest is the reloaded kernel's line, not a row's.
      const cmdline = (stage2.cmdline ?? "").replace(/(^| )elfcorehdr=\S+( |$)/, " ").trim();
      assert.equal(cmdline, CRASH_APPEND);
      assert.ok(stage2.vmcore, "no /proc/vmcore: not a crash kernel");
      expectMakedumpfileReads(run);
    },
  );
});

Deno.test("e2e x86_64 hostile: lockdown=integrity refuses unsigned loads, never falls back to kexec_load, says why", async (t) => {
  const facts = await kernelFacts();
  const run = await runHostileCase({
    name: "hostile-lockdown",
    script: "hostile-lockdown.sh",
    kernelArgs: ["lockdown=integrity"],
  }, facts);
  const check = checker(t, run);
  const LOCKED_FILE =
    /the kernel is locked down \(integrity\) and the kernel image's signature could not be verified/;
  const LOCKED_LOAD =
    /the kernel is locked down \(integrity\): kexec_load of unsigned images is refused/;

  const unmounted: Record<string, Row> = {
    unmounted_load_segments: {
      rc: 255,
      message:
        /kexec_load failed: EPERM .*lockdown cannot be ruled out: \/sys\/kernel\/security\/lockdown is unreadable.*hint: mount -t securityfs/,
    },
  };
  const locked: Record<string, Row> = {
    load_file: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: EPERM .*${LOCKED_FILE.source}`),
    },
    load_auto: {
      rc: 255,
      message: new RegExp(`kexec_file_load failed: EPERM .*${LOCKED_FILE.source}`),
      debug: true,
    },
    load_segments: {
      rc: 255,
      message: new RegExp(`kexec_load failed: EPERM .*${LOCKED_LOAD.source}`),
    },
    no_above_4g_auto: {
      rc: 255,
      message:
        /kexec_file_load would refuse kernel .*XLF_CAN_BE_LOADED_ABOVE_4G.*kexec_load would accept it, but the kernel is locked down \(integrity\), which refuses kexec_load/,
      debug: true,
    },
    no_above_4g_file: {
      rc: 253,
      message: /kexec_file_load would refuse kernel .*XLF_CAN_BE_LOADED_ABOVE_4G/,
    },
    cmdline_only_segments: {
      rc: 255,
      message: new RegExp(
        `command line is ${facts.fileLoadMax + 1} bytes; .* at most ${facts.fileLoadMax} with ` +
          "kexec_file_load; kexec_load would accept it, but the kernel is locked down " +
          "\\(integrity\\), which refuses kexec_load",
      ),
    },
    exec_nothing: { rc: 1, message: /^kexec: Nothing has been loaded!/ },
  };

  await check("securityfs unmounted: -c is EPERM and lockdown is named as possible", (run) => {
    assert.equal(value(run, "lockdown_unmounted"), "<missing>");
    expectRows(run, unmounted, null);
  });
  await check(
    "mounted: lockdown reads integrity; -s, auto and -c are refused naming lockdown",
    (run) => {
      assert.equal(value(run, "lockdown"), "none [integrity] confidentiality");
      expectRows(run, locked, null);
    },
  );
  await check(
    "auto mode makes no kexec_load attempt (-d lists only kexec_file_load calls, or none)",
    (run) => {
      const auto = step(run, "load_auto").err.join("\n");
      assert.match(auto, /^kexec: kexec_file_load\(kernel_fd=/m, stepInfo(step(run, "load_auto")));
      assert.doesNotMatch(auto, /^kexec: kexec_load\(/m, stepInfo(step(run, "load_auto")));
      // A predicted ENOEXEC: neither syscall is made.
      const predicted = step(run, "no_above_4g_auto").err.join("\n");
      assert.doesNotMatch(predicted, /^kexec: kexec(_file)?_load\(/m, predicted);
    },
  );
  await check(
    "unload works under lockdown; -S --json reports it and kexec_load as refused",
    (run) => {
      const unload = step(run, "unload");
      assert.equal(unload.rc, 0, stepInfo(unload));
      const status = step(run, "status");
      assert.equal(status.rc, 0, stepInfo(status));
      const json = JSON.parse(status.out.join("\n"));
      assert.equal(json.lockdown, "integrity");
      assert.equal(json.syscalls?.kexec_load, "refused");
    },
  );
  await check("-e with nothing loaded: 1, lo untouched, the guest keeps running", (run) => {
    assert.equal(value(run, "lo_flags_after"), value(run, "lo_flags_before"));
    assert.equal(Number(value(run, "lo_flags_after")) & 1, 1, "lo is still IFF_UP");
    assert.equal(value(run, "alive_after_exec"), "yes");
    assert.equal(run.report.stage2, undefined, "no second kernel booted");
  });
  await check("every row the guest ran is checked here", (run) => {
    const extra: Record<string, Row> = {
      unload: { rc: 0, message: /./ },
      status: { rc: 0, message: /./ },
    };
    expectOnlyRows(run, unmounted, locked, extra);
  });
});
