/**
 * End-to-end acceptance of kexec jump (issue 14) on x86_64: one guest on the
 * test kernel with CONFIG_KEXEC_JUMP (scripts/build-test-kernel.ts). Kernel A
 * (mem=1280M) loads kernel B with --load-preserve-context into the window
 * 0x50000000-0x6fffffff and jumps; B (memmap=exactmap: the low 640K and the
 * window) gets kexec_jump_back_entry= on its command line, loads the
 * jump-back helper with this tool and jumps back; A's kexec -e returns and A
 * carries on. Before that, a refused window and a corrupted image whose
 * purgatory returns to A. Scripts: cases/kjump.sh, cases/kjump.stage2.sh.
 */
import assert from "node:assert/strict";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { prepareGuest } from "./harness/prepare.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";
import { defaultCacheDir } from "../../scripts/fetch-test-assets.ts";
import { writeArchive } from "../../scripts/mkinitramfs.ts";

const MEM_MIN = 0x5000_0000;
const MEM_MAX = 0x6fff_ffff;
/** B's memory: the low 640K (the kernel wants real-mode memory) and the window. */
const KEXEC_APPEND = "console=ttyS0 panic=-1 nr_cpus=1 memmap=exactmap memmap=640K@0 " +
  "memmap=512M@0x50000000";
/** Where stage2-init.sh looks for a case's second-stage hook. */
const STAGE2_HOOK_GUEST = "/e2e-stage2-case.sh";
const STAGE2_HOOK = new URL("./cases/kjump.stage2.sh", import.meta.url);
/**
 * The harness's maximum. A quiet run is about 30 s (QEMU's CPU time for the
 * whole guest; 53 s wall on a machine with a load average of 6), so this is
 * 4x that.
 */
const TIMEOUT_MS = 120_000;
/** The purgatory's failure line (lib/arch/x86_64/purgatory.S). */
const MISMATCH_LINE =
  /purgatory: sha256 mismatch in region \d+ \(mem 0x[0-9a-f]+, len 0x[0-9a-f]+\)/;
const CAME_BACK = /^kexec: the system came back: the image jumped back to this kernel/m;

async function runKjump(): Promise<GuestRun> {
  // B's initrd starts with the first stage's base archive: busybox, deno and the tool.
  const ready = await prepareGuest("x86_64", "test", true);
  await Deno.mkdir(`${defaultCacheDir()}/tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${defaultCacheDir()}/tmp`, prefix: "kjump-" });
  try {
    const bPart = `${dir}/b-part.cpio`;
    await writeArchive([
      { type: "file", path: STAGE2_HOOK_GUEST, data: await Deno.readFile(STAGE2_HOOK) },
    ], bPart);
    return await runGuestCase({
      name: "kjump",
      script: "kjump.sh",
      kernel: "test",
      // nr_cpus=1: A and B share the low 640K, where the kernel keeps its
      // real-mode trampoline for starting CPUs; A could not restart a second
      // CPU through a trampoline B overwrote.
      kernelArgs: ["mem=1280M", "nr_cpus=1"],
      params: {
        BASE: "/e2e/base.cpio",
        B_PART: "/e2e/kjump-b.cpio",
        KEXEC_APPEND,
        MEM_MIN: `0x${MEM_MIN.toString(16)}`,
        MEM_MAX: `0x${MEM_MAX.toString(16)}`,
      },
      files: [
        { host: ready.base, guest: "/e2e/base.cpio" },
        { host: bPart, guest: "/e2e/kjump-b.cpio" },
      ],
      timeoutMs: TIMEOUT_MS,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("e2e x86_64: kexec jump there and back again (test kernel, KEXEC_JUMP)", async (t) => {
  const run = await runKjump();
  const check = checker(t, run);
  await check("a window over the running kernel's memory is refused before any load", (run) => {
    const s = expectRc(run, "refuse_window", 255);
    assert.match(s.err.join("\n"), /overlaps RAM the running kernel uses/, stepInfo(s));
    assert.equal(value(run, "loaded_after_refusal"), "0");
  });
  await check(
    "a corrupted image: the purgatory reports the mismatch and returns to A; exit 0",
    (run) => {
      const corrupt = expectRc(run, "corrupt", 0);
      const err = corrupt.err.join("\n");
      assert.match(err, /passed with byte \d+ flipped after its digest/, stepInfo(corrupt));
      assert.match(err, CAME_BACK, stepInfo(corrupt));
      assert.match(run.qemu.console, MISMATCH_LINE);
      // B never ran then: its token appears only after the real jump.
      const corruptPart = run.qemu.console.slice(0, run.qemu.console.indexOf("after_corrupt="));
      assert.ok(!corruptPart.includes(run.stage2Token), "B ran from the corrupted image");
    },
  );
  await check("A loads B with KEXEC_PRESERVE_CONTEXT into the window", (run) => {
    const load = expectRc(run, "load", 0);
    const err = load.err.join("\n");
    assert.match(err, /flags=0x3e0002\)/, stepInfo(load));
    assert.match(err, /kexec jump: entry 0x[0-9a-f]+ /);
    assert.equal(value(run, "loaded_after_load"), "1");
  });
  await check("B boots with exactly A's --append plus kexec_jump_back_entry=", (run) => {
    const stage2 = run.report.stage2;
    assert.ok(stage2, "B never reported (did the jump reach it?)");
    assert.equal(stage2.token, run.stage2Token);
    const m = /^(.*) kexec_jump_back_entry=0x([0-9a-f]+)$/.exec(stage2.cmdline ?? "");
    assert.ok(m, `B's command line: ${stage2.cmdline}`);
    assert.equal(m[1], KEXEC_APPEND);
    assert.equal(stage2.kernel, run.report.stage1?.kernel);
    // B owns only what memmap= gave it: every System RAM range of its
    // /proc/iomem lies in the low 640K or in the window.
    const ram = [...(value(run, "b_ram") ?? "").matchAll(/([0-9a-f]+)-([0-9a-f]+) : System RAM/g)]
      .map((m) => [parseInt(m[1], 16), parseInt(m[2], 16)]);
    assert.ok(ram.some(([a, b]) => a >= MEM_MIN && b <= MEM_MAX), value(run, "b_ram"));
    for (const [a, b] of ram) {
      assert.ok(
        b < 0xa0000 || (a >= MEM_MIN && b <= MEM_MAX),
        `B owns ${a.toString(16)}-${b.toString(16)}`,
      );
    }
  });
  await check("B loads the jump-back helper with this tool and kexec -e leaves B", (run) => {
    const helper = expectRc(run, "b_helper", 0);
    const entry = /kexec_jump_back_entry=(0x[0-9a-f]+)/.exec(run.report.stage2?.cmdline ?? "")?.[1];
    assert.ok(entry);
    assert.match(helper.err.join("\n"), new RegExp(`returns to ${entry}\\)`), stepInfo(helper));
    assert.equal(value(run, "b_loaded"), "1");
    assert.equal(value(run, "b_exec_returned"), undefined, "B's kexec -e returned in B");
    assert.ok(value(run, "b_exec"), "B never reached its kexec -e");
  });
  await check(
    "A continues after its kexec -e: exit 0, 'came back', its state and command line",
    (run) => {
      const exec = expectRc(run, "exec", 0);
      assert.match(exec.err.join("\n"), CAME_BACK, stepInfo(exec));
      const back = value(run, "kjump_back");
      assert.ok(back, "no marker after the jump back");
      assert.match(back, new RegExp(`state=${run.stage1Token}$`));
      assert.ok(
        Number(back.split(" ")[0]) > Number(value(run, "before_exec")),
        "A's clock went on",
      );
      assert.equal(value(run, "a_cmdline"), run.append);
      assert.equal(value(run, "loaded_after_back"), "1");
      assert.equal(run.report.stage1Ended, true);
      // The marker comes after B's lines: A really ran again after B.
      const lines = run.report.lines;
      const bLine = lines.findIndex((l) => l.startsWith("E2E-VALUE b_exec="));
      const aLine = lines.findIndex((l) => l.startsWith("E2E-VALUE kjump_back="));
      assert.ok(bLine >= 0 && aLine > bLine, "A's marker before B's kexec -e");
    },
  );
});
