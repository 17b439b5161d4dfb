/**
 * Real samples of every wrapper, made in the test by the tools distributions
 * use: gzip, zstd and xz (xz-utils) for compressed kernels, GNU objcopy onto
 * Debian's systemd-boot-efi stub for UKIs (single- and multi-profile), GNU as
 * and ld (binutils) for an x86_64 ELF executable shaped like a vmlinux. A
 * missing tool fails with the package that provides it; nothing is skipped.
 *
 * @module
 */

import { parsePe } from "../../lib/image/pe.ts";

/** Debian's systemd-stub (package systemd-boot-efi). */
export const UKI_STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

const PACKAGES: Record<string, string> = {
  gzip: "gzip",
  zstd: "zstd",
  xz: "xz-utils",
  objcopy: "binutils",
  as: "binutils",
  ld: "binutils",
  cpio: "cpio",
};

/** Runs `cmd` with `input` on stdin and returns stdout; throws with stderr on failure. */
export async function pipeThrough(
  cmd: string,
  args: string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: input ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${cmd} not found: apt-get install ${PACKAGES[cmd] ?? cmd}`);
    }
    throw e;
  }
  // Written while the output is read: a large input would fill both pipes otherwise.
  const writing = input
    ? (async () => {
      const w = child.stdin.getWriter();
      await w.write(input);
      await w.close();
    })()
    : Promise.resolve();
  const [out] = await Promise.all([child.output(), writing]);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** `bytes` compressed by the real tool. */
export function compress(tool: "gzip" | "zstd" | "xz", bytes: Uint8Array, extra: string[] = []) {
  const args = tool === "zstd" ? ["-q", "-c", ...extra] : ["-c", ...extra];
  return pipeThrough(tool, args, bytes);
}

/** A section to add to a UKI: its name and bytes. */
export type UkiSection = readonly [string, Uint8Array];

/**
 * A UKI made like the systemd 252 documentation says: `objcopy --add-section`
 * onto the stub, each section at the next page-aligned address after the
 * stub's sections. Sections are added in the order given; repeated names
 * (multi-profile UKIs) are added under temporary names and renamed.
 */
export async function buildUki(sections: readonly UkiSection[]): Promise<Uint8Array> {
  const stub = Deno.readFileSync(UKI_STUB);
  const pe = parsePe(stub, UKI_STUB);
  let vma = Math.max(...pe.sections.map((s) => s.virtualAddress + s.virtualSize));
  const dir = await Deno.makeTempDir({ prefix: "uki-test-" });
  try {
    const args: string[] = [];
    const renames: string[] = [];
    for (const [i, [name, bytes]] of sections.entries()) {
      vma = Math.ceil(vma / 0x1000) * 0x1000;
      const temp = `.s${i}`;
      await Deno.writeFile(`${dir}/${i}`, bytes);
      args.push(
        "--add-section",
        `${temp}=${dir}/${i}`,
        "--change-section-vma",
        `${temp}=0x${vma.toString(16)}`,
        "--set-section-flags",
        `${temp}=data,readonly`,
      );
      renames.push("--rename-section", `${temp}=${name}`);
      vma += Math.max(bytes.length, 1);
    }
    // objcopy renames only sections it read, so the names are set in a second pass.
    await pipeThrough("objcopy", [...args, UKI_STUB, `${dir}/added.efi`]);
    await pipeThrough("objcopy", [...renames, `${dir}/added.efi`, `${dir}/uki.efi`]);
    return await Deno.readFile(`${dir}/uki.efi`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * An x86_64 ET_EXEC linked like a vmlinux: text at physical (= virtual)
 * 0x1000000, data at 0x1200000, a bss-like tail; entry `startup_64` at the
 * start. Made with GNU as and ld.
 */
export async function tinyVmlinux(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "vmlinux-test-" });
  try {
    await Deno.writeTextFile(
      `${dir}/k.s`,
      [
        ".text",
        ".globl startup_64",
        "startup_64:",
        "  hlt",
        "  jmp startup_64",
        "  .fill 0x3000, 1, 0x90",
        ".data",
        "  .quad 0x1122334455667788",
        "  .fill 0x2000, 1, 0x5a",
        ".bss",
        "  .skip 0x4000",
        "",
      ].join("\n"),
    );
    // Program headers as the kernel's vmlinux.lds.S declares them: no file
    // header in any PT_LOAD, each output section in its own segment.
    await Deno.writeTextFile(
      `${dir}/k.lds`,
      [
        "ENTRY(startup_64)",
        "PHDRS { text PT_LOAD; data PT_LOAD; }",
        "SECTIONS {",
        "  . = 0x1000000;",
        "  .text : { *(.text) } :text",
        "  . = 0x1200000;",
        "  .data : { *(.data) } :data",
        "  .bss : { *(.bss) } :data",
        "  /DISCARD/ : { *(.note*) }",
        "}",
        "",
      ].join("\n"),
    );
    await pipeThrough("as", ["--64", "-o", `${dir}/k.o`, `${dir}/k.s`]);
    await pipeThrough("ld", [
      "-static",
      "-nostdlib",
      "-z",
      "noexecstack",
      "-T",
      `${dir}/k.lds`,
      "-o",
      `${dir}/vmlinux`,
      `${dir}/k.o`,
    ]);
    return await Deno.readFile(`${dir}/vmlinux`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Text as bytes. */
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A newc archive of `files` made by GNU cpio (as initramfs tools do). */
export async function gnuCpio(files: Record<string, string>): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "cpio-test-" });
  try {
    for (const [name, content] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${name}`, content);
    }
    const list = text(Object.keys(files).join("\n") + "\n");
    const child = new Deno.Command("cpio", {
      args: ["-o", "-H", "newc", "--quiet"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(list);
    await w.close();
    const out = await child.output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The files GNU cpio lists in `archive`, with their contents (`cpio -i --to-stdout` per file). */
export async function readWithGnuCpio(archive: Uint8Array): Promise<Map<string, string>> {
  const names = new TextDecoder().decode(
    await pipeThrough("cpio", ["-i", "-t", "--quiet"], archive),
  ).split("\n").filter((n) => n !== "");
  const files = new Map<string, string>();
  for (const name of names) {
    const out = await pipeThrough("cpio", ["-i", "--to-stdout", "--quiet", name], archive);
    files.set(name, new TextDecoder().decode(out));
  }
  return files;
}
