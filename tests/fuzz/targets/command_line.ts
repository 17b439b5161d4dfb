/**
 * The kernel command line (splitKernelArgs, reuseCmdline, resolveCmdline) and
 * argv interpretation (parseInvocation: option spellings, prefixes, clusters,
 * values, `--`, order, kexec-tools' action state machine).
 *
 * @module
 */

import { type Invocation, parseInvocation } from "../../../lib/cli/invocation.ts";
import { OPTIONS } from "../../../lib/cli/options.ts";
import { resolveCmdline, reuseCmdline, splitKernelArgs } from "../../../lib/cmdline.ts";
import { encodeRaw } from "../../../lib/raw_text.ts";
import { INTERESTING_NUMBERS, mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { seedText } from "../seeds.ts";
import { check, checkInteger, defineTarget } from "../target.ts";

/** One command-line resolution; `proc` is a raw string (bytes that are not UTF-8 escaped). */
export interface CmdlineInput {
  proc: string;
  append?: string;
  reuse: boolean;
  crash: boolean;
}

const CMDLINE_TOKENS = [
  '"',
  " ",
  "=",
  "BOOT_IMAGE=",
  "initrd=",
  "crashkernel=",
  "crashkernel=256M",
  "root=",
  '"a b"',
  "\t",
  "\n",
  "\0",
  "\u00a0",
  "\r",
  "xBOOT_IMAGE",
  "crashkernel=1G,high",
  // Raw bytes 0xff and 0xc3 (lib/raw_text.ts escapes).
  "\udcff",
  "\udcc3",
];

function cmdlineSeeds(): CmdlineInput[] {
  const host = seedText("cmdline-host.txt");
  const debian = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64 root=UUID=1234-abcd ro quiet " +
    "crashkernel=384M-:128M\n";
  return [
    { proc: host, reuse: true, crash: false },
    { proc: debian, reuse: true, crash: true, append: "irqpoll nr_cpus=1 reset_devices" },
    { proc: debian, reuse: false, crash: false, append: 'init=/bin/sh foo="a b"' },
    { proc: 'initrd=/a "quoted = x" BOOT_IMAGE="/b c"', reuse: true, crash: false },
  ];
}

/** splitKernelArgs, reuseCmdline and resolveCmdline on /proc/cmdline-like text. */
export const cmdlineTarget = defineTarget<CmdlineInput>({
  name: "cmdline",
  entry: "lib/cmdline.ts splitKernelArgs/reuseCmdline/resolveCmdline",
  seeds: cmdlineSeeds,
  mutate(rng, seed, seeds) {
    const texts = seeds.map((s) => s.proc);
    const choice = rng.int(10);
    if (choice < 6) return { ...seed, proc: mutateText(rng, seed.proc, CMDLINE_TOKENS, texts) };
    if (choice < 9) {
      return {
        ...seed,
        append: rng.chance(0.1)
          ? undefined
          : mutateText(rng, seed.append ?? "", CMDLINE_TOKENS, texts),
      };
    }
    return { ...seed, reuse: rng.chance(0.7), crash: rng.chance(0.5) };
  },
  run(input) {
    const args = splitKernelArgs(input.proc);
    check(args.every((a) => a !== ""), "empty argument");
    const proc = encodeRaw(input.proc);
    if (proc.length === 0) return;
    const reused = reuseCmdline(proc, input.crash);
    // remove_parameter() only deletes: the line never grows, and a name it
    // leaves in place first occurs inside a word, where it stops.
    check(encodeRaw(reused).length < proc.length, "reused line not shorter than /proc/cmdline");
    check(!/[\r\n]/.test(reused), "reused line keeps a CR or LF");
    for (const name of input.crash ? ["BOOT_IMAGE", "crashkernel"] : ["BOOT_IMAGE"]) {
      const at = reused.indexOf(name);
      // kexec-tools stops at a match inside a word; only ASCII white space separates.
      check(
        at < 0 || (at > 0 && !/[ \t\n\v\f\r]/.test(reused[at - 1])),
        `reused line keeps ${name}`,
      );
    }
    const line = resolveCmdline({
      commandLine: input.append,
      reuse: input.reuse,
      procCmdline: proc,
      crash: input.crash,
    });
    check(!line.includes("\0"), "NUL in the resolved command line");
    if (!input.reuse) check(line === (input.append ?? ""), "--append not passed as given");
    if (input.reuse) {
      const expected = input.append === undefined ? reused : `${reused} ${input.append}`;
      check(line === expected, "reused line and --append not joined by one space");
    }
  },
});

// Every spelling the option table accepts, and near misses.
let spellingCache: string[] | undefined;
function spellings(): string[] {
  return spellingCache ??= listSpellings();
}

function listSpellings(): string[] {
  const out: string[] = [];
  for (const spec of OPTIONS) {
    for (const long of spec.long) {
      out.push(`--${long}`, `--${long.slice(0, Math.max(1, long.length - 2))}`);
      if (spec.value) out.push(`--${long}=`, `--${long}=0x1000000`);
      else out.push(`--${long}=x`);
    }
    if (spec.short) out.push(`-${spec.short}`, spec.value ? `-${spec.short}x` : `-${spec.short}l`);
  }
  return [...out, "--", "-", "---", "--=", "-lpe", "-ldxy", "-ti", "-?", "-Z", "--no", "--load-"];
}

const VALUES = [
  ...INTERESTING_NUMBERS,
  "16M",
  "1G",
  "0777",
  "08",
  "1k",
  "0x1000000",
  "-0x1",
  "99999999999999999999G",
  "abc",
  "30",
  "0.0001",
  "2147484",
  "1e309",
  "/boot/vmlinuz",
  "/boot/initrd.img",
  "kernel",
  "elfcorehdr",
];

const ARGV_SEEDS: string[][] = [
  ["--load", "/boot/vmlinuz", "--append", "root=/dev/vda1 ro quiet", "--initrd", "/boot/initrd"],
  ["-e"],
  ["-e", "-f", "-x"],
  ["-a", "-l", "/k", "--initrd=/i", "--command-line=quiet"],
  ["-p", "-c", "-d", "--command-line=root=/dev/vda1 irqpoll", "/k"],
  ["-l", "-s", "--initrd=/i", '--append=""', "/k"],
  ["-p", "-u"],
  ["-S", "-l"],
  ["-tbzImage", "-l", "/k"],
  ["-c", "-l", "/k", "--mem-min=0x1000000", "--mem-max", "0x7fffffff"],
  ["-lxy", "/k", "--comm=quiet", "--", "-e"],
  ["--load-preserve-context", "--mem-max=0x10000000", "/k"],
  ["--load-jump-back-helper", "--entry=0x1000"],
  ["-e", "--sync-timeout=5", "--no-ifdown"],
  ["--dry-run", "--json", "-l", "/k", "--reuse-cmdline"],
  ["-c", "-s", "-d", "-p", "--command-line=irqpoll", "--initrd=/i", "/k"],
  ["-e", "-l", "/k"],
  ["-l", "-e", "/k", "--initrd", "/i"],
  ["-u", "-p", "/k"],
  ["-e", "-f"],
  ["-l", "--dtb=/b.dtb", "--append=x", "/k"],
  ["-p", "--reuse-cmdline", "--command-line=irqpoll", "/k"],
  ["--load", "--", "/k"],
];

function mutateArgv(rng: Rng, seed: string[], seeds: readonly string[][]): string[] {
  const argv = [...seed];
  const all = spellings();
  for (let n = rng.count(6); n > 0; n--) {
    const i = rng.int(argv.length + 1);
    switch (rng.int(8)) {
      case 0:
      case 1:
        argv.splice(i, 0, rng.pick(all));
        break;
      case 2:
        argv.splice(i, 0, rng.pick(VALUES));
        break;
      case 3:
        argv.splice(i, 1);
        break;
      case 4: {
        const j = rng.int(argv.length);
        [argv[i], argv[j]] = [argv[j], argv[i]];
        break;
      }
      case 5: {
        // An option with an interesting value, attached or separate.
        const spec = rng.pick(OPTIONS.filter((o) => o.value));
        const name = spec.long[0] ? `--${spec.long[0]}` : `-${spec.short}`;
        const value = rng.pick(VALUES);
        if (rng.chance(0.5)) argv.splice(i, 0, `${name}=${value}`);
        else argv.splice(i, 0, name, value);
        break;
      }
      case 6:
        if (argv[i] !== undefined) {
          argv[i] = mutateText(rng, argv[i], ["-", "--", "=", "0x", "M"], all);
        }
        break;
      default:
        argv.push(...rng.pick(seeds).slice(rng.int(3)));
    }
  }
  return argv.filter((a) => a !== undefined);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

const STEP_ORDER = ["status", "unload", "load", "exec", "jump-back-helper"];

function checkInvocation(inv: Invocation): void {
  for (
    const [name, value] of [["memMin", inv.memMin], ["memMax", inv.memMax], [
      "entry",
      inv.entry,
    ]] as const
  ) {
    if (value !== undefined) checkInteger(value, name);
  }
  if (inv.memMin !== undefined && inv.memMax !== undefined) {
    check(inv.memMin <= inv.memMax, "--mem-min above --mem-max accepted");
  }
  // The timeout goes to setTimeout, which fires at once for delays beyond 2^31-1 ms.
  checkInteger(inv.syncTimeoutMs, "syncTimeoutMs", 1, MAX_TIMER_MS);
  const kinds = inv.steps.map((s) => s.kind);
  const order = kinds.map((k) => STEP_ORDER.indexOf(k));
  check(order.every((o, i) => i === 0 || o > order[i - 1]), `steps out of order: ${kinds}`);
  check(!kinds.includes("status") || kinds.length === 1, `-S with other steps: ${kinds}`);
  check(!(kinds.includes("load") && kinds.includes("jump-back-helper")), "helper with a load");
  if (kinds.includes("load")) {
    check(inv.kernel !== undefined || inv.missingKernel, "a load without a kernel");
  } else check(!inv.missingKernel, "missing kernel without a load");
  for (const step of inv.steps) {
    if (step.kind === "load") check(!(step.crash && step.preserveContext), "crash + preserve");
  }
  if (inv.action !== "run") check(kinds.length === 0, `${inv.action} with steps`);
}

/** parseInvocation on argv vectors. */
export const invocationTarget = defineTarget<string[]>({
  name: "invocation",
  entry: "lib/cli/invocation.ts parseInvocation",
  seeds: () => ARGV_SEEDS,
  mutate: mutateArgv,
  run(argv) {
    checkInvocation(parseInvocation(argv, argv.length % 2 === 0 ? "x86_64" : "aarch64"));
  },
});
