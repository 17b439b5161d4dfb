/**
 * Printing plans for `--dry-run` and `-d`, as text or JSON. Nothing here
 * calls the kernel; it only describes what would be passed.
 *
 * @module
 */

import { describeFileFlags } from "../plan/file_load.ts";
import { segmentTableLines } from "../plan/segment_table.ts";
import { describeSegmentFlags } from "../plan/segment_flags.ts";

export { describeSegmentFlags };
import type { LoadPlan, Segment } from "../plan/types.ts";
import { hex } from "../format.ts";
import { encodeRaw } from "../raw_text.ts";

/**
 * kexec_load segments as JSON-ready data: name, destination and sizes (the
 * bytes themselves stay out).
 *
 * @example
 * ```ts
 * import { segmentsToJson } from "./render.ts";
 * const [s] = segmentsToJson([{ name: "kernel", buf: new Uint8Array(3), mem: 4096, memsz: 4096 }]);
 * if (s.bufsz !== 3 || s.mem !== 4096 || s.name !== "kernel") throw new Error();
 * ```
 */
export function segmentsToJson(
  segments: readonly Segment[],
): { name: string; mem: number; memsz: number; bufsz: number }[] {
  return segments.map((s) => ({ name: s.name, mem: s.mem, memsz: s.memsz, bufsz: s.buf.length }));
}

/**
 * A plan as plain JSON-ready data.
 *
 * @example
 * ```ts
 * import { planToJson } from "./render.ts";
 * const json = planToJson({ syscall: "unload", crash: true });
 * if (json.crash !== true) throw new Error();
 * ```
 */
export function planToJson(plan: LoadPlan): Record<string, unknown> {
  switch (plan.syscall) {
    case "kexec_file_load":
      return {
        syscall: plan.syscall,
        kernel: plan.kernel,
        initrd: plan.initrd,
        initrds: plan.initrdPaths,
        cmdline: plan.cmdline,
        cmdline_len: plan.cmdlineBytes.length,
        flags: plan.flags,
        flags_hex: `0x${plan.flags.toString(16)}`,
        flag_names: describeFileFlags(plan.flags),
        notes: plan.notes,
      };
    case "kexec_load":
      return {
        syscall: plan.syscall,
        entry: plan.entry,
        flags: plan.flags,
        flags_hex: `0x${plan.flags.toString(16)}`,
        flag_names: describeSegmentFlags(plan.flags),
        cmdline: plan.cmdline,
        cmdline_len: encodeRaw(plan.cmdline).length + 1,
        segments: segmentsToJson(plan.segments),
        notes: plan.notes,
      };
    case "unload":
      return { syscall: plan.syscall, crash: plan.crash };
  }
}

/**
 * A command line in double quotes, JSON-escaped, with bytes that are not
 * UTF-8 (raw-string escapes, lib/raw_text.ts) shown as `\xNN`.
 *
 * @example
 * ```ts
 * import { quoteCmdline } from "./render.ts";
 * const q = quoteCmdline('a="b c" x=\udcff');
 * if (q !== '"a=\\"b c\\" x=\\xff"') throw new Error(q);
 * ```
 */
export function quoteCmdline(cmdline: string): string {
  return JSON.stringify(cmdline).replace(/(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])/g, "$1\\x$2");
}

/**
 * A plan as indented text.
 *
 * @example
 * ```ts
 * import { planToText } from "./render.ts";
 * const text = planToText({
 *   syscall: "kexec_file_load", kernel: { path: "/k", fd: 3, size: 10 }, initrd: null,
 *   initrdPaths: [], cmdline: "a b", cmdlineBytes: new Uint8Array(4), flags: 4, notes: [],
 * });
 * if (!text.includes("cmdline_len 4") || !text.includes("KEXEC_FILE_NO_INITRAMFS")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function planToText(plan: LoadPlan): string {
  const lines: string[] = [];
  switch (plan.syscall) {
    case "kexec_file_load": {
      lines.push("kexec_file_load");
      lines.push(
        `  kernel:  ${plan.kernel.path} (fd ${plan.kernel.fd}, ${plan.kernel.size} bytes)`,
      );
      lines.push(
        plan.initrd
          ? `  initrd:  ${
            plan.initrdPaths.join(" + ")
          } (fd ${plan.initrd.fd}, ${plan.initrd.size} bytes)`
          : "  initrd:  none (initrd_fd -1)",
      );
      lines.push(
        `  flags:   ${hex(plan.flags)} [${describeFileFlags(plan.flags).join("|")}]`,
      );
      lines.push(
        `  cmdline: ${quoteCmdline(plan.cmdline)} (cmdline_len ${plan.cmdlineBytes.length}, ` +
          "counting the NUL)",
      );
      break;
    }
    case "kexec_load": {
      lines.push("kexec_load");
      lines.push(`  entry:   ${hex(plan.entry)}`);
      lines.push(`  flags:   ${hex(plan.flags)} [${describeSegmentFlags(plan.flags).join("|")}]`);
      lines.push(
        `  cmdline: ${quoteCmdline(plan.cmdline)} (${encodeRaw(plan.cmdline).length} bytes + NUL)`,
      );
      lines.push(`  segments (${plan.segments.length}):`);
      lines.push(...segmentTableLines(plan.segments).map((line) => `  ${line}`));
      break;
    }
    case "unload":
      lines.push(`unload ${plan.crash ? "crash image" : "normal image"}`);
  }
  if (plan.syscall !== "unload" && plan.notes.length > 0) {
    lines.push("  notes:");
    for (const note of plan.notes) lines.push(`    ${note}`);
  }
  return lines.join("\n") + "\n";
}
