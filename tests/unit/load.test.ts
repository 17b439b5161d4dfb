/**
 * Loading through the injected syscall layer: the exact fds, flags, command
 * line bytes and segment tables that would reach the kernel, the automatic
 * fallback rule, and refusals before any syscall.
 */

import assert from "node:assert/strict";
import { X86_64_ABI } from "../../lib/arch/x86_64/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { INITRD, INITRD2, KERNEL, machine } from "../support/machine.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const withNul = (s: string) => new Uint8Array([...enc(s), 0]);

function fdOf(_sys: ReturnType<typeof machine>, path: string): number {
  // Files are closed after the load; the fake keeps handing out increasing fds
  // in open order: kernel first, then initrds.
  const order = [KERNEL, INITRD, INITRD2];
  return 3 + order.indexOf(path);
}

Deno.test("-s -l: kernel fd, initrd fd, NUL-terminated cmdline, no flags", async () => {
  const sys = machine();
  const cmdline = 'console=ttyS0 panic=-1 e2e.arg="a b" x=1';
  const code = await runCli(["-s", "-l", KERNEL, `--initrd=${INITRD}`, `--append=${cmdline}`], sys);
  assert.equal(code, 0, sys.stderr);
  const calls = sys.callsOf("kexec_file_load");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].kernelFd, fdOf(sys, KERNEL));
  assert.equal(calls[0].initrdFd, fdOf(sys, INITRD));
  assert.deepEqual(calls[0].cmdline, withNul(cmdline));
  assert.equal(calls[0].cmdline!.length, enc(cmdline).length + 1);
  assert.equal(calls[0].flags, 0);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  assert.match(sys.stderr, /loaded kernel \/boot\/vmlinuz with kexec_file_load/);
  assert.equal(sys.fds.size, 0, "every opened file is closed");
});

Deno.test("no initrd: KEXEC_FILE_NO_INITRAMFS and initrd_fd -1; empty cmdline is one NUL", async () => {
  const sys = machine();
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 0);
  const [call] = sys.callsOf("kexec_file_load");
  assert.equal(call.flags, 0x4);
  assert.equal(call.initrdFd, -1);
  assert.deepEqual(call.cmdline, new Uint8Array([0]));
});

Deno.test("-p: KEXEC_FILE_ON_CRASH", async () => {
  const sys = machine();
  assert.equal(
    await runCli(["-s", "-p", KERNEL, `--initrd=${INITRD}`, "--append=irqpoll"], sys),
    0,
  );
  const [call] = sys.callsOf("kexec_file_load");
  assert.equal(call.flags, 0x2);
  assert.match(sys.stderr, /loaded crash kernel/);
});

Deno.test("several initrds are concatenated in order into one memfd", async () => {
  const sys = machine();
  const argv = ["-s", "-l", KERNEL, `--initrd=${INITRD2}`, `--initrd=${INITRD}`];
  assert.equal(await runCli(argv, sys), 0, sys.stderr);
  const memfd = sys.callsOf("memfd")[0];
  assert.deepEqual(memfd.parts, [INITRD2, INITRD]);
  assert.equal(memfd.size, 512 + 10000);
  const [call] = sys.callsOf("kexec_file_load");
  assert.notEqual(call.initrdFd, fdOf(sys, INITRD));
  assert.equal(call.flags, 0);
});

Deno.test("-d adds KEXEC_FILE_DEBUG and retries without it on EINVAL", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.EINVAL] });
  assert.equal(await runCli(["-s", "-d", "-l", KERNEL], sys), 0, sys.stderr);
  const calls = sys.callsOf("kexec_file_load");
  assert.deepEqual(calls.map((c) => c.flags), [0x4 | 0x8, 0x4]);
});

Deno.test("auto: ENOSYS from kexec_file_load falls back to kexec_load", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.ENOSYS] });
  const code = await runCli(["-l", KERNEL, `--initrd=${INITRD}`, "--append=quiet"], sys);
  assert.equal(code, 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 1);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.flags, X86_64_ABI.kexecArch);
  assert.ok(load.nr >= 4);
  assert.match(sys.stderr, /with kexec_load/);
});

for (const errno of [Errno.EINVAL, Errno.ENOEXEC, Errno.EOPNOTSUPP]) {
  Deno.test(`auto: errno ${errno} falls back too`, async () => {
    const sys = machine({}, { fileLoadErrnos: [errno] });
    assert.equal(await runCli(["-l", KERNEL], sys), 0, sys.stderr);
    assert.equal(sys.callsOf("kexec_load").length, 1);
  });
}

for (
  const [errno, pattern] of [
    [Errno.EPERM, /EPERM/],
    [Errno.EKEYREJECTED, /EKEYREJECTED.*signature is not trusted/],
    [Errno.ENOKEY, /ENOKEY/],
    [Errno.EBADMSG, /EBADMSG.*malformed/],
    [Errno.EBUSY, /EBUSY/],
    [Errno.ENOMEM, /ENOMEM/],
    [Errno.EACCES, /EACCES/],
  ] as const
) {
  Deno.test(`auto: errno ${errno} is final, no fallback`, async () => {
    const sys = machine({}, { fileLoadErrnos: [errno] });
    const code = await runCli(["-l", KERNEL], sys);
    assert.equal(code, 255);
    assert.equal(sys.callsOf("kexec_load").length, 0);
    assert.match(sys.stderr, pattern);
    assert.equal(sys.stderr.trim().split("\n").length, 1);
  });
}

Deno.test("auto under lockdown: no kexec_load after ENOEXEC, and it says why", async () => {
  const sys = machine(
    { "/sys/kernel/security/lockdown": "none [integrity] confidentiality\n" },
    { fileLoadErrnos: [Errno.ENOEXEC] },
  );
  const code = await runCli(["-l", KERNEL], sys);
  assert.equal(code, 255);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  assert.match(sys.stderr, /not falling back to kexec_load because the kernel is locked down/);
});

Deno.test("-s: a fallback-class errno exits 253 and still names the errno", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.EINVAL] });
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 253);
  assert.match(sys.stderr, /kexec_file_load failed: EINVAL \(Invalid argument\)/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

Deno.test("-s: a signature errno exits 255", async () => {
  const sys = machine({}, { fileLoadErrnos: [Errno.EKEYREJECTED] });
  assert.equal(await runCli(["-s", "-l", KERNEL], sys), 255);
});

Deno.test("-c: one kexec_load with the exact segment table", async () => {
  const sys = machine();
  const code = await runCli(["-c", "-l", KERNEL, `--initrd=${INITRD}`, "--append=quiet"], sys);
  assert.equal(code, 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  const [call] = sys.callsOf("kexec_load");
  assert.equal(call.flags, 0x3e0000);
  // Replan with the same inputs to know the segments; the table must match byte for byte.
  const dry = machine();
  await runCli(
    ["-c", "-l", KERNEL, `--initrd=${INITRD}`, "--append=quiet", "--dry-run", "--json"],
    dry,
  );
  const plan = JSON.parse(dry.stdout).plans[0];
  assert.equal(call.nr, plan.segments.length);
  assert.equal(call.entry, BigInt(plan.entry));
  const purgatory = plan.segments.find((s: { name: string }) => s.name === "purgatory");
  assert.equal(Number(call.entry), purgatory.mem);
  for (const [i, s] of plan.segments.entries()) {
    assert.equal(call.table[4 * i + 1], BigInt(s.bufsz), `bufsz ${s.name}`);
    assert.equal(call.table[4 * i + 2], BigInt(s.mem), `mem ${s.name}`);
    assert.equal(call.table[4 * i + 3], BigInt(s.memsz), `memsz ${s.name}`);
    assert.equal(call.table[4 * i], 0x7f0000000000n + BigInt(s.bufsz), `buf ${s.name}`);
  }
});

Deno.test("--reuse-cmdline with -p drops BOOT_IMAGE= and crashkernel=, keeps quotes", async () => {
  const sys = machine();
  assert.equal(await runCli(["-s", "-p", KERNEL, "--reuse-cmdline", "--append=irqpoll"], sys), 0);
  const [call] = sys.callsOf("kexec_file_load");
  assert.deepEqual(call.cmdline, withNul('root=/dev/vda ro console=ttyS0 x="a b" irqpoll'));
});

Deno.test("a truncated kernel is refused before any syscall", async () => {
  const full = syntheticKernel({ pmSize: 0x8000 });
  const sys = machine({ [KERNEL]: full.subarray(0, full.length - 0x4000) });
  assert.equal(await runCli(["-l", KERNEL], sys), 255);
  assert.match(sys.stderr, /truncated/);
  assert.equal(sys.calls.filter((c) => c.op.startsWith("kexec")).length, 0);
});

Deno.test("an arm64 Image on x86_64 is refused naming both architectures", async () => {
  const image = new Uint8Array(4096);
  new DataView(image.buffer).setUint32(0x38, 0x644d5241, true);
  const sys = machine({ [KERNEL]: image });
  assert.equal(await runCli(["-l", KERNEL], sys), 255);
  assert.match(sys.stderr, /arm64 \(aarch64\).*x86_64/);
  assert.equal(sys.calls.length, 0);
});

Deno.test("command line too long for kexec_file_load: -s refuses, auto uses kexec_load", async () => {
  const line = "x".repeat(2020); // > 2047-31, ≤ 2046
  const s = machine();
  assert.equal(await runCli(["-s", "-l", KERNEL, `--append=${line}`], s), 255);
  assert.match(s.stderr, /2020 bytes.*at most 2016 with kexec_file_load/);
  assert.equal(s.calls.length, 0);
  const a = machine();
  assert.equal(await runCli(["-l", KERNEL, `--append=${line}`], a), 0, a.stderr);
  assert.equal(a.callsOf("kexec_file_load").length, 0);
  assert.equal(a.callsOf("kexec_load").length, 1);
  const tooLong = machine();
  assert.equal(await runCli(["-l", KERNEL, `--append=${"y".repeat(2047)}`], tooLong), 255);
  assert.match(tooLong.stderr, /2047 bytes.*at most 2046/);
  assert.equal(tooLong.calls.length, 0);
});

Deno.test("--dry-run calls nothing and prints the plan with the cmdline length", async () => {
  const sys = machine();
  const code = await runCli(
    ["-s", "-l", KERNEL, `--initrd=${INITRD}`, "--append=a b", "--dry-run"],
    sys,
  );
  assert.equal(code, 0);
  assert.equal(sys.calls.length, 0);
  assert.match(sys.stdout, /kexec_file_load/);
  assert.match(sys.stdout, /cmdline_len 4/);
  const json = machine();
  await runCli(["-l", KERNEL, "--append=a b", "--dry-run", "--json"], json);
  const out = JSON.parse(json.stdout);
  assert.deepEqual(out.plans.map((p: { syscall: string }) => p.syscall), [
    "kexec_file_load",
    "kexec_load",
  ]);
  assert.equal(out.plans[0].cmdline_len, 4);
  assert.deepEqual(out.plans[0].flag_names, ["KEXEC_FILE_NO_INITRAMFS"]);
  assert.equal(json.calls.length, 0);
});

Deno.test("unknown -t type is a usage error", async () => {
  const sys = machine();
  assert.equal(await runCli(["-l", KERNEL, "-t", "multiboot-x86"], sys), 1);
  assert.match(sys.stderr, /unsupported kernel type 'multiboot-x86'/);
});

Deno.test("-p without a crash region: exit 254 with the crashkernel= hint, no syscall", async () => {
  for (const mode of ["-s", "-c", "-a"]) {
    const sys = machine({ "/sys/kernel/kexec_crash_size": "0\n" });
    assert.equal(await runCli([mode, "-p", KERNEL], sys), 254, mode);
    assert.match(sys.stderr, /Memory for crashkernel is not reserved.*crashkernel=256M/);
    assert.equal(sys.calls.length, 0);
  }
});

Deno.test("--test-corrupt-segment passes a flipped byte but keeps the planned digest", async () => {
  const sys = machine();
  const argv = ["-c", "-l", KERNEL, `--initrd=${INITRD}`, "--test-corrupt-segment=initrd"];
  assert.equal(await runCli(argv, sys), 0, sys.stderr);
  assert.match(sys.stderr, /segment initrd passed with byte \d+ flipped/);
  assert.equal(sys.callsOf("kexec_load").length, 1);
  const bad = machine();
  assert.equal(await runCli(["-c", "-l", KERNEL, "--test-corrupt-segment=nope"], bad), 1);
  assert.match(bad.stderr, /no segment named 'nope'/);
});

Deno.test("kexec_load on a 5-level-paging machine refuses a kernel without XLF_5LEVEL", async () => {
  const old = syntheticKernel({ xloadflags: 0x1f });
  const sys = machine({ [KERNEL]: old }, { fiveLevelPaging: true });
  assert.equal(await runCli(["-c", "-l", KERNEL], sys), 255);
  assert.match(sys.stderr, /5-level/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  const ok = machine({}, { fiveLevelPaging: true });
  assert.equal(await runCli(["-c", "-l", KERNEL], ok), 0, ok.stderr);
});

Deno.test("a kernel the file loader would refuse (no XLF_CAN_BE_LOADED_ABOVE_4G) never reaches it", async () => {
  const k = syntheticKernel({ xloadflags: 0x01 });
  const s = machine({ [KERNEL]: k });
  assert.equal(await runCli(["-s", "-p", KERNEL], s), 253);
  assert.match(s.stderr, /kexec_file_load would refuse kernel .*XLF_CAN_BE_LOADED_ABOVE_4G/);
  assert.equal(s.calls.length, 0, "a loaded crash kernel is not freed by a doomed call");
  const a = machine({ [KERNEL]: k });
  assert.equal(await runCli(["-l", KERNEL], a), 0, a.stderr);
  assert.deepEqual(a.calls.map((c) => c.op), ["kexec_load"]);
  const locked = machine({
    [KERNEL]: k,
    "/sys/kernel/security/lockdown": "none [integrity] confidentiality\n",
  });
  assert.equal(await runCli(["-l", KERNEL], locked), 255);
  assert.match(locked.stderr, /would refuse.*but the kernel is locked down \(integrity\)/);
  assert.equal(locked.calls.length, 0);
});
