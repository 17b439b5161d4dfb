/**
 * Parses what a guest wrote to its results port (/dev/ttyS1). The line format
 * is produced by `tests/e2e/guest/lib.sh` and `stage2-init.sh`:
 *
 * ```text
 * E2E-STAGE1 token=T kernel=R uptime=MS
 * E2E-STEP NAME rc=N ms=M / E2E-OUT NAME|line / E2E-ERR NAME|line / E2E-STEP-END NAME
 * E2E-VALUE NAME=VALUE
 * E2E-CASE-END rc=N uptime=MS / E2E-STAGE1-END
 * E2E-STAGE2 token=T kernel=R uptime=S / E2E-CMDLINE<…> / E2E-CMDLINE-HEX hex
 * E2E-VMCORE size=N head=hex / E2E-VMCORE-OSRELEASE OSRELEASE=…
 * E2E-MAKEDUMPFILE rc=N / E2E-MAKEDUMPFILE-ERR line / E2E-STAGE2-END
 * ```
 *
 * @module
 */

/** One `step` of a case script. */
export interface StepResult {
  /** Step name. */
  name: string;
  /** Exit status of the command. */
  rc: number;
  /** Guest time the command took, in milliseconds (10 ms resolution). */
  ms: number;
  /** Lines the command wrote to stdout. */
  out: string[];
  /** Lines the command wrote to stderr. */
  err: string[];
  /** True once `E2E-STEP-END` was seen (all output lines are in). */
  complete: boolean;
}

/** Everything the second kernel reported. */
export interface Stage2Report {
  /** Token read from the second-stage initrd. */
  token: string;
  /** `uname -r` there. */
  kernel: string;
  /** /proc/cmdline, byte-exact, decoded from its hex dump (trailing newline removed). */
  cmdline?: string;
  /** Raw bytes of /proc/cmdline. */
  cmdlineBytes?: Uint8Array;
  /** /proc/vmcore facts, in a crash kernel. */
  vmcore?: { size: number; head: Uint8Array; osrelease?: string };
  /** makedumpfile's exit status and last lines of messages, when the initrd had it. */
  makedumpfile?: { rc: number; err: string[] };
  /** True once `E2E-STAGE2-END` was seen. */
  ended: boolean;
}

/** A parsed results log. */
export interface GuestReport {
  /** All E2E lines, in order, without carriage returns. */
  lines: string[];
  /** First-stage facts, once seen. */
  stage1?: { token: string; kernel: string };
  /** Steps by name; a later step with the same name replaces the earlier one. */
  steps: Map<string, StepResult>;
  /** Step names in the order they ran. */
  stepOrder: string[];
  /** `value` reports; repeated names keep every value in order. */
  values: Map<string, string[]>;
  /** Exit status of the case script, when it returned. */
  caseRc?: number;
  /** True when stage 1 reached its end (the case script returned). */
  stage1Ended: boolean;
  /** Second-stage facts, once seen. */
  stage2?: Stage2Report;
}

/**
 * Decodes a lowercase/uppercase hex string to bytes.
 *
 * @example
 * ```ts
 * import { fromHex } from "./results.ts";
 * if (fromHex("7f454c46")[1] !== 0x45) throw new Error();
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new Error(`bad hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.trim().split(/\s+/)) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at)] = part.slice(at + 1);
  }
  return out;
}

/**
 * Parses a results log. Lines that do not start with `E2E-` are ignored.
 *
 * @example
 * ```ts
 * import { parseReport } from "./results.ts";
 * const r = parseReport([
 *   "E2E-STAGE1 token=abc kernel=6.1.0 uptime=2000",
 *   "E2E-STEP load rc=0 ms=1200",
 *   "E2E-ERR load|warning",
 *   "E2E-STEP-END load",
 *   "E2E-STAGE2 token=def kernel=6.1.0 uptime=1.5",
 *   "E2E-CMDLINE-HEX 783d310a",
 *   "E2E-MAKEDUMPFILE rc=0",
 *   "E2E-MAKEDUMPFILE-ERR The dumpfile is saved to STDOUT.",
 * ].join("\r\n"));
 * if (r.steps.get("load")?.err[0] !== "warning" || r.stage2?.cmdline !== "x=1") throw new Error();
 * if (r.stage2?.makedumpfile?.rc !== 0 || r.stage2.makedumpfile.err.length !== 1) throw new Error();
 * ```
 */
export function parseReport(text: string): GuestReport {
  const report: GuestReport = {
    lines: [],
    steps: new Map(),
    stepOrder: [],
    values: new Map(),
    stage1Ended: false,
  };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r+$/, "");
    if (!line.startsWith("E2E-")) continue;
    report.lines.push(line);
    const space = line.indexOf(" ");
    const tag = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? "" : line.slice(space + 1);
    if (tag.startsWith("E2E-CMDLINE<")) continue; // readable copy; the hex line is authoritative
    switch (tag) {
      case "E2E-STAGE1": {
        const f = fields(rest);
        report.stage1 = { token: f.token ?? "", kernel: f.kernel ?? "" };
        break;
      }
      case "E2E-STEP": {
        const [name, ...more] = rest.split(" ");
        const f = fields(more.join(" "));
        report.steps.set(name, {
          name,
          rc: Number(f.rc),
          ms: Number(f.ms),
          out: [],
          err: [],
          complete: false,
        });
        report.stepOrder.push(name);
        break;
      }
      case "E2E-OUT":
      case "E2E-ERR": {
        const bar = rest.indexOf("|");
        const step = report.steps.get(rest.slice(0, bar));
        if (bar < 0 || !step) break;
        (tag === "E2E-OUT" ? step.out : step.err).push(rest.slice(bar + 1));
        break;
      }
      case "E2E-STEP-END": {
        const step = report.steps.get(rest.trim());
        if (step) step.complete = true;
        break;
      }
      case "E2E-VALUE": {
        const at = rest.indexOf("=");
        if (at <= 0) break;
        const name = rest.slice(0, at);
        const list = report.values.get(name) ?? [];
        list.push(rest.slice(at + 1));
        report.values.set(name, list);
        break;
      }
      case "E2E-CASE-END":
        report.caseRc = Number(fields(rest).rc);
        break;
      case "E2E-STAGE1-END":
        report.stage1Ended = true;
        break;
      case "E2E-STAGE2": {
        const f = fields(rest);
        report.stage2 = { token: f.token ?? "", kernel: f.kernel ?? "", ended: false };
        break;
      }
      case "E2E-CMDLINE-HEX": {
        if (!report.stage2) break;
        const bytes = fromHex(rest.trim());
        report.stage2.cmdlineBytes = bytes;
        const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a
          ? bytes.length - 1
          : bytes.length;
        report.stage2.cmdline = new TextDecoder().decode(bytes.subarray(0, end));
        break;
      }
      case "E2E-VMCORE": {
        if (!report.stage2) break;
        const f = fields(rest);
        report.stage2.vmcore = { size: Number(f.size), head: fromHex(f.head ?? "") };
        break;
      }
      case "E2E-VMCORE-OSRELEASE": {
        const vmcore = report.stage2?.vmcore;
        const m = rest.match(/OSRELEASE=(\S+)/);
        if (vmcore && m) vmcore.osrelease = m[1];
        break;
      }
      case "E2E-MAKEDUMPFILE":
        if (report.stage2) report.stage2.makedumpfile = { rc: Number(fields(rest).rc), err: [] };
        break;
      case "E2E-MAKEDUMPFILE-ERR":
        report.stage2?.makedumpfile?.err.push(rest);
        break;
      case "E2E-STAGE2-END":
        if (report.stage2) report.stage2.ended = true;
        break;
    }
  }
  return report;
}
