/**
 * Every option of kexec-tools 2.0.32 — KEXEC_OPTIONS (kexec/kexec.h), the x86
 * and arm64 architecture options (kexec/arch/{i386,arm64}/include/arch/options.h)
 * and the loaders' options — is implemented, accepted with a warning that it
 * has no effect on the architecture, or refused naming the reason; the
 * "bogus options" rule of main() holds per architecture; options that end
 * main()'s loop (-h, -v, -?, --print-ckr-size, a bad value) end it where they
 * stand; and no test hook is left in the product.
 */

import assert from "node:assert/strict";
import type { Arch } from "../../lib/abi.ts";
import { architecture } from "../../lib/arch/mod.ts";
import { helpText, manPage } from "../../lib/cli/help.ts";
import { parseInvocation } from "../../lib/cli/invocation.ts";
import { OPTIONS } from "../../lib/cli/options.ts";
import { KexecError } from "../../lib/errors.ts";
import { applyOption, finishOptions, initialState } from "../../lib/cli/state.ts";
import { planOf } from "../support/plan.ts";

const README = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));

const K = "/boot/vmlinuz";

/** kexec-tools' long options: name → takes an argument (struct option has_arg). */
const KEXEC_TOOLS: Record<string, boolean> = {
  // kexec/kexec.h KEXEC_OPTIONS
  "help": false,
  "version": false,
  "force": false,
  "no-checks": false,
  "no-ifdown": false,
  "no-sync": false,
  "load": false,
  "unload": false,
  "exec": false,
  "exec-live-update": false,
  "load-preserve-context": false,
  "load-jump-back-helper": false,
  "load-live-update": false,
  "entry": true,
  "type": true,
  "load-panic": false,
  "mem-min": true,
  "mem-max": true,
  "reuseinitrd": false,
  "kexec-file-syscall": false,
  "kexec-syscall": false,
  "kexec-syscall-auto": false,
  "debug": false,
  "status": false,
  "print-ckr-size": false,
  "hotplug": false,
  "no-cma": false,
  "force-dtb": false,
  // kexec/arch/i386/include/arch/options.h (x86 and loaders)
  "reset-vga": false,
  "serial": true,
  "serial-baud": true,
  "console-vga": false,
  "console-serial": false,
  "elf32-core-headers": false,
  "elf64-core-headers": false,
  "pass-memmap-cmdline": false,
  "noefi": false,
  "reuse-video-type": false,
  "command-line": true,
  "append": true,
  "reuse-cmdline": false,
  "initrd": true,
  "ramdisk": true,
  "args-elf": false,
  "args-linux": false,
  "args-none": false,
  "module": true,
  "real-mode": false,
  "entry-32bit": false,
  "dtb": true,
};
/** kexec/kexec.h KEXEC_OPT_STR: "h?vdfixyluet:pscaS". */
const SHORT = "h?vdfixyluet:pscaS";

function spec(long: string) {
  return OPTIONS.find((o) => o.long.includes(long));
}

Deno.test("every kexec-tools option is in the table, taking a value exactly when kexec-tools does", () => {
  for (const [long, hasArg] of Object.entries(KEXEC_TOOLS)) {
    const row = spec(long);
    assert.ok(row, `--${long} missing`);
    assert.equal(row.value !== undefined, hasArg, `--${long} argument`);
  }
  for (const letter of SHORT.replace(":", "")) {
    const row = OPTIONS.find((o) => o.short === letter);
    assert.ok(row, `-${letter} missing`);
    assert.equal(row.value !== undefined, SHORT.includes(`${letter}:`), `-${letter} argument`);
  }
});

const IMPLEMENTED_ELSEWHERE = new Set(["hotplug", "unsupported"]);

for (const arch of ["x86_64", "aarch64"] as Arch[]) {
  Deno.test(`${arch}: each kexec-tools option is implemented, warned about, or refused with a reason`, () => {
    for (const [long, hasArg] of Object.entries(KEXEC_TOOLS)) {
      const row = spec(long)!;
      if (row.id !== "compat" && !IMPLEMENTED_ELSEWHERE.has(row.id)) continue;
      const option = hasArg ? `--${long}=x` : `--${long}`;
      const argv = ["-l", K, option];
      let warnings: readonly string[] = [];
      try {
        warnings = parseInvocation(argv, arch).warnings;
      } catch (e) {
        assert.ok(e instanceof KexecError, String(e));
        assert.match(e.message, new RegExp(`--${long}`), e.message);
        assert.ok(e.hint && e.hint.length > 10, `--${long}: refused without a reason`);
        continue;
      }
      const warning = warnings.find((w) => w.includes(`--${long}`));
      assert.ok(warning, `--${long}: neither refused nor warned about on ${arch}`);
      assert.match(warning, /has no effect/);
    }
  });
}

Deno.test("--dtb on x86_64 is accepted with a warning that it has no effect there", () => {
  const inv = parseInvocation(["-l", K, "--dtb=/boot/board.dtb", "--append=x"], "x86_64");
  assert.deepEqual(inv.steps.map((s) => s.kind), ["load"]);
  assert.ok(inv.warnings.some((w) => /--dtb has no effect on x86_64: .*arm64 uses --dtb/.test(w)));
});

Deno.test("x86_64: options numbered at or above OPT_ARCH_MAX are bogus without a load (exit 1)", () => {
  const { cli } = architecture("x86_64");
  for (const long of cli.loadOnly) {
    const option = KEXEC_TOOLS[long] ? `--${long}=x` : `--${long}`;
    for (const action of [["-u"], ["-e"], ["-S"], ["-l", "-e", K]]) {
      assert.equal(planOf([...action, option], "x86_64"), "exit 1", `${action} ${option}`);
    }
    assert.notEqual(planOf(["-u", option], "aarch64"), "exit 1", `aarch64 -u ${option}`);
  }
  // Architecture options numbered below OPT_ARCH_MAX are fine without a load.
  for (const option of ["--reset-vga", "--serial=ttyS0", "--elf64-core-headers", "-i", "-d"]) {
    assert.equal(planOf(["-u", option], "x86_64"), "unload", option);
  }
  assert.equal(planOf(["-e", "--initrd=/i"], "aarch64"), "guard sync ifdown exec");
});

Deno.test("-h, -v, -?, --print-ckr-size and bad values end the option loop where they stand", () => {
  const cases: [string[], string][] = [
    [["-h", "--bogus"], "help"],
    [["--bogus", "-h"], "exit 1"],
    [["-v", "--mem-min=abc"], "version"],
    [["--mem-min=abc", "-v"], "exit 1"],
    [["-l", K, "--print-ckr-size"], "print-ckr-size"],
    [["-?"], "help exit 1"],
    [["-l", K, "-?", "-h"], "help exit 1"],
    [["--entry=zz", "-h"], "exit 1"],
    [[], "exit 255"],
    [["-d", "-x"], "exit 255"],
  ];
  for (const [argv, plan] of cases) assert.equal(planOf(argv), plan, argv.join(" "));
});

Deno.test("-S: kexec-tools asks about the normal image after -d; this tool about the crash image", () => {
  const tools = initialState();
  applyOption(tools, "debug");
  applyOption(tools, "status");
  assert.equal(finishOptions(tools), "normal");
  assert.equal(planOf(["-d", "-S"]), "status(crash)");
  assert.equal(planOf(["-S", "-l", "-d"]), "status(normal)");
  assert.ok(README.includes("`-d -S` checks the same image as"));
});

Deno.test("no test hook in --help, the man page, the option table or lib/", async () => {
  const help = helpText();
  const man = manPage();
  for (const text of [help, man]) assert.doesNotMatch(text, /corrupt|test[- ]hook|testing only/i);
  assert.ok(!OPTIONS.some((o) => /test|corrupt/.test(o.long.join(" "))));
  const lib = new URL("../../lib/", import.meta.url).pathname;
  for (const path of walk(lib)) {
    const text = Deno.readTextFileSync(path);
    assert.doesNotMatch(text, /corrupt-segment|testCorruptSegment|corruptSegment/, path);
  }
  const mod = await import("../../lib/mod.ts");
  assert.ok(!Object.keys(mod).some((k) => /corrupt|test/i.test(k)), Object.keys(mod).join());
});

function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) yield* walk(`${path}/`);
    else if (path.endsWith(".ts")) yield path;
  }
}
