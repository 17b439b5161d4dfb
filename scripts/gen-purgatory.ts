/**
 * Regenerates a purgatory blob module from its assembly source with GNU
 * binutils: `as` assembles, `objcopy -O binary` extracts the page and `nm`
 * gives every offset the TypeScript side needs. Run as a script it does the
 * x86_64 page (`lib/arch/x86_64/purgatory_blob.ts` from `purgatory.S`) and
 * the x86_64 jump-back helper (`jump_back_blob.ts` from `jump_back.S`); other
 * pages are described as a {@link PurgatoryTarget} and reuse
 * {@link assemblePurgatory}, {@link renderBlobModule} and {@link runGenerator}
 * (scripts/gen-purgatory-arm64.ts).
 *
 * ```sh
 * deno run -A scripts/gen-purgatory.ts          # write the x86_64 blob modules
 * deno run -A scripts/gen-purgatory.ts --check  # exit 1 if one is out of date
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

const ROOT = new URL("../", import.meta.url);

/** One purgatory page: its source, its generated module and the tools that build it. */
export interface PurgatoryTarget {
  /** Architecture name as the generated module's documentation says it. */
  readonly arch: string;
  /** The assembly source. */
  readonly source: URL;
  /** The generated module. */
  readonly blob: URL;
  /** The script that regenerates it, relative to the repository root. */
  readonly script: string;
  /** Assembler command and its arguments before `-o OBJ SOURCE`. */
  readonly as: readonly string[];
  /** `objcopy` for the target's object format. */
  readonly objcopy: string;
  /** `nm` for the target's object format. */
  readonly nm: string;
  /** `objdump` for the target's object format. */
  readonly objdump: string;
  /** The tool chain as the generated header names it. */
  readonly toolsText: string;
  /** What to install when a tool is missing. */
  readonly installHint: string;
  /**
   * Descriptions of every symbol the blob module exports (JSDoc of each
   * constant). A symbol with the page's prefix missing here is an error, so
   * nothing is exported undocumented.
   */
  readonly symbolDocs: Readonly<Record<string, string>>;
  /**
   * Prefix of the symbols exported (default `purgatory_`); the blob constant
   * is named after it (`PURGATORY_BLOB_HEX`).
   */
  readonly symbolPrefix?: string;
  /** What the page is, for the generated module's documentation (default "purgatory page"). */
  readonly what?: string;
  /** The document describing the page (default PURGATORY.md). */
  readonly docFile?: string;
  /** Name of the exported hex string (default: the prefix in capitals + `BLOB_HEX`). */
  readonly hexConst?: string;
}

const DEFAULT_PREFIX = "purgatory_";

function prefixOf(target: PurgatoryTarget): string {
  return target.symbolPrefix ?? DEFAULT_PREFIX;
}

/** What one assembly run produced. */
export interface AssembledPurgatory {
  /** The page as `objcopy -O binary` wrote it. */
  bytes: Uint8Array;
  /** Every symbol with the page's prefix: `t` = offset in the page, `a` = constant. */
  symbols: Map<string, { kind: "t" | "a"; value: bigint }>;
  /** SHA-256 (hex) of the source text, recorded in the generated header. */
  sourceSha256: string;
  /** The page it was built from. */
  target: PurgatoryTarget;
}

/** The x86_64 page, assembled with the host's own binutils. */
export const X86_64_PURGATORY: PurgatoryTarget = {
  arch: "x86_64",
  source: new URL("lib/arch/x86_64/purgatory.S", ROOT),
  blob: new URL("lib/arch/x86_64/purgatory_blob.ts", ROOT),
  script: "scripts/gen-purgatory.ts",
  as: ["as", "--64"],
  objcopy: "objcopy",
  nm: "nm",
  objdump: "objdump",
  toolsText: "GNU as --64, objcopy -O binary and nm",
  installHint: "GNU binutils (as, objcopy, nm, objdump) are needed: install them, " +
    "e.g. `apt-get install binutils`",
  symbolDocs: {
    purgatory_start: "Entry point (kexec_load `entry` = page address + this).",
    purgatory_verify:
      "`long verify(void)` (SysV): -1 if every region matches, else the first bad index.",
    purgatory_report:
      "`size_t report(char buf[REPORT_MAX], long result)` (SysV): formats the failure line.",
    purgatory_sha256: "`void sha256(const void *data, size_t len, uint8_t out[32])` (SysV).",
    purgatory_code_end: "End of the instructions; read-only constants follow.",
    purgatory_gdt: "GDT: null, unused, 0x10 64-bit code, 0x18 flat data.",
    purgatory_gdtr: "GDTR (u16 limit, u64 base); the entry code fills the base.",
    purgatory_entry64: "Slot u64: kernel entry (protected-mode load address + 0x200).",
    purgatory_boot_params: "Slot u64: physical address of boot_params (goes to %rsi).",
    purgatory_region_count: "Slot u64: number of regions to verify (0 = no check).",
    purgatory_stack_page:
      "Slot u64: 0 = stack at the end of this page, else a 4 KiB page used as stack instead.",
    purgatory_regions: "Region table: `{u64 mem; u64 len; u8 sha256[32]}` entries.",
    purgatory_regions_end: "End of the region table.",
    purgatory_stack_bottom: "Lowest byte of the private stack.",
    purgatory_stack_top: "Initial %rsp (end of the page).",
    purgatory_page_size: "Size of the page.",
    purgatory_max_regions: "Entries in the region table.",
    purgatory_region_mem: "Region entry field: u64 physical start.",
    purgatory_region_len: "Region entry field: u64 length in bytes.",
    purgatory_region_sha256: "Region entry field: 32-byte SHA-256 digest.",
    purgatory_region_size: "Size of one region entry.",
    purgatory_verify_ok: "verify() result: every region matched.",
    purgatory_verify_bad_count: "verify() result: the count slot exceeds the table.",
    purgatory_report_max: "Bytes report() may write into its buffer.",
    purgatory_kjump:
      "Start of the kexec-jump part, present only in preserve-context pages (zeros otherwise).",
    purgatory_kjump_cmdline_end: "Slot u64 (kexec jump): physical address of the cmdline's NUL.",
    purgatory_kjump_return: "Slot u64 (kexec jump): the caller's return address, saved on entry.",
    purgatory_kjump_start: "Entry point of preserve-context loads (entry = page address + this).",
    purgatory_kjump_append:
      "`size_t kjump_append(char *at, uint64_t entry)` (SysV): writes the jump-back parameter.",
    purgatory_kjump_end: "End of the kexec-jump part.",
    purgatory_kjump_append_max: "Bytes kjump_append() may write, its NUL included.",
  },
};

/**
 * The x86_64 jump-back helper page (lib/arch/x86_64/JUMP_BACK.md), built
 * with the same tools and regenerated by the same script.
 */
export const X86_64_JUMP_BACK: PurgatoryTarget = {
  ...X86_64_PURGATORY,
  source: new URL("lib/arch/x86_64/jump_back.S", ROOT),
  blob: new URL("lib/arch/x86_64/jump_back_blob.ts", ROOT),
  symbolPrefix: "jump_back_",
  hexConst: "JUMP_BACK_BLOB_HEX",
  what: "jump-back helper page",
  docFile: "JUMP_BACK.md",
  symbolDocs: {
    jump_back_start: "Entry point (kexec_load `entry` = page address + this).",
    jump_back_map:
      "`uint64_t map(uint64_t root, uint64_t target, void *spare, unsigned levels)` (SysV).",
    jump_back_code_end: "End of the instructions.",
    jump_back_target: "Slot u64: the address to jump back to (kexec_jump_back_entry=).",
    jump_back_end: "End of the page.",
    jump_back_page_size: "Size of the page.",
    jump_back_spare_pages: "Zeroed pages the segment needs after this one for page tables.",
  },
};

/** The x86_64 assembly source. */
export const SOURCE_URL: URL = X86_64_PURGATORY.source;
/** The x86_64 generated module. */
export const BLOB_URL: URL = X86_64_PURGATORY.blob;

async function run(cmd: string, args: string[], hint: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`\`${cmd}\` not found. ${hint}`);
    }
    throw err;
  }
  const dec = new TextDecoder();
  if (!output.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${dec.decode(output.stderr)}`);
  }
  return dec.decode(output.stdout);
}

/**
 * Assembles a target's `purgatory.S` (x86_64 by default) and reads back the
 * page and its symbols. Throws if a tool is missing or the object would need
 * relocations.
 *
 * @example
 * ```ts
 * import { assemblePurgatory } from "./gen-purgatory.ts";
 * const asm = await assemblePurgatory();
 * if (asm.bytes.length !== 4096) throw new Error("not one page");
 * if (asm.symbols.get("purgatory_start")?.value !== 0n) throw new Error("entry not at 0");
 * ```
 */
export async function assemblePurgatory(
  target: PurgatoryTarget = X86_64_PURGATORY,
): Promise<AssembledPurgatory> {
  const source = await Deno.readFile(target.source);
  const dir = await Deno.makeTempDir({ prefix: "purgatory-" });
  const tool = (cmd: string, args: string[]) => run(cmd, args, target.installHint);
  try {
    const obj = `${dir}/purgatory.o`;
    const bin = `${dir}/purgatory.bin`;
    const [as, ...asArgs] = target.as;
    await tool(as, [...asArgs, "-o", obj, target.source.pathname]);
    // References to other labels must be resolved by `as`; a relocation would
    // leave a hole in the binary that objcopy silently keeps.
    const relocs = await tool(target.objdump, ["-r", obj]);
    if (/RELOCATION RECORDS/.test(relocs)) {
      throw new Error(`purgatory.S must not need relocations:\n${relocs}`);
    }
    await tool(target.objcopy, ["-O", "binary", "-j", ".text", obj, bin]);
    const nm = await tool(target.nm, ["-n", obj]);
    const symbols = new Map<string, { kind: "t" | "a"; value: bigint }>();
    for (const line of nm.split("\n")) {
      const m = /^([0-9a-f]{16}) ([ta]) (\w+)$/.exec(line.trim());
      if (!m || !m[3].startsWith(prefixOf(target))) continue;
      symbols.set(m[3], { kind: m[2] as "t" | "a", value: BigInt.asIntN(64, BigInt(`0x${m[1]}`)) });
    }
    return {
      bytes: await Deno.readFile(bin),
      symbols,
      sourceSha256: createHash("sha256").update(source).digest("hex"),
      target,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function constName(symbol: string, kind: "t" | "a"): string {
  const upper = symbol.toUpperCase();
  return kind === "t" ? `${upper}_OFFSET` : upper;
}

function basename(url: URL): string {
  return url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
}

function repoPath(url: URL): string {
  return url.pathname.slice(ROOT.pathname.length);
}

const HEX_BYTES_PER_LINE = 32;

/**
 * Renders the generated module text (already in `deno fmt` style).
 *
 * @example
 * ```ts
 * import { assemblePurgatory, renderBlobModule } from "./gen-purgatory.ts";
 * const text = renderBlobModule(await assemblePurgatory());
 * if (!text.startsWith("// GENERATED")) throw new Error("no generated header");
 * if (!text.includes("export const PURGATORY_ENTRY64_OFFSET = 0x")) throw new Error("no slot");
 * ```
 */
export function renderBlobModule(asm: AssembledPurgatory): string {
  const { target } = asm;
  let used = asm.bytes.length;
  while (used > 0 && asm.bytes[used - 1] === 0) used--;
  const lines: string[] = [];
  for (let i = 0; i < used; i += HEX_BYTES_PER_LINE) {
    const chunk = asm.bytes.subarray(i, Math.min(i + HEX_BYTES_PER_LINE, used));
    lines.push(`  "${Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join("")}",`);
  }
  for (const name of asm.symbols.keys()) {
    if (!(name in target.symbolDocs)) {
      throw new Error(`symbol ${name} has no description in ${target.script}`);
    }
  }
  const consts: string[] = [];
  for (const [name, doc] of Object.entries(target.symbolDocs)) {
    const symbol = asm.symbols.get(name);
    if (symbol === undefined) {
      throw new Error(`${basename(target.source)} no longer defines ${name}`);
    }
    const { kind, value } = symbol;
    const literal = value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
    consts.push(`/** ${doc} */\nexport const ${constName(name, kind)} = ${literal};`);
  }
  const blobConst = target.hexConst ?? `${prefixOf(target).toUpperCase()}BLOB_HEX`;
  return `// GENERATED by ${target.script} from ${repoPath(target.source)}
// with ${target.toolsText}. Do not edit: change ${basename(target.source)}
// and run \`deno run -A ${target.script}\`.
// Source SHA-256: ${asm.sourceSha256}

/**
 * The assembled ${target.arch} ${
    target.what ?? "purgatory page"
  } and the offsets of its code entries,
 * data slots and constants. See ${target.docFile ?? "PURGATORY.md"}.
 *
 * @module
 */

/**
 * The page as assembled (${asm.bytes.length} bytes), hex, with its ${
    asm.bytes.length - used
  } trailing zero bytes left out.
 */
export const ${blobConst}: string = [
${lines.join("\n")}
].join("");

${consts.join("\n\n")}
`;
}

/**
 * The command line of a generator script: writes the target's blob module,
 * or with `--check` only compares it. Resolves to the exit code: 0 = written
 * or up to date, 1 = stale under `--check`, 2 = assembling failed (one line
 * on stderr).
 *
 * @example
 * ```ts
 * import { runGenerator, X86_64_PURGATORY } from "./gen-purgatory.ts";
 * if (await runGenerator(X86_64_PURGATORY, ["--check"]) !== 0) throw new Error("stale blob");
 * ```
 */
export async function runGenerator(target: PurgatoryTarget, args: string[]): Promise<number> {
  try {
    return await generate(target, args.includes("--check"));
  } catch (err) {
    console.error(`${target.script}: ${err instanceof Error ? err.message : err}`);
    return 2;
  }
}

async function generate(target: PurgatoryTarget, check: boolean): Promise<number> {
  const text = renderBlobModule(await assemblePurgatory(target));
  let current: string | null = null;
  try {
    current = await Deno.readTextFile(target.blob);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const name = repoPath(target.blob);
  if (check) {
    if (current === text) {
      console.log(`${name} is up to date`);
      return 0;
    }
    console.error(
      `${name} differs from ${repoPath(target.source)}; run \`deno run -A ${target.script}\``,
    );
    return 1;
  }
  if (current !== text) await Deno.writeTextFile(target.blob, text);
  console.log(`wrote ${target.blob.pathname}${current === text ? " (unchanged)" : ""}`);
  return 0;
}

if (import.meta.main) {
  let code = 0;
  for (const target of [X86_64_PURGATORY, X86_64_JUMP_BACK]) {
    code = Math.max(code, await runGenerator(target, Deno.args));
  }
  Deno.exit(code);
}
