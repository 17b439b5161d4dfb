/**
 * --status: kexec-tools' exit codes, the report, the JSON, and probes that
 * can never load or unload anything.
 */

import assert from "node:assert/strict";
import { KEXEC_SEGMENT_MAX, PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { machine } from "../support/machine.ts";

Deno.test("-S: exit code follows the crash image; -S -l the normal image", async () => {
  const cases: [string, string, string[], number][] = [
    ["0\n", "0\n", ["-S"], 0],
    ["1\n", "0\n", ["-S"], 0],
    ["0\n", "1\n", ["-S"], 1],
    ["1\n", "0\n", ["-S", "-l"], 1],
    ["0\n", "1\n", ["-S", "-l"], 0],
    ["0\n", "1\n", ["-d", "-S"], 1],
  ];
  for (const [normal, crash, argv, code] of cases) {
    const sys = machine({ [PATHS.kexecLoaded]: normal, [PATHS.kexecCrashLoaded]: crash });
    assert.equal(
      await runCli(argv, sys),
      code,
      `${argv.join(" ")} normal=${normal} crash=${crash}`,
    );
  }
});

Deno.test("-S: 255 when sysfs says nothing (kernel without kexec)", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: undefined, [PATHS.kexecCrashLoaded]: undefined });
  assert.equal(await runCli(["-S"], sys), 255);
  assert.match(sys.stdout, /normal image: {2}unknown/);
});

Deno.test("-S --json reports both images, region, lockdown, sysctls, syscalls", async () => {
  const sys = machine({
    [PATHS.kexecLoaded]: "1\n",
    [PATHS.lockdown]: "none [integrity] confidentiality\n",
  }, { fileLoadErrnos: [Errno.EINVAL], loadErrnos: [Errno.EPERM] });
  assert.equal(await runCli(["-S", "--json"], sys), 0);
  const r = JSON.parse(sys.stdout);
  assert.deepEqual(r.normal, { loaded: true });
  assert.deepEqual(r.crash, { loaded: false, size: 268435456 });
  assert.equal(r.lockdown, "integrity");
  assert.equal(r.kexec_load_disabled, false);
  assert.deepEqual(r.load_limits, { reboot: -1, panic: -1 });
  assert.equal(r.cap_sys_boot, true);
  assert.deepEqual(r.syscalls, { kexec_load: "refused", kexec_file_load: "available" });
  assert.equal(r.checked, "crash");
});

Deno.test("-S probes are rejected by any kernel before it acts", async () => {
  const sys = machine();
  await runCli(["-S"], sys);
  const [file] = sys.callsOf("kexec_file_load");
  const [seg] = sys.callsOf("kexec_load");
  // An unknown flag bit: EINVAL before the fds are even looked at.
  assert.ok(file.flags & 0x8000);
  assert.equal(file.flags & 0x1, 0, "never an UNLOAD");
  // More than KEXEC_SEGMENT_MAX segments: EINVAL even if the flag became valid,
  // so nr_segments is never 0 (which would unload).
  assert.ok(seg.nr > KEXEC_SEGMENT_MAX);
  assert.ok(seg.flags & 0x8000);
  assert.equal(sys.callsOf("reboot").length, 0);
});

Deno.test("-S does not probe when a load limit is set (each call would count)", async () => {
  const sys = machine({ [PATHS.kexecLoadLimitReboot]: "3\n" });
  await runCli(["-S", "--json"], sys);
  assert.equal(sys.calls.length, 0);
  assert.deepEqual(JSON.parse(sys.stdout).syscalls, {
    kexec_load: "unknown",
    kexec_file_load: "unknown",
  });
});

Deno.test("-S text report names both images and the crash region", async () => {
  const sys = machine({ [PATHS.kexecCrashLoaded]: "1\n" }, { fileLoadErrnos: [Errno.ENOSYS] });
  assert.equal(await runCli(["-S"], sys), 1);
  assert.match(sys.stdout, /normal image: {2}not loaded/);
  assert.match(sys.stdout, /crash image: {3}loaded; crash region 256 MiB/);
  assert.match(sys.stdout, /kexec_file_load: not built into this kernel/);
});

Deno.test("--print-ckr-size prints the region size in bytes", async () => {
  const sys = machine();
  assert.equal(await runCli(["--print-ckr-size"], sys), 0);
  assert.equal(sys.stdout, "268435456\n");
});

Deno.test("-S --json decodes the flags word each syscall is given", async () => {
  const sys = machine();
  await runCli(["-S", "--json"], sys);
  const flags = JSON.parse(sys.stdout).load_flags;
  assert.deepEqual(flags.kexec_load.normal, {
    value: 0x3e0000,
    hex: "0x3e0000",
    names: ["KEXEC_ARCH_X86_64"],
  });
  assert.deepEqual(flags.kexec_load.crash.names, ["KEXEC_ON_CRASH", "KEXEC_ARCH_X86_64"]);
  assert.deepEqual(flags.kexec_file_load.crash, {
    value: 2,
    hex: "0x2",
    names: ["KEXEC_FILE_ON_CRASH"],
  });
  const text = machine();
  await runCli(["-S"], text);
  assert.match(text.stdout, /flags passed: kexec_load 0x3e0000 \[KEXEC_ARCH_X86_64\]/);
});

Deno.test("-S --json: CAP_SYS_BOOT does not count inside a user namespace", async () => {
  const sys = machine({ "/proc/self/uid_map": "         0       1000          1\n" });
  await runCli(["-S", "--json"], sys);
  const r = JSON.parse(sys.stdout);
  assert.equal(r.initial_user_namespace, false);
  assert.equal(r.cap_sys_boot, false);
  const host = machine({ "/proc/self/uid_map": "         0          0 4294967295\n" });
  await runCli(["-S", "--json"], host);
  assert.equal(JSON.parse(host.stdout).cap_sys_boot, true);
});
