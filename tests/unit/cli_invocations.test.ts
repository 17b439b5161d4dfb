/**
 * The command lines real programs pass to `kexec`, each with its source
 * (project: file, read in the project's public tree) and the plan kexec-tools
 * 2.0.32 makes of it (kexec/kexec.c main(), x86_64). This tool must make the
 * same plan, or one that differs in a way README.md documents.
 */

import assert from "node:assert/strict";
import { type Invocation, parseInvocation } from "../../lib/cli/invocation.ts";
import { type Difference, DIFFERENCES, planOf } from "../support/plan.ts";

const K = "/boot/vmlinuz-6.1.0-56-amd64";
const I = "/boot/initrd.img-6.1.0-56-amd64";
const README = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));

interface Row {
  /** Project: file the invocation comes from. */
  readonly source: string;
  readonly argv: readonly string[];
  /** What kexec-tools 2.0.32 does (tests/support/plan.ts vocabulary). */
  readonly kexecTools: string;
  /** What this tool does, when it differs, and the README entry that says why. */
  readonly ours?: string;
  readonly why?: Difference;
  /** Fields of the invocation to check besides the plan. */
  readonly fields?: Partial<Invocation>;
  /** A warning that must be printed. */
  readonly warning?: RegExp;
}

const SYNC: { why: Difference } = { why: "sync-before-exec" };

const ROWS: readonly Row[] = [
  {
    source: "systemd: src/systemctl/systemctl-start-special.c load_kexec_kernel()",
    argv: ["--load", K, "--append", "root=/dev/vda1 ro quiet", "--initrd", I],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { kernel: K, commandLine: "root=/dev/vda1 ro quiet", initrds: [I], syscall: "auto" },
  },
  {
    source: "systemd: src/systemctl/systemctl-start-special.c (entry without initrd)",
    argv: ["--load", K, "--append", "root=UUID=abc"],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { initrds: [], commandLine: "root=UUID=abc" },
  },
  {
    source: "systemd: src/shutdown/shutdown.c (systemd-shutdown, LINUX_REBOOT_CMD_KEXEC)",
    argv: ["-e"],
    kexecTools: "guard sync ifdown exec",
  },
  {
    source: "ZFSBootMenu: zfsbootmenu/lib/zfsbootmenu-core.sh kexec_kernel()",
    argv: [
      "-a",
      "-l",
      K,
      `--initrd=${I}`,
      "--command-line=root=zfs:zroot/ROOT/debian spl_hostid=0x00bab10c",
    ],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: {
      commandLine: "root=zfs:zroot/ROOT/debian spl_hostid=0x00bab10c",
      initrds: [I],
      syscall: "auto",
    },
  },
  {
    source: "ZFSBootMenu: zfsbootmenu/lib/zfsbootmenu-core.sh kexec_kernel() (boot)",
    argv: ["-e", "-i"],
    kexecTools: "guard sync ifdown exec",
    fields: { noChecks: true },
  },
  ...["", "-s", "-c"].map((extra): Row => ({
    source: `nixos-images: nix/kexec-installer/kexec-run.sh (--kexec-extra-flags '${extra}')`,
    argv: [
      "--load",
      "/root/kexec/bzImage",
      "--kexec-syscall-auto",
      ...(extra ? [extra] : []),
      "--initrd=/root/kexec/initrd",
      "--no-checks",
      "--command-line",
      "init=/nix/store/abc-nixos/init loglevel=4",
    ],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: {
      kernel: "/root/kexec/bzImage",
      syscall: extra === "-s" ? "file" : extra === "-c" ? "load" : "auto",
      noChecks: true,
      commandLine: "init=/nix/store/abc-nixos/init loglevel=4",
    },
  })),
  {
    source: "nixos-images: nix/kexec-installer/kexec-run.sh (background 'kexec -e EXTRA')",
    argv: ["-e", "-s"],
    kexecTools: "guard sync ifdown exec",
    fields: { syscall: "file" },
  },
  {
    source: "nixpkgs: nixos/modules/installer/netboot/kexec-boot.sh",
    argv: [
      "--load",
      "--kexec-syscall-auto",
      "--initrd=/tmp/k/initrd",
      "--append=init=/nix/store/x/init loglevel=4",
      "--",
      "/tmp/k/kernel",
    ],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { kernel: "/tmp/k/kernel", commandLine: "init=/nix/store/x/init loglevel=4" },
  },
  {
    source: "petitboot: discover/boot.c kexec_load() (with a device tree)",
    argv: ["-l", `--initrd=${I}`, "--dtb=/boot/board.dtb", "--append=root=/dev/sda2", K],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    warning: /--dtb has no effect on x86_64/,
    fields: { kernel: K, commandLine: "root=/dev/sda2" },
  },
  {
    source: "petitboot: discover/boot.c kexec_load() (no boot arguments)",
    argv: ["-l", `--initrd=${I}`, '--append=""', K],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { commandLine: '""' },
  },
  {
    source: "petitboot: discover/boot.c kexec_reboot() (second try)",
    argv: ["-e"],
    kexecTools: "guard sync ifdown exec",
  },
  {
    source: "petitboot: discover/boot.c kexec_reboot() (last resort: -f loads, no kernel given)",
    argv: ["-e", "-f"],
    kexecTools: "exit 255",
  },
  {
    source: "kdump-utils: kdumpctl load_kdump() (standard_kexec_args='-d -p')",
    argv: [
      "-d",
      "-p",
      "--command-line=irqpoll nr_cpus=1 reset_devices",
      "--initrd=/boot/initramfs-6.1kdump.img",
      K,
    ],
    kexecTools: "load(crash)",
    fields: { debug: true, commandLine: "irqpoll nr_cpus=1 reset_devices", syscall: "auto" },
  },
  {
    source: "kdump-utils: kdumpctl load_kdump() (KEXEC_ARGS='-c', Secure Boot appends -s)",
    argv: ["-c", "-s", "-d", "-p", "--command-line=irqpoll", `--initrd=${I}`, K],
    kexecTools: "load(crash)",
    fields: { syscall: "file" },
  },
  {
    source: "kdump-utils: kdumpctl stop_kdump()",
    argv: ["-p", "-u"],
    kexecTools: "unload(crash)",
  },
  {
    source: "kdump-utils: kdumpctl stop_kdump() (Secure Boot)",
    argv: ["-s", "-p", "-u"],
    kexecTools: "unload(crash)",
    fields: { syscall: "file" },
  },
  {
    source: "kdump-utils: dracut/99earlykdump/early-kdump.sh early_kdump_load()",
    argv: [
      "-p",
      "--command-line=irqpoll nr_cpus=1",
      "--initrd=/boot/initramfs-earlykdump",
      "/boot/kernel-earlykdump",
    ],
    kexecTools: "load(crash)",
    fields: { kernel: "/boot/kernel-earlykdump" },
  },
  {
    source: "Debian kdump-tools: debian/kdump-config.in kdump_load() (Secure Boot, " +
      "KDUMP_KEXEC_ARGS='-c -d')",
    argv: ["-p", "-s", "-c", "-d", "--command-line=root=/dev/vda1 irqpoll", `--initrd=${I}`, K],
    kexecTools: "load(crash)",
    fields: { syscall: "load", commandLine: "root=/dev/vda1 irqpoll" },
  },
  {
    source: "Debian kdump-tools: debian/kdump-config.in kdump_load() (ELF kernel)",
    argv: ["-p", "--args-linux", "--command-line=root=/dev/vda1 irqpoll", K],
    kexecTools: "load(crash)",
    // What an ELF vmlinux always gets here: accepted without a word.
    fields: { warnings: [] },
  },
  {
    source: "Debian kdump-tools: debian/kdump-config.in kdump_unload() (Secure Boot)",
    argv: ["-s", "-p", "-u"],
    kexecTools: "unload(crash)",
  },
  {
    source: "SUSE kdump: init/load.sh load_kdump_kexec()",
    argv: [
      "-p",
      K,
      "--append=elevator=deadline sysrq=yes reset_devices irqpoll nr_cpus=1 root=kdump panic=1",
      "--initrd=/boot/initrd-6.1-kdump",
    ],
    kexecTools: "load(crash)",
    fields: { initrds: ["/boot/initrd-6.1-kdump"] },
  },
  {
    source: "LTP: testcases/kernel/security/integrity/ima/tests/ima_kexec.sh (test 1)",
    argv: ["-s", "-l", K, "--reuse-cmdline"],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { reuseCmdline: true, syscall: "file", commandLine: undefined },
  },
  {
    source: "LTP: testcases/kernel/security/integrity/ima/tests/ima_kexec.sh (test 2)",
    argv: ["-s", "-l", K, "--append=foo"],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { commandLine: "foo" },
  },
  {
    source: "LTP: testcases/kernel/security/integrity/ima/tests/ima_kexec.sh (cleanup)",
    argv: ["-su"],
    kexecTools: "unload",
    fields: { syscall: "file" },
  },
  {
    source: "Linux: tools/testing/selftests/kexec/test_kexec_load.sh",
    argv: ["--load", K],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
  },
  {
    source: "Linux: tools/testing/selftests/kexec/test_kexec_load.sh (cleanup)",
    argv: ["--unload"],
    kexecTools: "unload",
  },
  {
    source: "Linux: tools/testing/selftests/kexec/test_kexec_file_load.sh",
    argv: ["--load", "--kexec-file-syscall", K],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { syscall: "file" },
  },
  {
    source: "Linux: tools/testing/selftests/kexec/test_kexec_file_load.sh (cleanup)",
    argv: ["--unload", "--kexec-file-syscall"],
    kexecTools: "unload",
  },
  {
    source: "Linux: tools/testing/selftests/liveupdate/do_kexec.sh",
    argv: ["-l", "-s", "--reuse-cmdline", K, `--initrd=${I}`],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { reuseCmdline: true, initrds: [I] },
  },
  {
    source: "Heads: initrd/bin/kexec-boot (Linux entry)",
    argv: ["-l", K, `--initrd=${I}`, "--append=root=/dev/mapper/root ro"],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
  },
  {
    source: "Heads: initrd/bin/kexec-boot (Xen entry with multiboot modules)",
    argv: [
      "-l",
      "/boot/xen.gz",
      "--command-line",
      "dom0_mem=1G no-real-mode reboot=no vga=current",
      "--module",
      "/boot/vmlinuz root=/dev/sda1",
      "--module",
      `${I}`,
    ],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
    fields: { modules: ["/boot/vmlinuz root=/dev/sda1", I] },
  },
  {
    source: "Heads: initrd/bin/kexec-boot (boot)",
    argv: ["-e"],
    kexecTools: "guard sync ifdown exec",
  },
  {
    source: "op-test: testcases/OpTestKexec.py kexec_load_unload('l')",
    argv: ["-l", K, "--initrd", I, "--append=root=/dev/sda2 quiet"],
    kexecTools: "load sync",
    ours: "load",
    ...SYNC,
  },
  {
    source: "op-test: testcases/OpTestKexec.py kexec_load_unload('u')",
    argv: ["-u"],
    kexecTools: "unload",
  },
  {
    source: "op-test: testcases/OpTestKexec.py kexec_force()",
    argv: ["-f", K, "--initrd", I, "--append=root=/dev/sda2 quiet"],
    kexecTools: "load guard sync ifdown exec",
  },
  {
    source:
      "op-test: testcases/OpTestKexec.py kexec_load_and_exec() (-e cancels -l: bogus options)",
    argv: ["-l", "-e", K, "--initrd", I, "--append=root=/dev/sda2 quiet"],
    kexecTools: "exit 1",
  },
  {
    source: "EVE: pkg/dom0-ztools/rootfs/etc/init.d/000-kexec",
    argv: [
      "-p",
      "--reuse-cmdline",
      "--command-line=irqpoll nr_cpus=1 reset_devices",
      "/boot/kernel",
    ],
    kexecTools: "load(crash)",
    fields: { reuseCmdline: true, commandLine: "irqpoll nr_cpus=1 reset_devices" },
  },
  {
    source: "kexec-tools: kexec/kexec.8 (plain 'kexec KERNEL': load, then shutdown -r now)",
    argv: [K, "--append=root=/dev/hda1"],
    kexecTools: "load guard shutdown sync",
    ours: "load",
    why: "plain-kernel",
    fields: { implicitLoad: true },
  },
];

for (const row of ROWS) {
  Deno.test(`real invocation: ${row.source}: kexec ${row.argv.join(" ")}`, () => {
    const plan = planOf(row.argv);
    assert.equal(plan, row.ours ?? row.kexecTools);
    if (row.ours !== undefined) {
      assert.notEqual(row.ours, row.kexecTools, "a difference that is none");
      assert.ok(row.why, "a difference without its README entry");
    }
    if (row.why) assert.ok(README.includes(DIFFERENCES[row.why]), `README: ${row.why}`);
    if (!plan.startsWith("exit")) {
      const inv = parseInvocation(row.argv, "x86_64");
      for (const [key, value] of Object.entries(row.fields ?? {})) {
        assert.deepEqual(inv[key as keyof Invocation], value, `field ${key}`);
      }
      if (row.warning) {
        assert.ok(inv.warnings.some((w) => row.warning!.test(w)), inv.warnings.join());
      }
    }
  });
}

Deno.test("the table covers every caller the issue names", () => {
  const projects = new Set(ROWS.map((r) => r.source.split(":")[0]));
  for (
    const name of [
      "systemd",
      "ZFSBootMenu",
      "nixos-images",
      "nixpkgs",
      "petitboot",
      "kdump-utils",
      "Debian kdump-tools",
      "SUSE kdump",
      "LTP",
      "Linux",
      "Heads",
      "op-test",
      "EVE",
    ]
  ) assert.ok(projects.has(name), name);
  assert.ok(ROWS.some((r) => r.source.includes("early-kdump")), "early-kdump");
});
