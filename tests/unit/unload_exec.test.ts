/**
 * Unload and exec through the injected syscall layer: which calls, in which
 * order, and above all that -e does nothing destructive before its guard.
 */

import assert from "node:assert/strict";
import { LINUX_REBOOT_CMD_KEXEC, PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { INITRD, KERNEL, machine } from "../support/machine.ts";

Deno.test("-u: kexec_file_load(-1, -1, 0, NULL, UNLOAD)", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: "1\n" });
  assert.equal(await runCli(["-u"], sys), 0, sys.stderr);
  assert.deepEqual(sys.calls, [
    { op: "kexec_file_load", kernelFd: -1, initrdFd: -1, cmdline: null, flags: 0x1 },
  ]);
  assert.equal(sys.readText(PATHS.kexecLoaded), "0\n");
});

Deno.test("-p -u: unloads the crash image (UNLOAD|ON_CRASH)", async () => {
  const sys = machine();
  assert.equal(await runCli(["-p", "-u"], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load")[0].flags, 0x3);
  assert.match(sys.stderr, /unloaded the crash kernel/);
});

Deno.test("-u -p: -p loads after the unload (kexec-tools' order); without a kernel nothing is done", async () => {
  const none = machine();
  assert.equal(await runCli(["-u", "-p"], none), 255);
  assert.match(none.stderr, /No kernel specified/);
  assert.deepEqual(none.calls, []);
  const sys = machine();
  assert.equal(await runCli(["-u", "-p", "-s", KERNEL], sys), 0, sys.stderr);
  assert.deepEqual(sys.callsOf("kexec_file_load").map((c) => c.flags), [0x3, 0x6]);
});

Deno.test("-u auto: ENOSYS falls back to kexec_load(0, 0, NULL, arch)", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.ENOSYS] });
  assert.equal(await runCli(["-p", "-u"], sys), 0, sys.stderr);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.nr, 0);
  assert.equal(load.entry, 0n);
  assert.equal(load.flags, 0x3e0001);
});

Deno.test("-u: EPERM from kexec_file_load is final and explained", async () => {
  const sys = machine({ [PATHS.kexecLoadDisabled]: "1\n" }, { fileLoadErrnos: [Errno.EPERM] });
  assert.equal(await runCli(["-u"], sys), 255);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  assert.match(sys.stderr, /kexec_file_load\(unload\) failed: EPERM.*kexec_load_disabled=1/);
});

Deno.test("-c -u: kexec_load only", async () => {
  const sys = machine();
  assert.equal(await runCli(["-c", "-u"], sys), 0);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  assert.equal(sys.callsOf("kexec_load")[0].flags, 0x3e0000);
});

Deno.test("-s -u on a kernel without kexec_file_load exits 253", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.ENOSYS] });
  assert.equal(await runCli(["-s", "-u"], sys), 253);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

for (
  const [name, loaded, why] of [
    ["a kernel without kexec (sysfs mounted)", undefined, /no kexec support/],
    ["kexec_loaded = 0", "0\n", /no kernel is loaded/],
    ["garbled kexec_loaded", "?\n", /no kernel is loaded/],
  ] as const
) {
  Deno.test(`-e guard (${name}): refused before any sync, ifdown or reboot`, async () => {
    const sys = machine({ [PATHS.kexecLoaded]: loaded });
    assert.equal(await runCli(["-e"], sys), 1);
    assert.deepEqual(sys.calls, []);
    assert.match(sys.stderr, /^kexec: Nothing has been loaded!/);
    assert.match(sys.stderr, why);
    assert.equal(sys.stderr.trim().split("\n").length, 1);
  });
}

Deno.test("-e guard also holds for -e -x -y and --dry-run; -e -f without a kernel does nothing", async () => {
  for (
    const [argv, code] of [[["-e", "-x", "-y"], 1], [["-e", "--dry-run"], 1], [
      ["-e", "-f"],
      255,
    ]] as const
  ) {
    const sys = machine();
    assert.equal(await runCli(argv, sys), code, argv.join(" "));
    assert.deepEqual(sys.calls, []);
  }
});

/** A machine whose init never mounted sysfs; a private mount would show `sysfs`. */
function noSysfs(sysfs: Record<string, string | { dir: string[] }> | null, errno = 0) {
  const hidden = ["/sys/kernel", PATHS.kexecLoaded, PATHS.kexecCrashLoaded, PATHS.netClass];
  const gone = Object.fromEntries(hidden.map((p) => [p, undefined]));
  return machine(gone, { privateSysfs: { files: sysfs ?? {}, errno } });
}

Deno.test("-e without sysfs: asks a private sysfs mount, then syncs, downs interfaces, reboots", async () => {
  const sys = noSysfs({
    "/sys/kernel": { dir: ["kexec_loaded"] },
    [PATHS.kexecLoaded]: "1\n",
    [PATHS.netClass]: { dir: ["lo", "eth0"] },
  });
  assert.equal(await runCli(["-e"], sys), 255, sys.stderr);
  assert.deepEqual(
    sys.calls.map((c) => c.op),
    ["mount_private_sysfs", "sync", "ifdown", "kmsg", "reboot"],
  );
  assert.deepEqual(sys.callsOf("ifdown").map((c) => c.name), ["eth0"]);
});

const NO_SYSFS_CASES: [
  string,
  Record<string, string | { dir: string[] }> | null,
  number,
  RegExp,
][] = [
  [
    "nothing loaded",
    { "/sys/kernel": { dir: [] }, [PATHS.kexecLoaded]: "0\n" },
    0,
    /no kernel is loaded/,
  ],
  ["a kernel without kexec", { "/sys/kernel": { dir: [] } }, 0, /no kexec support/],
  ["the private mount fails", null, Errno.EPERM, /mounting it privately failed: EPERM/],
];
for (const [name, sysfs, errno, why] of NO_SYSFS_CASES) {
  Deno.test(`-e without sysfs, ${name}: Nothing has been loaded! before anything is touched`, async () => {
    const sys = noSysfs(sysfs, errno);
    assert.equal(await runCli(["-e"], sys), 1);
    assert.deepEqual(sys.calls.map((c) => c.op), ["mount_private_sysfs"]);
    assert.match(sys.stderr, /^kexec: Nothing has been loaded!/);
    assert.match(sys.stderr, why);
  });
}

Deno.test("-e: sync, then interfaces (not lo), then reboot(KEXEC)", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: "1\n" });
  // The fake reboot "returns" EINVAL, as the real one does only on failure.
  const code = await runCli(["-e"], sys);
  assert.equal(code, 255);
  assert.deepEqual(sys.calls.map((c) => c.op), ["sync", "ifdown", "ifdown", "kmsg", "reboot"]);
  assert.deepEqual(sys.callsOf("ifdown").map((c) => c.name), ["eth0", "wlan0"]);
  assert.equal(sys.callsOf("reboot")[0].cmd, LINUX_REBOOT_CMD_KEXEC);
  assert.equal(sys.callsOf("sync")[0].timeoutMs, 30000);
  assert.match(sys.stderr, /kexec \(reboot\) failed: EINVAL/);
});

Deno.test("-e -x -y: no sync, no interfaces, just reboot", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: "1\n" });
  await runCli(["-e", "-x", "-y"], sys);
  assert.deepEqual(sys.calls.map((c) => c.op), ["kmsg", "reboot"]);
});

Deno.test("-e: a sync that times out warns and boots anyway", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: "1\n" }, { syncCompletes: false });
  await runCli(["-e", "-x", "--sync-timeout=5"], sys);
  assert.equal(sys.callsOf("sync")[0].timeoutMs, 5000);
  assert.match(sys.stderr, /sync did not finish within 5 s/);
  assert.equal(sys.callsOf("reboot").length, 1);
});

Deno.test("-f KERNEL: load, then sync, ifdown and reboot", async () => {
  const sys = machine();
  await runCli(["-f", "-s", KERNEL, `--initrd=${INITRD}`], sys);
  assert.deepEqual(
    sys.calls.map((c) => c.op),
    ["kexec_file_load", "sync", "ifdown", "ifdown", "kmsg", "reboot"],
  );
});

Deno.test("-f with a failed load never reaches sync or reboot", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.EPERM] });
  assert.equal(await runCli(["-f", KERNEL], sys), 255);
  assert.deepEqual(sys.calls.map((c) => c.op), ["kexec_file_load"]);
});

Deno.test("-e --dry-run with a loaded kernel lists the steps and calls nothing", async () => {
  const sys = machine({ [PATHS.kexecLoaded]: "1\n" });
  assert.equal(await runCli(["-e", "--dry-run"], sys), 0);
  assert.deepEqual(sys.calls, []);
  assert.match(sys.stdout, /interfaces down: eth0, wlan0/);
});

Deno.test("plain 'kexec KERNEL' loads only and says how to boot it", async () => {
  const sys = machine();
  assert.equal(await runCli([KERNEL], sys), 0);
  assert.deepEqual(sys.calls.map((c) => c.op), ["kexec_file_load"]);
  assert.match(sys.stderr, /loaded only; boot it with 'kexec -e'/);
});
