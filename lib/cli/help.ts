/**
 * `--help` text and the man page, both generated from the option table.
 *
 * @module
 */

import { wordWrap } from "../format.ts";
import { ARCHITECTURES } from "../arch/mod.ts";
import { GROUP_TITLES, type OptionGroup, OPTIONS, type OptionSpec } from "./options.ts";

/** Version printed by `--version`. */
export const VERSION = "0.1.0";

/** The synopsis lines. */
export const USAGE = [
  "kexec [-l|-p] KERNEL [--initrd=FILE]... [--append=STRING] [options]",
  "kexec -e | -f KERNEL | [-p] -u | -S [-l] [--json]",
];

function optionLabel(spec: OptionSpec): string {
  const names: string[] = [];
  if (spec.short) names.push(`-${spec.short}`);
  for (const long of spec.long) names.push(`--${long}${spec.value ? `=${spec.value}` : ""}`);
  return names.join(", ");
}

const GROUP_ORDER = Object.keys(GROUP_TITLES) as OptionGroup[];
const HELP_WIDTH = 100;
const LABEL_WIDTH = 30;

/**
 * The `--help` text.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * const text = helpText();
 * if (!text.includes("--initrd=FILE") || !text.includes("-s, --kexec-file-syscall")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function helpText(): string {
  const lines = ["Usage:", ...USAGE.map((u) => `  ${u}`), ""];
  lines.push("Load a Linux kernel and boot it without firmware (kexec-tools compatible).", "");
  for (const group of GROUP_ORDER) {
    const specs = OPTIONS.filter((o) => o.group === group && !o.hidden);
    if (specs.length === 0) continue;
    lines.push(`${GROUP_TITLES[group]}:`);
    for (const spec of specs) {
      const label = optionLabel(spec);
      const text = wordWrap(spec.help, HELP_WIDTH - LABEL_WIDTH - 3);
      const indent = " ".repeat(LABEL_WIDTH + 3);
      if (label.length <= LABEL_WIDTH) {
        lines.push(`  ${label.padEnd(LABEL_WIDTH)} ${text[0]}`);
      } else lines.push(`  ${label}`, `${indent}${text[0]}`);
      for (const more of text.slice(1)) lines.push(`${indent}${more}`);
    }
    lines.push("");
  }
  lines.push(...compatSummary(), "");
  lines.push(
    "Options act in order, as in kexec-tools: the last of -l, -p, -e, -u, -f and of -s, -c, -a",
    "wins. Plain 'kexec KERNEL' loads only; boot it with 'kexec -e' or 'systemctl kexec'.",
    "Exit codes: 0 ok; 1 usage error or a failed check (nothing loaded for -e, no crash memory),",
    "  or -S: loaded; 253 -s: kexec_file_load unavailable; 255 load/exec failure.",
    "",
  );
  return lines.join("\n");
}

// The kexec-tools options that are accepted with a warning or refused, by
// name; the man page says what each does on each architecture.
function compatSummary(): string[] {
  const names = OPTIONS.filter((o) => o.group === "compat")
    .flatMap((o) => o.long.map((l) => `--${l}${o.value ? `=${o.value}` : ""}`));
  return [
    `${GROUP_TITLES.compat}:`,
    ...wordWrap(
      `${names.join(" ")}: accepted with a warning where they have no effect, or refused ` +
        "naming the reason; kexec(8) says which, per architecture",
      HELP_WIDTH - 2,
    ).map((l) => `  ${l}`),
  ];
}

// A kexec-tools architecture or loader option: what it does on each architecture.
function compatEntry(spec: OptionSpec, long: string): string[] {
  const lines = [".TP", `.B ${troff(`--${long}${spec.value ? `=${spec.value}` : ""}`)}`];
  const effects = ARCHITECTURES.map(({ name: arch, cli }) => {
    const effect = cli.effects[long];
    const what = effect === undefined
      ? "no effect"
      : "noEffect" in effect
      ? `no effect (${effect.noEffect})`
      : `refused, exit ${effect.exitCode} (${effect.refused})`;
    return `${arch}: ${what}.`;
  });
  lines.push(troff(effects.join(" ")));
  return lines;
}

function troff(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/-/g, "\\-").replace(/^\./gm, "\\&.");
}

/**
 * The man page (troff, section 8).
 *
 * @example
 * ```ts
 * import { manPage } from "./help.ts";
 * const page = manPage();
 * if (!page.startsWith(".TH KEXEC 8") || !page.includes("reuse\\-cmdline")) throw new Error();
 * ```
 */
export function manPage(): string {
  const out = [
    `.TH KEXEC 8 "" "kexec ${VERSION}" "System Administration"`,
    ".SH NAME",
    "kexec \\- load a Linux kernel and boot it without firmware",
    ".SH SYNOPSIS",
    ...USAGE.map((u) => `.B ${troff(u)}\n.br`),
    ".SH DESCRIPTION",
    "A drop\\-in replacement for kexec\\-tools' kexec, written in TypeScript for Deno.",
    "It loads a kernel with kexec_file_load(2) or kexec_load(2), boots it with",
    "reboot(2), unloads it, and reports the state of the normal and crash images.",
    "Plain",
    ".B kexec KERNEL",
    "loads only (kexec\\-tools would run shutdown).",
  ];
  for (const group of GROUP_ORDER) {
    out.push(`.SH ${GROUP_TITLES[group].toUpperCase()}`);
    for (const spec of OPTIONS.filter((o) => o.group === group)) {
      if (spec.id === "compat") {
        for (const long of spec.long) out.push(...compatEntry(spec, long));
        continue;
      }
      out.push(".TP", `.B ${troff(optionLabel(spec) || `-${spec.short}`)}`, troff(spec.help));
      if (spec.differs) out.push(".br", `Differs from kexec\\-tools: ${troff(spec.differs)}.`);
    }
  }
  out.push(
    ".SH OPTION ORDER",
    "Options act in the order given, as kexec\\-tools' main() processes them: each of",
    "\\-l, \\-p, \\-e, \\-u, \\-f, \\-\\-load\\-preserve\\-context and",
    "\\-\\-load\\-jump\\-back\\-helper sets and clears the same actions, so",
    ".B kexec \\-e \\-l KERNEL",
    "loads and",
    ".B kexec \\-l \\-e",
    "boots the kernel already loaded; the last of \\-s, \\-c, \\-a wins. On x86_64,",
    "kernel options (\\-\\-initrd, \\-\\-append, \\-\\-reuse\\-cmdline, ...) on a",
    "command line that loads nothing are refused (exit 1), as in kexec\\-tools.",
    ".SH EXIT STATUS",
    "0 success (\\-S: not loaded); 1 usage error or a failed check (nothing loaded for",
    "\\-e, no crash memory reserved), \\-S: loaded;",
    "253 \\-s and kexec_file_load unavailable; 255 other failures.",
    ".SH SEE ALSO",
    "kexec_load(2), kexec_file_load(2), reboot(2)",
    "",
  );
  return out.join("\n");
}
