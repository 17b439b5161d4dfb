/**
 * What the guest matrix (tests/e2e/hostile_x86_64.test.ts) found, pinned at
 * unit level: EPERM in a user namespace, EPERM with the lockdown state
 * unreadable, a crash load larger than the crash region (refused before the
 * syscall, which would free the loaded crash kernel), and a command line only
 * kexec_load accepts under lockdown.
 */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { cmdlineTooLong } from "../../lib/arch/check.ts";
import { runCli } from "../../lib/cli/run.ts";
import { explainErrno } from "../../lib/diagnose.ts";
import { parseInitialUserNamespace } from "../../lib/facts.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { SafeHostSystem } from "../support/fake_system.ts";
import { INITRD, KERNEL, machine } from "../support/machine.ts";

const FULL_CAPS = "Name:\tkexec\nCapEff:\t000001ffffffffff\n";
const MiB = 2 ** 20;

function oneLine(stderr: string): void {
  assert.match(stderr, /^kexec: /);
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
}

Deno.test("uid_map: only the identity map of all 2^32 ids is the initial user namespace", () => {
  assert.equal(parseInitialUserNamespace("         0          0 4294967295\n"), true);
  // unshare -r: root inside maps to one uid outside.
  assert.equal(parseInitialUserNamespace("         0          0          1\n"), false);
  assert.equal(parseInitialUserNamespace("         0     100000      65536\n"), false);
  assert.equal(
    parseInitialUserNamespace("0 0 1000\n1000 1000 4294966295\n"),
    false,
    "two lines covering every id are still a namespace of their own",
  );
  assert.equal(parseInitialUserNamespace(""), false, "a namespace before its map is written");
  assert.equal(parseInitialUserNamespace(undefined), undefined);
});

Deno.test("EPERM as root of a user namespace names the namespace, not an LSM", async () => {
  const sys = machine(
    { [PATHS.procSelfStatus]: FULL_CAPS, [PATHS.procSelfUidMap]: "0 0 1\n" },
    { fileLoadErrnos: [Errno.EPERM] },
  );
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 255);
  oneLine(sys.stderr);
  assert.match(
    sys.stderr,
    /kexec_file_load failed: EPERM .*user namespace.*initial user namespace/,
  );
  assert.match(sys.stderr, /hint: run kexec on the host/);
  assert.doesNotMatch(sys.stderr, /LSM/);
});

Deno.test("EPERM in the initial user namespace keeps the other explanations", async () => {
  const sys = machine(
    { [PATHS.procSelfUidMap]: "0 0 4294967295\n", [PATHS.kexecLoadDisabled]: "1\n" },
    { fileLoadErrnos: [Errno.EPERM] },
  );
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 255);
  assert.match(sys.stderr, /kexec_load_disabled=1/);
  assert.doesNotMatch(sys.stderr, /user namespace/);
});

Deno.test("EPERM with securityfs unmounted: lockdown is named as possible, not ruled out", async () => {
  const sys = machine({ [PATHS.lockdown]: undefined }, { loadErrnos: [Errno.EPERM] });
  assert.equal(await runCli(["-c", "-l", KERNEL], sys), 255);
  oneLine(sys.stderr);
  assert.match(sys.stderr, /kexec_load failed: EPERM .*lockdown cannot be ruled out/);
  assert.match(sys.stderr, /\/sys\/kernel\/security\/lockdown is unreadable/);
  assert.match(sys.stderr, /hint: mount -t securityfs securityfs \/sys\/kernel\/security/);
  assert.doesNotMatch(sys.stderr, /no lockdown/);
});

Deno.test("EPERM with lockdown read as none is still the unexplained case", () => {
  const e = explainErrno(Errno.EPERM, {
    call: "kexec_load",
    syscall: "kexec_load",
    crash: false,
    facts: { lockdown: "none", capSysBoot: true, kexecLoadDisabled: false },
  });
  assert.match(e.cause, /no lockdown, sysctl or capability explains it/);
});

Deno.test("-p: kernel + initrd larger than the crash region is refused before the syscall", async () => {
  // 256 MiB region (the machine's kexec_crash_size); the initrd alone is larger.
  const sys = machine({ [INITRD]: new Uint8Array(257 * MiB) });
  assert.equal(await runCli(["-p", KERNEL, `--initrd=${INITRD}`], sys), 255);
  oneLine(sys.stderr);
  assert.match(
    sys.stderr,
    new RegExp(
      `crash kernel ${KERNEL} \\(\\d+ bytes\\) and initrd ${INITRD} \\(${257 * MiB} bytes\\) ` +
        `need at least \\d+ bytes, more than the ${256 * MiB}-byte crash region`,
    ),
  );
  assert.match(sys.stderr, /drop the loaded crash kernel/);
  assert.match(sys.stderr, /hint: boot with a larger crashkernel=/);
  assert.deepEqual(sys.calls, [], "no syscall: the loaded crash kernel stays");
});

Deno.test("-p: a crash initrd that fits the region still reaches the syscall", async () => {
  const sys = machine({ [INITRD]: new Uint8Array(200 * MiB) });
  assert.equal(await runCli(["-s", "-p", KERNEL, `--initrd=${INITRD}`], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 1);
});

Deno.test("the crash-region check applies to crash loads only", async () => {
  const sys = machine({ [INITRD]: new Uint8Array(257 * MiB) });
  assert.equal(await runCli(["-s", "-l", KERNEL, `--initrd=${INITRD}`], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 1);
});

Deno.test("lockdown, auto mode: a line only kexec_load accepts says lockdown is why", async () => {
  // 2017 bytes: over kexec_file_load's 2016, within kexec_load's 2046.
  const line = "x".repeat(2017);
  const sys = machine({ [PATHS.lockdown]: "none [integrity] confidentiality\n" });
  assert.equal(await runCli(["-l", KERNEL, `--append=${line}`], sys), 255);
  oneLine(sys.stderr);
  assert.match(
    sys.stderr,
    /command line is 2017 bytes; kernel \/boot\/vmlinuz accepts at most 2016 with kexec_file_load; kexec_load would accept it, but the kernel is locked down \(integrity\), which refuses kexec_load/,
  );
  assert.deepEqual(sys.calls, []);
});

Deno.test("without lockdown the same line goes to kexec_load", async () => {
  const sys = machine();
  assert.equal(await runCli(["-l", KERNEL, `--append=${"x".repeat(2017)}`], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  assert.equal(sys.callsOf("kexec_load").length, 1);
});

Deno.test("-s under lockdown: the line is too long for kexec_file_load, nothing about kexec_load", async () => {
  const sys = machine({ [PATHS.lockdown]: "none [integrity] confidentiality\n" });
  assert.equal(await runCli(["-s", "-l", KERNEL, `--append=${"x".repeat(2017)}`], sys), 255);
  assert.match(sys.stderr, /accepts at most 2016 with kexec_file_load \(hint/);
});

Deno.test("the command-line hint counts bytes in the singular and the plural", () => {
  assert.match(cmdlineTooLong(2047, 2046, "/k", "kexec_load").hint!, /shorten it by 1 byte \(/);
  assert.match(cmdlineTooLong(2050, 2046, "/k", "kexec_load").hint!, /shorten it by 4 bytes \(/);
});

Deno.test("a directory as initrd: the hint reads as English for every role", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kexec-hostile-" });
  try {
    const kernel = `${dir}/vmlinuz`;
    await Deno.writeFile(kernel, syntheticKernel());
    const sys = new SafeHostSystem();
    assert.equal(await runCli(["-l", kernel, `--initrd=${dir}`], sys), 255);
    assert.match(
      sys.captured.stderr,
      /initrd .* is a directory, not a regular file \(hint: give the path of the initrd image file itself\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
