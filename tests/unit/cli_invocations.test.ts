/**
 * Argument parsing over real invocations of kexec-tools, collected from
 * systemd, ZFSBootMenu, nixos-images, NixOS, petitboot, kdumpctl, kdump-tools,
 * Debian's init scripts and the kexec-tools man page (cli-compat.md §8).
 */

import assert from "node:assert/strict";
import { type Invocation, parseInvocation } from "../../lib/cli/invocation.ts";
import { KexecError } from "../../lib/errors.ts";

type Expect = Partial<Invocation>;

const K = "/boot/vmlinuz-6.1.0-56-amd64";
const I = "/boot/initrd.img-6.1.0-56-amd64";

const CASES: [string, string[], Expect][] = [
  // systemd: systemctl kexec (separate words, no '=')
  ["systemd systemctl kexec", ["--load", K, "--append", "root=/dev/vda1 ro quiet", "--initrd", I], {
    action: "load",
    kernel: K,
    commandLine: "root=/dev/vda1 ro quiet",
    initrds: [I],
    syscall: "auto",
  }],
  ["systemd without initrd", ["--load", K, "--append", "root=UUID=abc"], {
    action: "load",
    initrds: [],
    commandLine: "root=UUID=abc",
  }],
  ["systemd-shutdown", ["-e"], { action: "exec", noSync: false, noIfdown: false }],
  ["old systemd-shutdown", ["-e", "-f", "-x"], { action: "exec", noIfdown: true }],
  // ZFSBootMenu
  ["zfsbootmenu load", [
    "-l",
    K,
    `--initrd=${I}`,
    "--command-line=root=zfs:zroot/ROOT/debian spl_hostid=0x00bab10c",
  ], {
    action: "load",
    commandLine: "root=zfs:zroot/ROOT/debian spl_hostid=0x00bab10c",
    initrds: [I],
  }],
  ["zfsbootmenu hook auto", ["-a", "-l", K, `--initrd=${I}`, "--command-line=quiet"], {
    action: "load",
    syscall: "auto",
  }],
  ["zfsbootmenu exec", ["-e", "-i"], { action: "exec", noChecks: true }],
  // nixos-images kexec-installer
  ["nixos-images load", [
    "--load",
    "/root/kexec/bzImage",
    "--kexec-syscall-auto",
    "--initrd=/root/kexec/initrd",
    "--no-checks",
    "--command-line",
    "init=/nix/store/abc-nixos/init loglevel=4",
  ], {
    action: "load",
    kernel: "/root/kexec/bzImage",
    syscall: "auto",
    noChecks: true,
    commandLine: "init=/nix/store/abc-nixos/init loglevel=4",
  }],
  ["nixos-images exec with EXTRA", ["-e", "--kexec-syscall-auto"], { action: "exec" }],
  ["nixos-images exec with -s EXTRA", ["-e", "-s"], { action: "exec", syscall: "file" }],
  // NixOS configs and tests
  ["nixos kexec --load", [
    "--load",
    "/run/current-system/kernel",
    "--initrd=/run/current-system/initrd",
    '--append=init=/nix/store/x/init loglevel=4 "quoted arg"',
  ], { action: "load", commandLine: 'init=/nix/store/x/init loglevel=4 "quoted arg"' }],
  ["nixpkgs test reuse", ["--load", K, "--initrd", I, "--command-line", "console=ttyS0 x"], {
    action: "load",
    commandLine: "console=ttyS0 x",
  }],
  // petitboot
  ["petitboot", ["-l", "--debug", `--initrd=${I}`, "--append=", K], {
    action: "load",
    debug: true,
    commandLine: "",
  }],
  ["petitboot -s retry", ["-l", "-s", `--initrd=${I}`, '--append=""', K], {
    action: "load",
    syscall: "file",
    commandLine: '""',
  }],
  ["petitboot last resort", ["-e", "-f"], { action: "exec" }],
  // kdumpctl (RHEL family)
  ["kdumpctl load", [
    "-d",
    "-p",
    "--command-line=irqpoll nr_cpus=1 reset_devices",
    "--initrd=/var/lib/kdump/initramfs-6.1.img",
    K,
  ], { action: "load", crash: true, debug: true, commandLine: "irqpoll nr_cpus=1 reset_devices" }],
  ["kdumpctl secure boot", ["-s", "-d", "-p", "--command-line=irqpoll", `--initrd=${I}`, K], {
    action: "load",
    crash: true,
    syscall: "file",
  }],
  ["kdumpctl early kdump", ["-p", "--command-line=irqpoll", `--initrd=${I}`, K], {
    action: "load",
    crash: true,
    syscall: "auto",
  }],
  ["kdumpctl stop", ["-p", "-u"], { action: "unload", crash: true }],
  ["kdumpctl hotplug doc", ["-p", "-d", "-s", K], { action: "load", crash: true, syscall: "file" }],
  // kdump-tools (Debian/Ubuntu)
  ["kdump-tools -c -d", ["-p", "-c", "-d", "--command-line=root=/dev/vda1 irqpoll", K], {
    action: "load",
    crash: true,
    syscall: "load",
  }],
  ["kdump-tools elf64 headers", ["-p", "--elf64-core-headers", "--command-line=x", K], {
    action: "load",
    crash: true,
  }],
  ["kdump-tools unload", ["-p", "-u"], { action: "unload", crash: true }],
  // Debian kexec-tools init script
  ["debian init script", ["-l", K, `--initrd=${I}`, "--append=root=/dev/sda1 ro"], {
    action: "load",
    commandLine: "root=/dev/sda1 ro",
  }],
  // kexec-tools man page
  ["man -l --append", ["-l", K, "--append=root=/dev/hda1"], { action: "load" }],
  ["man --reuse-cmdline", ["-l", K, "--reuse-cmdline"], { action: "load", reuseCmdline: true }],
  ["man -p", ["-p", K, "--append=root=/dev/hda1 irqpoll maxcpus=1 reset_devices"], {
    action: "load",
    crash: true,
  }],
  ["man -u", ["-u"], { action: "unload", crash: false }],
  ["man -f", ["-f", K], { action: "load-exec", kernel: K }],
  ["man -S", ["-S"], { action: "status", statusImage: "crash" }],
  ["man -S -l", ["-S", "-l"], { action: "status", statusImage: "normal" }],
  ["-d does not change -S", ["-d", "-S"], { action: "status", statusImage: "crash" }],
  ["man -t", ["-t", "bzImage64", "-l", K], { action: "load", type: "bzImage64" }],
  ["-tTYPE attached", ["-tbzImage", "-l", K], { type: "bzImage" }],
  ["mem-min/max", ["-c", "-l", K, "--mem-min=0x1000000", "--mem-max", "0x7fffffff"], {
    memMin: 0x1000000,
    memMax: 0x7fffffff,
  }],
  ["clustered short flags", ["-lxy", K], { action: "load", noIfdown: true, noSync: true }],
  ["options after kernel", ["-l", K, "--ramdisk", I, "--command-line=a"], { initrds: [I] }],
  ["unique prefix", ["-l", K, "--comm=quiet"], { commandLine: "quiet" }],
  ["last --append wins", ["-l", K, "--append=one", "--command-line=two"], {
    commandLine: "two",
  }],
  ["every --initrd kept", ["-l", K, "--initrd=/a", "--initrd=/b"], { initrds: ["/a", "/b"] }],
  ["-- ends options", ["-l", "--", "-weird-kernel-name"], { kernel: "-weird-kernel-name" }],
  ["-u -p works too", ["-u", "-p"], { action: "unload", crash: true }],
  ["-l -e loads then boots", ["-l", "-e", K], { action: "load-exec" }],
  ["plain kexec KERNEL", [K, "--append=x"], { action: "load", implicitLoad: true }],
  ["--dry-run --json", ["-l", K, "--dry-run", "--json"], { dryRun: true, json: true }],
  ["--help", ["--help"], { action: "help", helpExitCode: 0 }],
  ["-?", ["-?"], { action: "help", helpExitCode: 1 }],
  ["-v", ["-v"], { action: "version" }],
  ["--print-ckr-size", ["--print-ckr-size"], { action: "print-ckr-size" }],
  ["sync timeout", ["-e", "--sync-timeout=2.5"], { syncTimeoutMs: 2500 }],
];

for (const [name, argv, expected] of CASES) {
  Deno.test(`invocation: ${name}: kexec ${argv.join(" ")}`, () => {
    const inv = parseInvocation(argv);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(inv[key as keyof Invocation], value, `field ${key}`);
    }
  });
}

Deno.test("invocation table has at least 30 real invocations", () => {
  assert.ok(CASES.length >= 30);
});

const BAD: [string, string[], RegExp][] = [
  ["unknown option", ["--foo"], /unrecognized option '--foo'/],
  ["unknown short", ["-z"], /invalid option -- 'z'/],
  ["ambiguous prefix", ["--re", K], /ambiguous/],
  ["-l with -u", ["-l", "-u", K], /conflicting options/],
  ["-s with -c", ["-s", "-c", "-l", K], /conflicting options -s and -c/],
  ["-p with -e", ["-p", "-e"], /conflicting options/],
  ["mem-min garbage", ["-l", K, "--mem-min=abc"], /--mem-min: 'abc' is not a number/],
  ["mem-min negative", ["-l", K, "--mem-min=-1"], /negative/],
  ["mem-max overflow", ["-l", K, "--mem-max=0xffffffffffffffffff"], /too large/],
  ["min above max", ["-l", K, "--mem-min=0x2000", "--mem-max=0x1000"], /above --mem-max/],
  ["missing value", ["-l", K, "--initrd"], /requires an argument/],
  ["value on flag", ["--load=x"], /doesn't allow an argument/],
  ["no kernel for -l", ["-l"], /No kernel specified/],
  ["no kernel for -p", ["-p", "--append=x"], /No kernel specified/],
  ["nothing to do", [], /nothing to do/],
  ["unsupported real mode", ["-l", K, "--real-mode"], /not supported/],
  ["empty initrd name", ["-l", K, "--initrd="], /needs a file name/],
  ["bad sync timeout", ["-e", "--sync-timeout=soon"], /not a positive number/],
];

for (const [name, argv, pattern] of BAD) {
  Deno.test(`invocation refused: ${name}`, () => {
    assert.throws(() => parseInvocation(argv), (e: unknown) => {
      assert.ok(e instanceof KexecError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  });
}

Deno.test("ignored kexec-tools options produce a warning", () => {
  const inv = parseInvocation(["-p", "--elf64-core-headers", K]);
  assert.equal(inv.warnings.length, 1);
  assert.match(inv.warnings[0], /--elf64-core-headers has no effect/);
});

Deno.test("kernel arguments split on ASCII white space only, like the kernel", async () => {
  const { splitKernelArgs } = await import("../../lib/cmdline.ts");
  assert.deepEqual(splitKernelArgs("a\u00a0b c\td"), ["a\u00a0b", "c", "d"]);
});
