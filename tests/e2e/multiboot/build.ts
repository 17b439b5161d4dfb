/**
 * Builds the Multiboot test kernels (mb1_kernel.S, mb2_kernel.S beside this
 * file) with GNU as, ld and objcopy (Debian package binutils) into a
 * directory, once per test process. Nothing built is committed.
 *
 * @module
 */

const HERE = new URL("./", import.meta.url).pathname;

/** The built kernels. */
export interface MultibootTestKernels {
  /** Multiboot, flat image with the a.out kludge, loads at 1 MiB. */
  mb1: string;
  /** Multiboot2, ELF32, loads at 2 MiB. */
  mb2: string;
}

async function run(cmd: string, args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`\`${cmd}\` not found: install GNU binutils (apt-get install binutils)`);
    }
    throw err;
  }
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

const built = new Map<string, Promise<MultibootTestKernels>>();

/**
 * Assembles and links both test kernels into `dir` (once per directory and process).
 *
 * @example
 * ```ts
 * import { buildMultibootTestKernels } from "./build.ts";
 * const dir = await Deno.makeTempDir();
 * const k = await buildMultibootTestKernels(dir);
 * const mb2 = await Deno.readFile(k.mb2);
 * await Deno.remove(dir, { recursive: true });
 * if (mb2[0] !== 0x7f || mb2[4] !== 1) throw new Error("not an ELF32");
 * ```
 */
export function buildMultibootTestKernels(dir: string): Promise<MultibootTestKernels> {
  const cached = built.get(dir);
  if (cached) return cached;
  const building = (async () => {
    await Deno.mkdir(dir, { recursive: true });
    for (const k of ["mb1", "mb2"]) {
      await run("as", ["--32", "-I", HERE, "-o", `${dir}/${k}.o`, `${HERE}${k}_kernel.S`]);
    }
    await run("ld", [
      "-m",
      "elf_i386",
      "-N",
      "--no-warn-rwx-segments",
      "-Ttext=0x100000",
      "-e",
      "mb1_entry",
      "-o",
      `${dir}/mb1.elf`,
      `${dir}/mb1.o`,
    ]);
    await run("objcopy", ["-O", "binary", "-j", ".text", `${dir}/mb1.elf`, `${dir}/mb1.bin`]);
    await run("ld", [
      "-m",
      "elf_i386",
      "-N",
      "--no-warn-rwx-segments",
      "-Ttext=0x200000",
      "-e",
      "mb2_entry",
      "-o",
      `${dir}/mb2.elf`,
      `${dir}/mb2.o`,
    ]);
    return { mb1: `${dir}/mb1.bin`, mb2: `${dir}/mb2.elf` };
  })();
  built.set(dir, building);
  return building;
}
