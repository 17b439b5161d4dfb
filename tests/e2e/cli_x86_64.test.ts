/**
 * End-to-end acceptance of issue 10 (kexec-tools' command-line semantics) on
 * x86_64 (Debian 6.1 kernel, QEMU TCG): real callers' invocations boot, `-e`
 * works from an init that never mounted sysfs, a byte 0xff in `--append`
 * reaches the second kernel, and `--reuse-cmdline` gives it exactly what
 * kexec-tools would. Two guest boots share the checks; kdump-config's crash
 * invocation is kexec_x86_64.test.ts' crash case. Scripts: cases/cli-*.sh.
 */
import assert from "node:assert/strict";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";

/** Command line before the 0xff byte: quotes and spaces must arrive byte for byte. */
const KEXEC_APPEND = `console=ttyS0 panic=-1 e2e.arg="a b" x=1`;
const KERNEL_PATH = "/e2e/vmlinuz";

function expectSecondStage(run: GuestRun): void {
  assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.kernel, run.report.stage1?.kernel);
  assert.equal(stage2.ended, true);
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("e2e x86_64: without sysfs, -e refuses or boots systemd's --load with a byte 0xff", async (t) => {
  const run = await runGuestCase({
    name: "cli-no-sysfs",
    script: "cli-no-sysfs.sh",
    params: { E2E_NO_SYSFS: "1", KEXEC_APPEND },
  });
  const check = checker(t, run);
  await check("the first stage never mounted sysfs", (run) => {
    assert.equal(run.report.stage1?.token, run.stage1Token);
    assert.equal(value(run, "sysfs_before"), "0");
  });
  await check(
    "-e with nothing loaded: 'Nothing has been loaded!' read from a private sysfs; mounts and lo kept",
    (run) => {
      const s = expectRc(run, "exec_nothing", 1);
      assert.match(
        s.err.join("\n"),
        /^kexec: Nothing has been loaded! \(no kernel is loaded\)/m,
        stepInfo(s),
      );
      assert.equal(value(run, "sysfs_after"), "0", "a sysfs mount leaked to the caller");
      assert.equal(value(run, "lo_after"), value(run, "lo_before"));
      assert.match(value(run, "lo_after") ?? "", /\bUP\b/);
    },
  );
  await check("systemd's --load K --append C --initrd I loads", (run) => {
    const s = expectRc(run, "load", 0);
    assert.match(s.err.join("\n"), new RegExp(`^kexec: loaded kernel ${KERNEL_PATH} with`, "m"));
  });
  await check("-e boots it; /proc/cmdline holds the 0xff byte unchanged", (run) => {
    expectSecondStage(run);
    const expected = [...new TextEncoder().encode(`${KEXEC_APPEND} e2e.byte=`), 0xff, 0x0a];
    assert.equal(hex(run.report.stage2!.cmdlineBytes!), hex(Uint8Array.from(expected)));
  });
});

/**
 * The first kernel's command line: BOOT_IMAGE=, initrd= and double spaces
 * (the harness joins the arguments with one space; empty ones make two).
 */
const FIRST_ARGS = [
  "BOOT_IMAGE=/boot/vmlinuz-e2e",
  "",
  "initrd=/boot/initrd.img-e2e",
  "",
  'e2e.q="a  b"',
  "e2e.end=1",
];
const FIRST_CMDLINE = "console=ttyS0 panic=-1 BOOT_IMAGE=/boot/vmlinuz-e2e  " +
  'initrd=/boot/initrd.img-e2e  e2e.q="a  b" e2e.end=1';
const REUSE_APPEND = "e2e.appended=1";
/**
 * kexec-tools' get_command_line() of FIRST_CMDLINE: BOOT_IMAGE cut through the
 * next space (so one of the two spaces after it stays), nothing else touched;
 * then concat_cmdline(): one space and the --append text.
 */
const REUSED = 'console=ttyS0 panic=-1  initrd=/boot/initrd.img-e2e  e2e.q="a  b" e2e.end=1 ' +
  REUSE_APPEND;

Deno.test("e2e x86_64: -e -l loads only; --reuse-cmdline boots with kexec-tools' exact line", async (t) => {
  const run = await runGuestCase({
    name: "cli-reuse",
    script: "cli-reuse.sh",
    kernelArgs: FIRST_ARGS,
    params: { REUSE_APPEND },
  });
  const check = checker(t, run);
  await check("the first kernel's line holds BOOT_IMAGE=, initrd= and double spaces", (run) => {
    assert.equal(run.append, FIRST_CMDLINE);
    assert.equal(run.report.stage1?.token, run.stage1Token);
  });
  await check("-e -l -s KERNEL loads and does not boot (the last action wins)", (run) => {
    expectRc(run, "load_last_wins", 0);
    assert.equal(value(run, "loaded_after_e_l"), "1");
    assert.equal(value(run, "alive_after_e_l"), "yes");
    expectRc(run, "unload", 0);
    assert.equal(value(run, "loaded_after_unload"), "0");
  });
  await check(
    "-c -s -l --reuse-cmdline --append uses kexec_file_load (the last mode wins)",
    (run) => {
      const s = expectRc(run, "load", 0);
      const err = s.err.join("\n");
      assert.match(err, /^kexec: kexec_file_load\(kernel_fd=/m, stepInfo(s));
      assert.doesNotMatch(err, /^kexec: kexec_load\(/m, stepInfo(s));
      assert.equal(value(run, "loaded_after"), "1");
    },
  );
  await check("-e boots it with get_command_line()'s result plus the --append text", (run) => {
    expectSecondStage(run);
    assert.equal(run.report.stage2?.cmdline, REUSED);
  });
});
