/**
 * The command line as bytes: `--reuse-cmdline` exactly as kexec-tools'
 * get_command_line() and remove_parameter() (kexec/kexec.c) make it, joined
 * with `--append` as concat_cmdline() does, and any byte the caller passes
 * (UTF-8 or not) reaching the kernel unchanged.
 */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { encodeCmdline } from "../../lib/arch/x86_64/cmdline.ts";
import { rawArgs } from "../../lib/cli/argv.ts";
import { runCli } from "../../lib/cli/run.ts";
import { cmdlineBytes, removeParameter, resolveCmdline, reuseCmdline } from "../../lib/cmdline.ts";
import { decodeRaw, encodeRaw } from "../../lib/raw_text.ts";
import { KERNEL, machine } from "../support/machine.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** /proc/cmdline (as bytes, one char per byte), -p, and what kexec-tools passes. */
const REUSE: [string, string, boolean, string][] = [
  [
    "BOOT_IMAGE= cut through the next space; initrd= and double spaces kept",
    "BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda ro initrd=/initrd.img  quiet\n",
    false,
    "root=/dev/vda ro initrd=/initrd.img  quiet",
  ],
  [
    "-p: every crashkernel= (high and low) cut",
    "BOOT_IMAGE=/k crashkernel=1G,high crashkernel=256M,low root=/dev/vda\n",
    true,
    "root=/dev/vda",
  ],
  ["crashkernel= kept without -p", "crashkernel=256M root=x\n", false, "crashkernel=256M root=x"],
  [
    "last parameter: cut to the end, the space before kept",
    "root=x BOOT_IMAGE=/k\n",
    false,
    "root=x ",
  ],
  ["a space after the cut one stays", "BOOT_IMAGE=/k  root=x\n", false, " root=x"],
  [
    "a first match inside a word stops the removal",
    "xBOOT_IMAGE=1 BOOT_IMAGE=/k root=x\n",
    false,
    "xBOOT_IMAGE=1 BOOT_IMAGE=/k root=x",
  ],
  ["the name is a prefix match", "BOOT_IMAGEX=1 root=x\n", false, "root=x"],
  [
    "quotes do not protect: cut at the first space",
    'BOOT_IMAGE="/a b" root=x\n',
    false,
    'b" root=x',
  ],
  ["a tab before the name counts as a separator", "a\tBOOT_IMAGE=/k b\n", false, "a\tb"],
  ["cut at the first CR or LF", "root=x\r\nfoo\n", false, "root=x"],
  ["the last byte goes whatever it is", "root=x", false, "root="],
  ["bytes that are not UTF-8 are kept", "BOOT_IMAGE=/k x=\xff\xfe  y\n", false, "x=\xff\xfe  y"],
];

for (const [name, proc, crash, expected] of REUSE) {
  Deno.test(`--reuse-cmdline as kexec-tools: ${name}`, () => {
    const line = reuseCmdline(bytes(proc), crash);
    assert.equal(hex(encodeRaw(line)), hex(bytes(expected)));
  });
}

Deno.test("remove_parameter: repeats while the next match starts a word", () => {
  assert.equal(removeParameter("a=1 a=2 b a=3", "a="), "b ");
  assert.equal(removeParameter("a=1 ba=2 a=3", "a="), "ba=2 a=3");
});

Deno.test("concat_cmdline: reused line, one space, --append text (even an empty one)", () => {
  const proc = bytes("BOOT_IMAGE=/k root=x\n");
  const r = (commandLine: string | undefined, reuse: boolean) =>
    resolveCmdline({ commandLine, reuse, procCmdline: proc, crash: false });
  assert.equal(r("single", true), "root=x single");
  assert.equal(r("", true), "root=x ");
  assert.equal(r(undefined, true), "root=x");
  assert.equal(r("single", false), "single");
  assert.equal(r(undefined, false), "");
  assert.throws(
    () => resolveCmdline({ reuse: true, procCmdline: undefined, crash: false }),
    /Failed to read \/proc\/cmdline/,
  );
});

Deno.test("raw strings carry every byte; valid UTF-8 is plain text", () => {
  for (let b = 0; b < 256; b++) {
    const one = new Uint8Array([0x61, b, 0x62]);
    assert.equal(hex(encodeRaw(decodeRaw(one))), hex(one));
  }
  assert.equal(decodeRaw(new TextEncoder().encode("é ü 😀")), "é ü 😀");
  assert.equal(hex(cmdlineBytes("x=\udcff")), "78 3d ff 00");
  assert.equal(hex(encodeCmdline("x=\udcff", 2048, "/k")), "78 3d ff 00");
});

/** A process's argv as the kernel keeps it: NUL-terminated words. */
const procArgv = (...words: Uint8Array[]) => {
  const out: number[] = [];
  for (const w of words) out.push(...w, 0);
  return Uint8Array.from(out);
};

Deno.test("argv: a word that is not UTF-8 is read back from /proc/self/cmdline", () => {
  const append = bytes("--append=quiet e2e.byte=\xff");
  const proc = procArgv(bytes("deno"), bytes("run"), bytes("kexec.js"), bytes("-l"), append);
  const shown = ["-l", new TextDecoder().decode(append)];
  assert.ok(shown[1].includes("\ufffd"), "Deno shows U+FFFD");
  const args = rawArgs(shown, () => proc);
  assert.equal(hex(encodeRaw(args[1])), hex(append));
  // Not read at all when every word is valid UTF-8.
  assert.deepEqual(rawArgs(["-l", "x"], () => assert.fail("read /proc/self/cmdline")), ["-l", "x"]);
  // Kept as Deno showed it when /proc/self/cmdline does not match.
  assert.deepEqual(rawArgs(shown, () => procArgv(bytes("other"))), shown);
  assert.deepEqual(rawArgs(shown, () => undefined), shown);
});

Deno.test("--append with a byte 0xff reaches kexec_file_load unchanged", async () => {
  const sys = machine();
  const code = await runCli(["-s", "-l", KERNEL, "--append=quiet e2e.byte=\udcff"], sys);
  assert.equal(code, 0, sys.stderr);
  const [call] = sys.callsOf("kexec_file_load");
  assert.equal(hex(call.cmdline!), hex(bytes("quiet e2e.byte=\xff\0")));
});

Deno.test("--reuse-cmdline passes /proc/cmdline's bytes as kexec-tools would", async () => {
  const proc = bytes(
    "BOOT_IMAGE=/boot/vmlinuz  initrd=/boot/initrd.img  x=\xfe crashkernel=256M\n",
  );
  for (
    const [argv, expected] of [
      [
        ["-s", "-l", KERNEL, "--reuse-cmdline"],
        " initrd=/boot/initrd.img  x=\xfe crashkernel=256M",
      ],
      [
        ["-s", "-p", KERNEL, "--reuse-cmdline", "--append=irqpoll"],
        " initrd=/boot/initrd.img  x=\xfe  irqpoll",
      ],
    ] as const
  ) {
    const sys = machine({ [PATHS.procCmdline]: proc });
    assert.equal(await runCli([...argv], sys), 0, sys.stderr);
    const [call] = sys.callsOf("kexec_file_load");
    assert.equal(hex(call.cmdline!), hex(bytes(`${expected}\0`)), argv.join(" "));
  }
});
