/**
 * Host benchmarks (`deno task bench`): this tool against Debian's
 * kexec-tools on the same files (Debian's bzImage from the e2e assets and a
 * 64 MiB random initrd), measured side by side in one run, round-robin.
 *
 * Safety: kexec-tools runs only as `unshare -r -n kexec ...` (an unprivileged
 * user and network namespace: its kexec syscalls fail with EPERM after all
 * its user-space work, and it can reach no interface), never with -e or -f.
 * This tool runs only with --version, --help or --dry-run, or as the
 * benchmark entry bench/tool/recorded_main.ts, whose kexec syscalls are
 * never made (they answer EPERM, as kexec-tools' do).
 *
 * Prints the machine, the timing table, the memory table, the import-cost
 * table (bench/imports.ts) and the scaling table (Markdown) on stdout;
 * BENCHMARKS.md keeps the latest.
 *
 * ```sh
 * deno task bench                 # 15 timed rounds after 3 warm-up rounds
 * deno task bench --runs 5        # fewer
 * deno task bench --no-scaling    # without the 16 MiB - 1 GiB table
 * ```
 *
 * @module
 */

import { ensureTestAssets } from "../scripts/fetch-test-assets.ts";
import {
  buildBundles,
  type Bundles,
  ensureKexecTools,
  ensureRandomFile,
  type KexecTools,
} from "./support/assets.ts";
import { importTable } from "./imports.ts";
import { machineSummary } from "./support/machine.ts";
import {
  type BenchCommand,
  interleave,
  ms,
  ratio,
  runOnce,
  type Sample,
  selfCpuMs,
  summarize,
  type Summary,
  table,
} from "./support/measure.ts";
import { mib, reportedMemory, sampleMemory } from "./support/memory.ts";

const MiB = 2 ** 20;
const APPEND = "console=ttyS0 root=/dev/vda ro";

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

/** `unshare -r -n kexec ARGS`: refuses the options that would boot or reboot. */
export function kexecToolsCommand(binary: string, args: readonly string[]): string[] {
  const bad = args.find((a) => /^(-e|-f|--exec|--force|-x)$/.test(a) || /^-[a-z]*[ef]/.test(a));
  if (bad) throw new Error(`kexec-tools may not run with ${bad} here`);
  return ["unshare", "-r", "-n", binary, ...args];
}

/** Our bundle through deno: only --version, --help, -S or --dry-run on the host. */
function oursCommand(bundle: string, args: readonly string[], recorded = false): string[] {
  const safe = args.some((a) => ["--version", "--help", "--dry-run", "-S"].includes(a));
  if (!recorded && !safe) throw new Error(`our tool may not run with ${args.join(" ")} here`);
  return [Deno.execPath(), "run", "--allow-all", "--no-prompt", bundle, ...args];
}

interface Inputs {
  kernel: string;
  kernelBytes: number;
  initrd: string;
  initrdBytes: number;
}

function timingCommands(b: Bundles, kt: KexecTools, trivial: string, f: Inputs): BenchCommand[] {
  const load = (
    mode: string,
  ) => [mode, "-l", f.kernel, `--initrd=${f.initrd}`, `--append=${APPEND}`];
  return [
    { name: "trivial", cmd: [Deno.execPath(), "run", "--allow-all", "--no-prompt", trivial] },
    { name: "ours --version", cmd: oursCommand(b.tool, ["--version"]), codes: [0] },
    { name: "ours --help", cmd: oursCommand(b.tool, ["--help"]), codes: [0] },
    { name: "ours -c -l --dry-run", cmd: oursCommand(b.tool, ["--dry-run", ...load("-c")]) },
    { name: "ours -c -l", cmd: oursCommand(b.recorded, load("-c"), true), codes: [255] },
    { name: "kexec-tools -c -l", cmd: kexecToolsCommand(kt.binary, load("-c")), codes: [255] },
    { name: "ours -s -l --dry-run", cmd: oursCommand(b.tool, ["--dry-run", ...load("-s")]) },
    { name: "ours -s -l", cmd: oursCommand(b.recorded, load("-s"), true), codes: [255] },
    { name: "kexec-tools -s -l", cmd: kexecToolsCommand(kt.binary, load("-s")), codes: [253, 255] },
    { name: "ours -u", cmd: oursCommand(b.recorded, ["-u"], true), codes: [255] },
    { name: "kexec-tools -u", cmd: kexecToolsCommand(kt.binary, ["-u"]), codes: [255] },
  ];
}

function timingTable(s: Map<string, Summary>): string {
  const trivial = s.get("trivial")!;
  const theirs = (name: string) => {
    const op = name.match(/ (-[cs] -l|-u)/)?.[1];
    return op ? s.get(`kexec-tools ${op}`) : undefined;
  };
  const plus = (v: number) => `${v >= 0 ? "+" : ""}${ms(v)}`;
  const rows = [...s].map(([name, v]) => {
    const kt = name.startsWith("ours") ? theirs(name) : undefined;
    const ours = name.startsWith("ours");
    return [
      name,
      ms(v.medianMs),
      ms(v.bestMs),
      ms(v.cpuMs),
      ours ? plus(v.bestMs - trivial.bestMs) : "–",
      ours ? plus(v.cpuMs - trivial.cpuMs) : "–",
      kt ? `${ratio(v.medianMs, kt.medianMs)} (best ${ratio(v.bestMs, kt.bestMs)})` : "–",
      kt ? ratio(v.cpuMs, kt.cpuMs) : "–",
    ];
  });
  return table(
    [
      "command",
      "median ms",
      "best ms",
      "CPU ms (median)",
      "best − trivial best",
      "CPU − trivial CPU",
      "÷ kexec-tools, wall median (best)",
      "÷ kexec-tools, CPU",
    ],
    rows,
  );
}

async function memoryTable(b: Bundles, kt: KexecTools, f: Inputs, runs: number): Promise<string> {
  const load = (
    mode: string,
  ) => [mode, "-l", f.kernel, `--initrd=${f.initrd}`, `--append=${APPEND}`];
  const bound = 16 * 1024 + 0.05 * (f.kernelBytes + f.initrdBytes) / 1024;
  const rows: string[][] = [];
  for (const mode of ["-c", "-s"]) {
    const syscall = mode === "-c" ? "kexec_load" : "kexec_file_load";
    const ours: { growth: number; file: number; shmem: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runOnce({
        name: `ours ${mode}`,
        cmd: oursCommand(b.recorded, load(mode), true),
        env: { KEXEC_BENCH_MEMORY: "1" },
        codes: [255],
      });
      const samples = reportedMemory(r.stderr);
      const at = samples.find((x) => x.at === syscall);
      if (!at) throw new Error(`no reading at ${syscall}:\n${r.stderr}`);
      ours.push({
        growth: at.anonymous - samples[0].anonymous,
        file: at.pssFile,
        shmem: at.pssShmem,
      });
    }
    const best = ours.reduce((a, x) => (x.growth < a.growth ? x : a));
    const worst = ours.reduce((a, x) => (x.growth > a.growth ? x : a));
    rows.push([
      `ours ${mode} -l (at ${syscall})`,
      `${mib(best.growth)}–${mib(worst.growth)}`,
      mib(bound),
      worst.growth <= bound ? "yes" : "NO",
      mib(worst.file),
      mib(worst.shmem),
    ]);
    const theirs = await sampleMemory({
      name: `kexec-tools ${mode}`,
      cmd: kexecToolsCommand(kt.binary, load(mode)),
    });
    const m = theirs.memory;
    rows.push([
      `kexec-tools ${mode} -l (peak of ${m.samples} samples)`,
      mib(m.peak.anonymous - m.first.anonymous),
      "–",
      "–",
      mib(m.peak.pssFile),
      mib(m.peak.pssShmem),
    ]);
  }
  return table([
    "load",
    "anonymous growth MiB",
    "bound MiB (16 + 5 % of files)",
    "within",
    "mapped file MiB",
    "memfd (shmem) MiB",
  ], rows);
}

/** The SHA-256 a load uses here (libcrypto, else node:crypto) and its speed, warm. */
async function sha256MiBps(): Promise<{ name: string; speed: number }> {
  const { libcryptoSha256 } = await import("../lib/sys/libcrypto.ts");
  const native = libcryptoSha256();
  const sha256 = native ?? (await import("../lib/plan/sha256.ts")).sha256;
  const buf = new Uint8Array(256 * MiB).fill(0x5a);
  // CPU time, not wall time: the machine is shared.
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = selfCpuMs();
    sha256(buf);
    best = Math.min(best, selfCpuMs() - t);
  }
  return { name: native ? "libcrypto" : "node:crypto", speed: 256 / (best / 1000) };
}

async function scalingTable(b: Bundles, f: Inputs, runs: number): Promise<string> {
  const { name, speed } = await sha256MiBps();
  const rows: string[][] = [];
  for (const size of [16, 256, 1024]) {
    const initrd = await ensureRandomFile(`initrd-${size}M.bin`, size * MiB);
    const cmd = oursCommand(b.recorded, [
      "--dry-run",
      "-c",
      "-l",
      f.kernel,
      `--initrd=${initrd}`,
      `--append=${APPEND}`,
    ], true);
    await runOnce({ name: "warm", cmd });
    const samples: Sample[] = [];
    const growth: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runOnce({ name: `-c -l ${size} MiB`, cmd, env: { KEXEC_BENCH_MEMORY: "1" } });
      const m = reportedMemory(r.stderr);
      growth.push(m[m.length - 1].anonymous - m[0].anonymous);
      samples.push(r);
    }
    const s = summarize(samples);
    const hashed = (f.kernelBytes + size * MiB) / MiB;
    rows.push([
      `${size} MiB`,
      ms(s.medianMs),
      ms(s.bestMs),
      ms(s.cpuMs),
      ms(hashed / speed * 1000),
      `${mib(Math.min(...growth))}–${mib(Math.max(...growth))}`,
    ]);
  }
  return `SHA-256 (${name}, one core, CPU time, warm) on this machine: ${
    speed.toFixed(0)
  } MiB/s\n\n` + table([
    "initrd",
    "median ms",
    "best ms",
    "CPU ms (median)",
    "SHA-256 of kernel + initrd alone, CPU ms",
    "anonymous growth MiB",
  ], rows);
}

async function main(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] || 15) || 15;
  const machine = await machineSummary();
  const assets = await ensureTestAssets({ arch: "x86_64", log });
  const kt = await ensureKexecTools(log);
  const initrd = await ensureRandomFile("initrd-64M.bin", 64 * MiB);
  const f: Inputs = {
    kernel: assets.kernel,
    kernelBytes: (await Deno.stat(assets.kernel)).size,
    initrd,
    initrdBytes: 64 * MiB,
  };
  const dir = await Deno.makeTempDir({ prefix: "kexec-bench-" });
  try {
    const bundles = await buildBundles(dir);
    const trivial = `${dir}/trivial.js`;
    await Deno.writeTextFile(trivial, 'console.log("kexec 0.0.0");\n');
    log(`timing: ${runs} rounds after 3 warm-up rounds`);
    const samples = await interleave(timingCommands(bundles, kt, trivial, f), runs, 3, log);
    const summaries = new Map([...samples].map(([k, v]) => [k, summarize(v)]));
    console.log(`## Host\n\n${machine}\n`);
    console.log(
      `Files: ${assets.kernelSource} (${f.kernelBytes} bytes), initrd 64 MiB of random bytes; ` +
        `kexec-tools ${kt.version} (Debian) in \`unshare -r -n\`. ${runs} rounds, round-robin, ` +
        "after 3 warm-up rounds.\n",
    );
    console.log(timingTable(summaries) + "\n");
    log("memory");
    console.log(await memoryTable(bundles, kt, f, 3) + "\n");
    log("imports");
    console.log(
      "Start-up: evaluating each module graph in a fresh process (wall ms inside it)\n\n" +
        await importTable() + "\n",
    );
    if (!args.includes("--no-scaling")) {
      log("scaling");
      console.log(await scalingTable(bundles, f, 3) + "\n");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
