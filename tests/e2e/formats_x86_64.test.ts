/**
 * End-to-end acceptance of issue 11 on x86_64: the test kernel booted from a
 * gzip and a zstd file, from a UKI made by objcopy onto Debian's systemd-stub
 * (embedded command line honoured, --append replacing it), from the ELF
 * vmlinux inside it (auto mode, two initrds and --extra-file), and crash
 * kernels from the UKI (-s -p, as kdumpctl) and from the vmlinux (-p
 * --args-linux, as kdump-config) whose /proc/vmcore makedumpfile reads. One
 * guest boot per Deno.test; samples come from tests/e2e/formats_assets.ts.
 */
import assert from "node:assert/strict";
import { type GuestCase, type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";
import { formatSamples, HELLO, UKI_CMDLINE } from "./formats_assets.ts";

/** Command line for the second kernel: quotes and spaces must arrive byte for byte. */
const KEXEC_APPEND = `console=ttyS0 panic=-1 e2e.fmt="a b" x=1`;
const CRASH_APPEND = "console=ttyS0 panic=-1 irqpoll nr_cpus=1 reset_devices e2e.kdump=1";
const ELFCOREHDR_ARG = /(^| )elfcorehdr=\S+( |$)/;
/** Quiet runs take 30-40 s (boot, loads, second kernel); three times that, capped at 120 s. */
const BOOT_TIMEOUT_MS = 120_000;
/**
 * Crash guests get less RAM: makedumpfile's time grows with the memory it
 * filters (-d 31 walks every page descriptor), and 1.25 GiB still holds the
 * first stage, the vmlinux and a 256 MiB crash region.
 */
const CRASH_GUEST = { kernelArgs: ["crashkernel=256M"], memoryMiB: 1280 };

const guest = {
  gzip: "/e2e/vmlinuz.gz",
  zstd: "/e2e/vmlinuz.zst",
  uki: "/e2e/linux.efi",
  vmlinux: "/e2e/vmlinux",
  bomb: "/e2e/bomb.gz",
  second: "/e2e/second.cpio",
  hello: "/e2e/hello.txt",
  makedumpfile: "/e2e/makedumpfile.cpio",
} as const;

async function boot(
  name: string,
  script: string,
  params: Record<string, string>,
  files: (keyof typeof guest)[],
  extra: Partial<GuestCase> = {},
): Promise<GuestRun> {
  const samples = await formatSamples();
  return runGuestCase({
    name,
    script,
    params,
    timeoutMs: BOOT_TIMEOUT_MS,
    files: files.map((f) => ({ host: samples[f], guest: guest[f] })),
    ...extra,
  });
}

function expectSecondStage(run: GuestRun, cmdline: string): void {
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.ended, true);
  assert.equal(stage2.cmdline, cmdline);
}

function expectBooted(run: GuestRun, load: RegExp): void {
  const s = expectRc(run, "load", 0);
  assert.match(s.err.join("\n"), load, stepInfo(s));
  assert.equal(value(run, "loaded_after"), "1");
  assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
}

Deno.test("e2e x86_64 formats: gzip'd bzImage on -s boots; a bomb after it is refused and loses nothing; no file left", async (t) => {
  const run = await boot("formats-gzip-bomb", "formats-boot.sh", {
    IMAGE: guest.gzip,
    LOAD_FLAGS: "-s",
    EXTRA_ARGS: "",
    KEXEC_APPEND,
    BOMB: guest.bomb,
  }, ["gzip", "bomb"]);
  const check = checker(t, run);
  await check("-d names the layer: gzip-compressed, inflated to the bzImage", (run) => {
    const err = expectRc(run, "load", 0).err.join("\n");
    assert.match(err, /gzip-compressed, 7\.\d MiB, inflated to 7\.\d MiB/, err);
  });
  await check("a 1 KiB bomb: one line, exit 255, the loaded kernel stays loaded", (run) => {
    const bomb = expectRc(run, "bomb", 255);
    assert.equal(bomb.err.length, 1, stepInfo(bomb));
    assert.match(bomb.err[0], /inflates to more than 100 times its .*decompression bomb/);
    assert.equal(value(run, "loaded_after_bomb"), "1");
  });
  await check("no file left in /tmp or / after the loads", (run) => {
    assert.equal(value(run, "files_left"), "none");
  });
  await check(
    "-e then boots the gzip'd kernel loaded before the bomb, with the exact command line",
    (run) => {
      expectBooted(run, /loaded kernel \/e2e\/vmlinuz.gz with kexec_file_load/);
      expectSecondStage(run, KEXEC_APPEND);
    },
  );
});

/** The other three of {gzip, zstd} × {-c, -s}; the bomb case boots gzip on -s. */
const COMPRESSED_BOOTS = [
  ["gzip", "-c", "kexec_load"],
  ["zstd", "-c", "kexec_load"],
  ["zstd", "-s", "kexec_file_load"],
] as const;

Deno.test("e2e x86_64 formats: gzip'd bzImage on -c, zstd on -c and -s, boot", async (t) => {
  for (const [tool, flags, syscall] of COMPRESSED_BOOTS) {
    const run = await boot(`formats-${tool}${flags}`, "formats-boot.sh", {
      IMAGE: guest[tool],
      LOAD_FLAGS: flags,
      EXTRA_ARGS: "",
      KEXEC_APPEND,
    }, [tool]);
    await checker(t, run)(`${tool} on ${flags}: boots with the exact command line`, (run) => {
      expectBooted(run, new RegExp(`with ${syscall}`));
      assert.match(expectRc(run, "load", 0).err.join("\n"), new RegExp(`${tool}-compressed`));
      expectSecondStage(run, KEXEC_APPEND);
    });
  }
});

Deno.test("e2e x86_64 formats: UKI on -c with its embedded command line, .ucode and .initrd before --initrd", async (t) => {
  const run = await boot("formats-uki-c", "formats-boot.sh", {
    IMAGE: guest.uki,
    LOAD_FLAGS: "-c",
    EXTRA_ARGS: "",
    KEXEC_APPEND: "",
  }, ["uki"]);
  const check = checker(t, run);
  await check("-d names the sections used and the embedded command line", (run) => {
    const err = expectRc(run, "load", 0).err.join("\n");
    assert.match(err, /UKI for x86_64, no profiles; sections used: \.linux .*\.cmdline/, err);
    assert.match(err, /command line: the image's embedded one/, err);
  });
  await check("boots with exactly the UKI's .cmdline", (run) => {
    expectBooted(run, /with kexec_load \(initrd .*:\.ucode \+ .*:\.initrd \+ \/e2e\/stage2.cpio/);
    expectSecondStage(run, UKI_CMDLINE);
  });
  await check(
    "the second stage has .ucode's and .initrd's files, unpacked in that order",
    (run) => {
      assert.equal(value(run, "ucode_marker"), "ucode-first");
      assert.equal(value(run, "uki_initrd_marker"), "uki-initrd");
      assert.equal(value(run, "order"), "uki-initrd");
    },
  );
});

Deno.test("e2e x86_64 formats: UKI on -s, --append replaces the embedded command line", async (t) => {
  const run = await boot("formats-uki-s", "formats-boot.sh", {
    IMAGE: guest.uki,
    LOAD_FLAGS: "-s",
    EXTRA_ARGS: "",
    KEXEC_APPEND,
  }, ["uki"]);
  await checker(t, run)("boots through kexec_file_load with the --append text only", (run) => {
    expectBooted(run, /with kexec_file_load/);
    expectSecondStage(run, KEXEC_APPEND);
    assert.equal(value(run, "uki_initrd_marker"), "uki-initrd");
  });
});

Deno.test("e2e x86_64 formats: ELF vmlinux in auto mode with two initrds and --extra-file", async (t) => {
  const run = await boot("formats-vmlinux", "formats-boot.sh", {
    IMAGE: guest.vmlinux,
    LOAD_FLAGS: "--args-linux",
    EXTRA_ARGS: `--initrd=${guest.second} --extra-file=${guest.hello}:/e2e-extra/hello.txt`,
    KEXEC_APPEND,
  }, ["vmlinux", "second", "hello"]);
  const check = checker(t, run);
  await check("auto mode goes to kexec_load without asking kexec_file_load", (run) => {
    const err = expectRc(run, "load", 0).err.join("\n");
    assert.match(err, /kexec_file_load would refuse kernel .*ELF vmlinux.*: using kexec_load/, err);
    assert.doesNotMatch(err, /kexec_file_load\(kernel_fd/, "kexec_file_load was not called");
  });
  await check("boots, with files from both initrds and the --extra-file", (run) => {
    expectBooted(run, /with kexec_load/);
    expectSecondStage(run, KEXEC_APPEND);
    assert.equal(value(run, "second_marker"), "second-initrd");
    assert.equal(value(run, "extra_file"), HELLO);
  });
});

function expectDump(run: GuestRun): void {
  assert.equal(value(run, "triggering_crash"), "yes");
  assert.equal(value(run, "survived_crash"), undefined, "the first kernel survived sysrq-c");
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the crash kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token);
  assert.equal(stage2.vmcore?.osrelease, run.report.stage1?.kernel, "VMCOREINFO OSRELEASE");
  const cmdline = stage2.cmdline ?? "";
  assert.match(cmdline, ELFCOREHDR_ARG);
  assert.equal(cmdline.replace(ELFCOREHDR_ARG, " ").trim(), CRASH_APPEND);
  const errors = run.report.values.get("makedumpfile_err") ?? [];
  assert.equal(value(run, "makedumpfile_rc"), "0", errors.join("\n"));
  assert.ok(Number(value(run, "makedumpfile_bytes")) > 1 << 20, value(run, "makedumpfile_bytes"));
}

Deno.test("e2e x86_64 formats: crash kernel from a UKI (-s -p, as kdumpctl): makedumpfile reads /proc/vmcore", async (t) => {
  const run = await boot(
    "formats-kdump-uki",
    "formats-kdump.sh",
    {
      IMAGE: guest.uki,
      LOAD_FLAGS: "-s",
      EXTRA_ARGS: "",
      CRASH_APPEND,
      MAKEDUMPFILE: guest.makedumpfile,
    },
    ["uki", "makedumpfile"],
    CRASH_GUEST,
  );
  await checker(t, run)(
    "-s -p loads the UKI; sysrq-c boots it; makedumpfile -d 31 exits 0",
    (run) => {
      const load = expectRc(run, "crash_load", 0);
      assert.match(
        load.err.join("\n"),
        /loaded crash kernel .* with kexec_file_load/,
        stepInfo(load),
      );
      assert.equal(value(run, "crash_loaded"), "1");
      expectDump(run);
    },
  );
});

Deno.test("e2e x86_64 formats: crash kernel from an ELF vmlinux (-p --args-linux, as kdump-config): makedumpfile reads /proc/vmcore", async (t) => {
  const run = await boot(
    "formats-kdump-vmlinux",
    "formats-kdump.sh",
    {
      IMAGE: guest.vmlinux,
      LOAD_FLAGS: "",
      EXTRA_ARGS: "--args-linux",
      CRASH_APPEND,
      MAKEDUMPFILE: guest.makedumpfile,
    },
    ["vmlinux", "makedumpfile"],
    CRASH_GUEST,
  );
  await checker(t, run)(
    "-p loads the vmlinux moved into the crash region; makedumpfile -d 31 exits 0",
    (run) => {
      const load = expectRc(run, "crash_load", 0);
      const err = load.err.join("\n");
      assert.match(err, /loaded crash kernel .* with kexec_load/, stepInfo(load));
      assert.match(err, /moved by 0x[0-9a-f]+ from p_paddr 0x1000000/, err);
      expectDump(run);
    },
  );
});
