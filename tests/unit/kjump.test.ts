/** --load-preserve-context, --load-jump-back-helper and -e coming back (kexec jump). */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { JUMP_BACK_SEGMENT_SIZE } from "../../lib/arch/x86_64/jump_back.ts";
import { PURGATORY_KJUMP_ENTRY } from "../../lib/arch/x86_64/purgatory.ts";
import { IOMEM_A, IOMEM_B, kernelA, kernelB, WINDOW } from "../support/kjump_machine.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { KERNEL, machine } from "../support/machine.ts";
import { FakeSystem } from "../support/fake_system.ts";

const WINDOW_ARGS = [
  `--mem-min=0x${WINDOW.min.toString(16)}`,
  `--mem-max=0x${WINDOW.max.toString(16)}`,
];
const LOAD = ["-c", "-l", "--load-preserve-context", ...WINDOW_ARGS, KERNEL];

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
  const sys = kernelA({}, { probeErrno: Errno.EINVAL });
  assert.equal(await runCli(LOAD, sys), 255);
  assert.match(sys.stderr, /built without CONFIG_KEXEC_JUMP/);
  assert.deepEqual(sys.calls, [{ op: "probe_kexec_load_flags", flags: 0x3e0002 }]);
});

Deno.test("--load-preserve-context: kexec_load with PRESERVE_CONTEXT, every segment in the window, entered at the kexec-jump entry", async () => {
  const sys = kernelA();
  assert.equal(await runCli(LOAD, sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.flags, 0x3e0002);
  const segments = Array.from({ length: load.nr }, (_, i) => ({
    bufsz: Number(load.table[4 * i + 1]),
    mem: Number(load.table[4 * i + 2]),
    memsz: Number(load.table[4 * i + 3]),
  }));
  for (const s of segments) {
    assert.ok(s.mem >= WINDOW.min && s.mem + s.memsz <= WINDOW.max + 1, `segment at ${s.mem}`);
  }
  // The entry is the purgatory page's kexec-jump entry, not its first byte.
  const page = segments.find((s) => Number(load.entry) - s.mem === PURGATORY_KJUMP_ENTRY);
  assert.ok(page, `entry 0x${load.entry.toString(16)}`);
  assert.equal(page.bufsz, 4096);
});

Deno.test("--load-preserve-context refuses a window over the running kernel's RAM, before any load", async () => {
  for (
    const window of [
      ["--mem-max=0x6fffffff"], // --mem-min defaults to 0
      ["--mem-min=0x4ff00000", "--mem-max=0x6fffffff"], // the last MiB of A's RAM
      ["--mem-min=0x1000000", "--mem-max=0x2fffffff"],
    ]
  ) {
    const sys = kernelA();
    const argv = ["-c", "-l", "--load-preserve-context", ...window, KERNEL];
    assert.equal(await runCli(argv, sys), 255, window.join(" "));
    // Only the CONFIG_KEXEC_JUMP probe (which loads nothing) came first.
    assert.match(
      sys.stderr,
      /overlaps RAM the running kernel uses \(System RAM 0x(1000-0x9fbff|100000-0x4fffffff) in /,
    );
    assert.match(sys.stderr, /mem=SIZE/);
    assert.deepEqual(sys.calls, [{ op: "probe_kexec_load_flags", flags: 0x3e0002 }]);
  }
});

Deno.test("--load-preserve-context without CONFIG_KEXEC_JUMP says that first, whatever the window", async () => {
  const sys = kernelA({}, { probeErrno: Errno.EINVAL });
  const code = await runCli(["--load-preserve-context", "--mem-max=0x7fffffff", KERNEL], sys);
  assert.equal(code, 255);
  assert.match(sys.stderr, /built without CONFIG_KEXEC_JUMP/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

Deno.test("--load-preserve-context and --load-jump-back-helper on arm64: no kexec jump in Linux, no call", async () => {
  for (
    const argv of [
      ["-c", "--load-preserve-context", ...WINDOW_ARGS, "/boot/Image"],
      ["--load-jump-back-helper", "--entry=0x40000000"],
    ]
  ) {
    const sys = new FakeSystem({ [PATHS.procIomem]: IOMEM_B }, {}, "aarch64");
    assert.equal(await runCli(argv, sys), 255, argv.join(" "));
    assert.match(sys.stderr, /kexec jump is not possible here: Linux has no kexec jump on arm64/);
    assert.deepEqual(sys.calls, []);
  }
});

Deno.test("--load-preserve-context refuses segments above half of the running kernel's RAM (not the firmware's)", async () => {
  // A booted with mem=768M: half of what it owns is 384 MiB, half of the
  // firmware's map 1 GiB. A kernel reserving 448 MiB (init_size) fits the
  // window, but the kernel would refuse it (totalram_pages() counts A's RAM).
  const iomem = IOMEM_A.replace("00100000-4fffffff : System RAM", "00100000-2fffffff : System RAM");
  const sys = kernelA({
    [PATHS.procIomem]: iomem,
    [KERNEL]: syntheticKernel({ initSize: 0x1c00_0000 }),
  });
  assert.equal(await runCli(LOAD, sys), 255, sys.stderr);
  assert.match(sys.stderr, /more than half of the 804908032 bytes of RAM/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  // The same load with the firmware's figure would have gone through.
  const normal = kernelA({
    [PATHS.procIomem]: iomem,
    [KERNEL]: syntheticKernel({ initSize: 0x1c00_0000 }),
  });
  assert.equal(await runCli(["-c", "-l", ...WINDOW_ARGS, KERNEL], normal), 0, normal.stderr);
});

Deno.test("--load-preserve-context without /proc/iomem cannot check the window and says so", async () => {
  const sys = kernelA({ [PATHS.procIomem]: undefined });
  assert.equal(await runCli(LOAD, sys), 255);
  assert.match(sys.stderr, /\/proc\/iomem lists no System RAM/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

Deno.test("-e after a preserve-context load: reboot returns 0 when the image jumps back; exit 0, says so", async () => {
  const sys = kernelA({ [PATHS.kexecLoaded]: "1\n" }, { rebootErrno: 0 });
  assert.equal(await runCli(["-e"], sys), 0, sys.stderr);
  assert.match(sys.stderr, /^kexec: the system came back: the image jumped back to this kernel/m);
  assert.equal(sys.callsOf("reboot").length, 1);
});

Deno.test("--load-jump-back-helper: one 20 KiB segment of code in this kernel's RAM, entered at its start", async () => {
  const sys = kernelB("0x4ffe3c5a");
  assert.equal(await runCli(["--load-jump-back-helper"], sys), 0, sys.stderr);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.nr, 1);
  assert.equal(load.flags, 0x3e0002);
  const [, bufsz, mem, memsz] = [...load.table].map(Number);
  assert.equal(bufsz, 4096);
  assert.equal(memsz, JUMP_BACK_SEGMENT_SIZE);
  // B's highest RAM (/proc/iomem), not the firmware's, which is A's too.
  assert.equal(mem + memsz, 0x7000_0000);
  assert.equal(Number(load.entry), mem);
  assert.match(sys.stderr, /loaded the jump-back helper \(returns to 0x4ffe3c5a\)/);
});

Deno.test("--load-jump-back-helper --entry overrides the command line", async () => {
  const sys = kernelB("0x4ffe3c5a");
  assert.equal(await runCli(["--load-jump-back-helper", "--entry=0x12345000"], sys), 0);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(Number(load.entry), Number(load.table[2]));
  assert.match(sys.stderr, /returns to 0x12345000/);
});

Deno.test("--load-jump-back-helper --dry-run shows the helper and calls nothing", async () => {
  const sys = kernelB("0x4ffe3c5a");
  assert.equal(await runCli(["--load-jump-back-helper", "--dry-run"], sys), 0, sys.stderr);
  assert.deepEqual(sys.calls, []);
  assert.match(sys.stdout, /^returns to 0x4ffe3c5a$/m);
  assert.match(sys.stdout, /^kexec_load\(entry=0x6fffb000, nr_segments=1, flags=0x3e0002 /m);
  assert.match(sys.stdout, /^ {2}jump-back: mem 0x6fffb000, memsz 0x5000$/m);
});

Deno.test("--load-jump-back-helper --dry-run --json: the helper's segment with its sizes", async () => {
  const sys = kernelB("0x4ffe3c5a");
  assert.equal(
    await runCli(["--load-jump-back-helper", "--dry-run", "--json"], sys),
    0,
    sys.stderr,
  );
  assert.deepEqual(sys.calls, []);
  const json = JSON.parse(sys.stdout);
  assert.equal(json.action, "jump-back-helper");
  assert.equal(json.jump_back_entry, 0x4ffe3c5a);
  assert.equal(json.segments.length, 1);
  const [seg] = json.segments;
  assert.deepEqual(Object.keys(seg), ["name", "mem", "memsz", "bufsz"]);
  assert.equal(seg.name, "jump-back");
  assert.equal(seg.mem, 0x6fffb000);
  assert.equal(seg.memsz, 0x5000);
  assert.ok(seg.bufsz > 0 && seg.bufsz <= seg.memsz, String(seg.bufsz));
});

Deno.test("--load-jump-back-helper refuses without an entry, over a loaded image, without KEXEC_JUMP", async () => {
  const none = machine({ [PATHS.procIomem]: IOMEM_B });
  // kexec-tools: "Please specify jump back entry in command line", exit 255.
  assert.equal(await runCli(["--load-jump-back-helper"], none), 255);
  assert.match(none.stderr, /needs the address to return to/);
  const loaded = kernelB("0x4ffe3c5a", { [PATHS.kexecLoaded]: "1\n" });
  assert.equal(await runCli(["--load-jump-back-helper"], loaded), 255);
  assert.match(loaded.stderr, /There is kexec kernel loaded/);
  const nojump = kernelB("0x4ffe3c5a", {}, { probeErrno: Errno.EINVAL });
  assert.equal(await runCli(["--load-jump-back-helper"], nojump), 255);
  assert.match(nojump.stderr, /CONFIG_KEXEC_JUMP/);
  const huge = kernelB("0x10000000000000");
  assert.equal(await runCli(["--load-jump-back-helper"], huge), 255);
  assert.match(huge.stderr, /is not a physical address/);
  for (const sys of [none, loaded, nojump, huge]) assert.equal(sys.callsOf("kexec_load").length, 0);
});
