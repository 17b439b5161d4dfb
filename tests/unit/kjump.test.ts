/** --load-preserve-context and --load-jump-back-helper (kexec jump). */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { KERNEL, machine } from "../support/machine.ts";

Deno.test("--load-preserve-context requires --mem-max and refuses -s and -p", async () => {
  const cases: [string[], RegExp][] = [
    [["--load-preserve-context", KERNEL], /requires --mem-max/],
    [
      ["-s", "--load-preserve-context", "--mem-max=0x40000000", KERNEL],
      /--load-preserve-context not supported with kexec_file_load/,
    ],
    [
      ["-p", "--load-preserve-context", "--mem-max=0x40000000", KERNEL],
      /a crash kernel cannot preserve context/,
    ],
  ];
  for (const [argv, pattern] of cases) {
    const sys = machine();
    assert.equal(await runCli(argv, sys), 1, argv.join(" "));
    assert.match(sys.stderr, pattern);
    assert.deepEqual(sys.calls, []);
  }
});

Deno.test("--load-preserve-context on a kernel without CONFIG_KEXEC_JUMP says so, loads nothing", async () => {
  const sys = machine({}, { probeErrno: Errno.EINVAL });
  const code = await runCli(["--load-preserve-context", "--mem-max=0x3fffffff", KERNEL], sys);
  assert.equal(code, 255);
  assert.match(sys.stderr, /built without CONFIG_KEXEC_JUMP/);
  assert.deepEqual(sys.calls, [{ op: "probe_kexec_load_flags", flags: 0x3e0002 }]);
});

Deno.test("--load-preserve-context with CONFIG_KEXEC_JUMP: kexec_load with KEXEC_PRESERVE_CONTEXT below --mem-max", async () => {
  const sys = machine();
  const code = await runCli(["--load-preserve-context", "--mem-max=0x3fffffff", KERNEL], sys);
  assert.equal(code, 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.flags, 0x3e0002);
  for (let i = 0; i < load.nr; i++) {
    assert.ok(load.table[4 * i + 2] + load.table[4 * i + 3] <= 0x40000000n, `segment ${i}`);
  }
});

Deno.test("--load-jump-back-helper --entry: one empty segment, entry, PRESERVE_CONTEXT", async () => {
  const sys = machine();
  assert.equal(await runCli(["--load-jump-back-helper", "--entry=0x9a000"], sys), 0, sys.stderr);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.entry, 0x9a000n);
  assert.equal(load.nr, 1);
  assert.deepEqual([...load.table], [0n, 0n, 0n, 0n]);
  assert.equal(load.flags, 0x3e0002);
});

Deno.test("--load-jump-back-helper takes kexec_jump_back_entry= from /proc/cmdline", async () => {
  const sys = machine({ [PATHS.procCmdline]: "console=ttyS0 kexec_jump_back_entry=0x12345000\n" });
  assert.equal(await runCli(["--load-jump-back-helper"], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_load")[0].entry, 0x12345000n);
});

Deno.test("--load-jump-back-helper refuses without an entry, over a loaded image, or without KEXEC_JUMP", async () => {
  const none = machine();
  // kexec-tools: "Please specify jump back entry in command line", exit 255.
  assert.equal(await runCli(["--load-jump-back-helper"], none), 255);
  assert.match(none.stderr, /needs the address to return to/);
  const loaded = machine({ [PATHS.kexecLoaded]: "1\n" });
  assert.equal(await runCli(["--load-jump-back-helper", "--entry=0x1000"], loaded), 255);
  assert.match(loaded.stderr, /There is kexec kernel loaded/);
  const nojump = machine({}, { probeErrno: Errno.EINVAL });
  assert.equal(await runCli(["--load-jump-back-helper", "--entry=0x1000"], nojump), 255);
  assert.match(nojump.stderr, /CONFIG_KEXEC_JUMP/);
  for (const sys of [none, loaded, nojump]) assert.equal(sys.callsOf("kexec_load").length, 0);
});
