/**
 * Bad input on real files (opened, stat'ed and mapped for real; every kexec
 * syscall recorded instead of made): one line on stderr naming the problem
 * with a hint, the documented exit code, no stack trace, no syscall.
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { openError } from "../../lib/sys/host.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { SafeHostSystem } from "../support/fake_system.ts";

const dir = Deno.makeTempDirSync({ prefix: "kexec-bad-input-" });
const good = `${dir}/vmlinuz`;
Deno.writeFileSync(good, syntheticKernel());
const initrd = `${dir}/initrd`;
Deno.writeFileSync(initrd, new Uint8Array(100).fill(1));
Deno.writeFileSync(`${dir}/empty`, new Uint8Array(0));
Deno.writeFileSync(`${dir}/garbage`, crypto.getRandomValues(new Uint8Array(4096)));
const full = syntheticKernel({ pmSize: 0x8000 });
Deno.writeFileSync(`${dir}/truncated`, full.subarray(0, full.length - 0x2000));
Deno.writeFileSync(`${dir}/tiny`, full.subarray(0, 0x300));
Deno.mkdirSync(`${dir}/adir`);
Deno.symlinkSync(`${dir}/loop-b`, `${dir}/loop-a`);
Deno.symlinkSync(`${dir}/loop-a`, `${dir}/loop-b`);
const mkfifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
assert.ok(mkfifo.success, "mkfifo (coreutils) is needed for the FIFO case");

const CASES: [string, string[], number, RegExp][] = [
  [
    "missing kernel",
    ["-l", `${dir}/nope`],
    255,
    /cannot open kernel .*nope: ENOENT.*hint: check the path/,
  ],
  [
    "kernel is a directory",
    ["-l", `${dir}/adir`],
    255,
    /kernel .*adir is a directory, not a regular file/,
  ],
  ["kernel is a FIFO", ["-l", `${dir}/fifo`], 255, /kernel .*fifo is a FIFO/],
  ["kernel is /dev/zero", ["-l", "/dev/zero"], 255, /kernel \/dev\/zero is a character device/],
  ["kernel is a symlink loop", ["-l", `${dir}/loop-a`], 255, /ELOOP.*symbolic link loop/],
  ["kernel is empty", ["-l", `${dir}/empty`], 255, /kernel .*empty is empty/],
  ["kernel is garbage", ["-l", `${dir}/garbage`], 255, /not a kernel image this tool recognises/],
  ["kernel is truncated", ["-l", `${dir}/truncated`], 255, /truncated/],
  ["kernel ends in its setup code", ["-l", `${dir}/tiny`], 255, /kernel .*tiny:/],
  [
    "missing initrd",
    ["-l", good, `--initrd=${dir}/nope`],
    255,
    /cannot open initrd .*nope: ENOENT/,
  ],
  [
    "initrd is a directory",
    ["-l", good, `--initrd=${dir}/adir`],
    255,
    /initrd .*adir is a directory/,
  ],
  ["initrd is empty", ["-l", good, `--initrd=${dir}/empty`], 255, /initrd .*empty is empty/],
  ["unknown option", ["--bogus"], 1, /unrecognized option '--bogus'.*hint/],
  [
    "kernel options on a command line that loads nothing (-e cancels -l)",
    ["-l", "-e", good, `--initrd=${initrd}`],
    1,
    /--initrd is given, but this command line does not load a kernel/,
  ],
  [
    "-s with --load-preserve-context",
    ["-s", "--load-preserve-context", good, "--mem-max=0x10000000"],
    1,
    /--load-preserve-context not supported with kexec_file_load/,
  ],
  [
    "--mem-min not a number",
    ["-c", "-l", good, "--mem-min=abc"],
    1,
    /--mem-min: 'abc' is not a number/,
  ],
  ["--mem-max negative", ["-c", "-l", good, "--mem-max=-5"], 1, /--mem-max: '-5' is negative/],
  ["-p without a kernel", ["-p"], 255, /No kernel specified/],
];

for (const [name, argv, code, pattern] of CASES) {
  Deno.test(`bad input: ${name}`, async () => {
    const sys = new SafeHostSystem();
    const exit = await runCli(argv, sys);
    const err = sys.captured.stderr;
    assert.equal(exit, code, err);
    assert.match(err, pattern);
    assert.match(err, /^kexec: /);
    assert.equal(err.trimEnd().split("\n").length, 1, `one line: ${err}`);
    assert.ok(!/\n\s+at /.test(err), "no stack trace");
    assert.deepEqual(sys.calls, [], "no syscall was made");
  });
}

Deno.test("bad input: an unreadable file names the permission problem", () => {
  // Root reads everything, so the message is checked on the error the host builds.
  const e = openError("initrd", "/boot/secret.img", Errno.EACCES);
  assert.equal(e.message, "cannot open initrd /boot/secret.img: EACCES (Permission denied)");
  assert.match(e.hint!, /root|permissions/);
  assert.equal(e.exitCode, 255);
});

Deno.test("good input reaches the (recorded) syscall", async () => {
  // The same harness with valid files does reach kexec_file_load: the cases above
  // failed because of their input, not because of the harness.
  const sys = new SafeHostSystem({ fileLoadErrnos: [0] });
  assert.equal(await runCli(["-s", "-l", good, `--initrd=${initrd}`], sys), 0, sys.captured.stderr);
  assert.equal(sys.calls.length, 1);
});
