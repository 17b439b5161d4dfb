/**
 * The pure parts of the end-to-end infrastructure: QEMU command lines per
 * architecture and firmware, apt output parsing for foreign-architecture
 * assets, the test kernels' config checks and cache keys, the second-stage
 * archive and its report.
 */
import assert from "node:assert/strict";
import { qemuArgs } from "../e2e/harness/qemu.ts";
import { guestArch } from "../e2e/harness/arch.ts";
import { STAGE2_RESULTS_FILE, stage2Archive } from "../e2e/harness/image.ts";
import { parseReport } from "../e2e/harness/results.ts";
import { aptOptions, dependsFrom, versionsFrom } from "../../scripts/test-assets/apt.ts";
import { denoPlatformPackage, stampText } from "../../scripts/test-assets/foreign_userland.ts";
import {
  cacheKey,
  droppedOptions,
  parseKconfig,
  TEST_KERNELS,
} from "../../scripts/build-test-kernel.ts";
import { parseGuestArch } from "../../scripts/test-assets/common.ts";

const RUN = {
  qemu: "q",
  kernel: "K",
  initrd: "I",
  append: "console=ttyS0 panic=-1",
  memoryMiB: 2048,
  smp: 2,
  timeoutMs: 1000,
  consoleLog: "c.log",
  resultsLog: "r.log",
};

Deno.test("qemuArgs: the x86_64 command line is the one the harness always used", () => {
  assert.deepEqual(qemuArgs(RUN), [
    ...["-accel", "tcg", "-cpu", "max", "-m", "2048", "-smp", "2"],
    ...["-nodefaults", "-no-user-config", "-nographic", "-monitor", "none", "-no-reboot"],
    ...["-serial", "file:c.log", "-serial", "file:r.log"],
    ...["-kernel", "K", "-initrd", "I", "-append", "console=ttyS0 panic=-1"],
  ]);
  assert.deepEqual(qemuArgs({ ...RUN, arch: guestArch("x86_64") }), qemuArgs(RUN));
});

Deno.test("qemuArgs: aarch64 is virt with -cpu max, the PL011 console and a PCI UART for results", () => {
  const args = qemuArgs({ ...RUN, arch: guestArch("aarch64") });
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-machine"), "virt");
  assert.match(after("-cpu"), /^max(,|$)/);
  assert.equal(args.filter((a) => a === "-serial").length, 1, "virt has one UART");
  assert.equal(after("-serial"), "file:c.log");
  assert.equal(after("-chardev"), "file,id=e2e-results,path=r.log");
  assert.equal(after("-device"), "pci-serial,chardev=e2e-results");
  assert.ok(!args.includes("-drive"), "no firmware unless asked");
  assert.equal(guestArch("aarch64").console, "ttyAMA0");
  assert.equal(guestArch("aarch64").resultsPort, "/dev/ttyS0");
});

Deno.test("qemuArgs: UEFI adds the firmware as pflash (code read-only, this run's variables)", () => {
  const args = qemuArgs({
    ...RUN,
    arch: guestArch("aarch64"),
    uefi: { code: "/fw/CODE.fd", vars: "/run/VARS.fd" },
  });
  const drives = args.flatMap((a, i) => a === "-drive" ? [args[i + 1]] : []);
  assert.deepEqual(drives, [
    "if=pflash,format=raw,readonly=on,file=/fw/CODE.fd",
    "if=pflash,format=raw,file=/run/VARS.fd",
  ]);
  assert.ok(args.includes("-kernel"), "the firmware boots QEMU's -kernel");
});

Deno.test("stage2Archive: names its results port; the default stays /dev/ttyS1", () => {
  const text = (port?: string) =>
    new TextDecoder().decode(
      stage2Archive(new Uint8Array(4), "#!/bin/sh\n", "tok", { resultsPort: port }),
    );
  // newc: the name, NUL padding to a multiple of four, then the data.
  const entry = (port: string) => new RegExp(`${STAGE2_RESULTS_FILE.slice(1)}\0+${port}\n`);
  assert.match(text(), entry("/dev/ttyS1"));
  assert.match(text("/dev/ttyS0"), entry("/dev/ttyS0"));
  assert.doesNotMatch(text("/dev/ttyS0"), entry("/dev/ttyS1"));
});

Deno.test("parseReport: makedumpfile's status and messages belong to the second stage", () => {
  const r = parseReport([
    "E2E-MAKEDUMPFILE rc=0", // before any second stage: ignored
    "E2E-STAGE2 token=t kernel=6.12 uptime=1.0",
    "E2E-VMCORE size=10 head=7f454c46",
    "E2E-MAKEDUMPFILE rc=1",
    "E2E-MAKEDUMPFILE-ERR Can't get the address of system_utsname.",
    "E2E-STAGE2-END",
  ].join("\n"));
  assert.deepEqual(r.stage2?.makedumpfile, {
    rc: 1,
    err: ["Can't get the address of system_utsname."],
  });
});

Deno.test("apt: private options for a foreign architecture; none for the host's", () => {
  assert.deepEqual(aptOptions({ arch: "amd64" }), []);
  const o = aptOptions({ arch: "arm64", stateDir: "/c" });
  for (
    const want of [
      "-oAPT::Architecture=arm64",
      "-oAPT::Architectures=arm64",
      "-oDir::State::Lists=/c/lists",
      "-oDir::Cache=/c/cache",
    ]
  ) assert.ok(o.includes(want), want);
  assert.ok(!o.some((x) => x.includes("/var/lib/dpkg")), "dpkg's state is never pointed at");
});

Deno.test("apt: Depends of apt-cache output: first alternatives, no virtual packages", () => {
  const out = [
    "makedumpfile",
    "  Depends: <perl:any>",
    "    perl",
    "  Depends: libc6",
    " |Depends: libdw1",
    "  Depends: libdw1t64",
    "  Recommends: crash",
    "libc6",
    "  Depends: libgcc-s1",
    "  Breaks: busybox",
  ].join("\n");
  const deps = dependsFrom(out);
  assert.deepEqual(deps.get("makedumpfile"), ["libc6", "libdw1"]);
  assert.deepEqual(deps.get("libc6"), ["libgcc-s1"]);
});

Deno.test("apt: candidate versions; the stamp lists them sorted", () => {
  const v = versionsFrom(
    "Package: b\nVersion: 2\nArchitecture: arm64\n\nPackage: a\nVersion: 1:1\n",
  );
  assert.equal(stampText(v), "a=1:1\nb=2\n");
});

Deno.test("npm: deno's glibc package for linux-arm64 is picked from its optionalDependencies", () => {
  const deps = {
    "@deno/win32-arm64": "2.9.6",
    "@deno/linux-x64-glibc": "2.9.6",
    "@deno/linux-arm64-musl": "2.9.6",
    "@deno/linux-arm64-glibc": "2.9.6",
  };
  assert.equal(denoPlatformPackage(deps, "linux-arm64"), "@deno/linux-arm64-glibc");
  assert.equal(denoPlatformPackage(deps, "linux-riscv64"), undefined);
  assert.equal(parseGuestArch("arm64"), "aarch64");
  assert.throws(() => parseGuestArch("riscv64"), /unknown guest architecture/);
});

Deno.test("test kernels: every fragment line is an option or a comment; each kernel asks for its feature", async () => {
  for (const spec of Object.values(TEST_KERNELS)) {
    const options = new Map<string, string>();
    for (const name of spec.fragments) {
      const text = await Deno.readTextFile(new URL(`../e2e/kernels/${name}`, import.meta.url));
      for (const line of text.split("\n")) {
        assert.match(line, /^(#.*|CONFIG_\w+=(y|m|n|\d+|".*")|)$/, `${name}: ${line}`);
      }
      for (const [k, v] of parseKconfig(text)) options.set(k, v);
    }
    const feature = spec.arch === "x86_64" ? "CONFIG_KEXEC_JUMP" : "CONFIG_KEXEC_FILE";
    for (const want of [feature, "CONFIG_KEXEC", "CONFIG_CRASH_DUMP", "CONFIG_PROC_VMCORE"]) {
      assert.equal(options.get(want), "y", `${spec.name}: ${want}`);
    }
  }
});

Deno.test("test kernels: an option Kconfig dropped or changed is reported, one line each", () => {
  const wanted = parseKconfig("CONFIG_A=y\nCONFIG_B=y\nCONFIG_N=64\n# CONFIG_C is not set\n");
  const final = parseKconfig("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=32\nCONFIG_C=y\n");
  assert.deepEqual(droppedOptions(wanted, final), [
    "CONFIG_B=y (got: not set)",
    "CONFIG_N=64 (got: 32)",
    "CONFIG_C=n (got: y)",
  ]);
  assert.deepEqual(droppedOptions(wanted, wanted), []);
});

Deno.test("test kernels: the cache key follows the source version, the architecture and the fragments", async () => {
  const base = await cacheKey("6.12.1-1", "arm64", [["a.config", "CONFIG_A=y\n"]]);
  assert.equal(base, await cacheKey("6.12.1-1", "arm64", [["a.config", "CONFIG_A=y\n"]]));
  for (
    const other of [
      await cacheKey("6.12.2-1", "arm64", [["a.config", "CONFIG_A=y\n"]]),
      await cacheKey("6.12.1-1", "x86_64", [["a.config", "CONFIG_A=y\n"]]),
      await cacheKey("6.12.1-1", "arm64", [["a.config", "CONFIG_A=y\nCONFIG_B=y\n"]]),
      await cacheKey("6.12.1-1", "arm64", [["b.config", "CONFIG_A=y\n"]]),
    ]
  ) assert.notEqual(other, base);
});
