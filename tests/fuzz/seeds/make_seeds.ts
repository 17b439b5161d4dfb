/**
 * Regenerates the committed fuzzing seeds from real files on this machine.
 * Run it once after `deno run -A scripts/fetch-test-assets.ts`:
 *
 * ```sh
 * deno run -A tests/fuzz/seeds/make_seeds.ts
 * ```
 *
 * - `bzimage-debian-head.bin`: the first 64 KiB of the cached Debian kernel
 *   (boot sector, setup header, setup code and the start of the protected-mode
 *   part) — the fuzz targets derive complete small kernels from it.
 * - `elf-deno-dynamic.bin`: the deno executable's ELF header, program headers,
 *   PT_INTERP and .dynstr (its first 0x8000 bytes) followed by its .dynamic
 *   section, with PT_DYNAMIC's p_offset moved to where the copy now lies.
 * - `elf-libdl.so.2`: a whole small shared library (has DT_SONAME).
 * - `boot_params-host.bin`: this machine's /sys/kernel/boot_params/data, the
 *   running boot_params a kexec_load plan carries fields from.
 * - `iomem-host.txt`, `memmap-host.txt`, `proc-self-status.txt`,
 *   `cmdline-host.txt`: this machine's /proc/iomem, /sys/firmware/memmap
 *   (in the tests/fixtures memmap format), /proc/self/status and /proc/cmdline.
 *
 * @module
 */

const here = new URL("./", import.meta.url);
const out = (name: string) => new URL(name, here);
const KERNEL_DIR = new URL("../../../.cache/e2e/kernel/", import.meta.url);
const HEAD_BYTES = 64 * 1024;

function findKernel(): string {
  for (const pkg of Deno.readDirSync(KERNEL_DIR)) {
    for (const f of Deno.readDirSync(new URL(`${pkg.name}/boot/`, KERNEL_DIR))) {
      if (f.name.startsWith("vmlinuz-")) {
        return new URL(`${pkg.name}/boot/${f.name}`, KERNEL_DIR).pathname;
      }
    }
  }
  throw new Error("no cached kernel; run: deno run -A scripts/fetch-test-assets.ts");
}

// ELF64 little-endian offsets (gABI "ELF Header", "Program Header").
const E_PHOFF = 0x20;
const E_PHNUM = 0x38;
const PHDR_SIZE = 56;
const P_OFFSET = 0x08;
const P_FILESZ = 0x20;
const PT_DYNAMIC = 2;
const ELF_PREFIX = 0x8000;

function compactDeno(): Uint8Array {
  const exe = Deno.readFileSync(Deno.execPath());
  const v = new DataView(exe.buffer);
  const phoff = Number(v.getBigUint64(E_PHOFF, true));
  const phnum = v.getUint16(E_PHNUM, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    if (v.getUint32(at, true) !== PT_DYNAMIC) continue;
    const offset = Number(v.getBigUint64(at + P_OFFSET, true));
    const size = Number(v.getBigUint64(at + P_FILESZ, true));
    const seed = new Uint8Array(ELF_PREFIX + size);
    seed.set(exe.subarray(0, ELF_PREFIX));
    seed.set(exe.subarray(offset, offset + size), ELF_PREFIX);
    new DataView(seed.buffer).setBigUint64(at + P_OFFSET, BigInt(ELF_PREFIX), true);
    return seed;
  }
  throw new Error("deno has no PT_DYNAMIC");
}

function memmapDump(): string {
  const dir = "/sys/firmware/memmap";
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort((a, b) => +a - +b);
  const read = (n: string, f: string) => Deno.readTextFileSync(`${dir}/${n}/${f}`).trim();
  return "# index start end type, from /sys/firmware/memmap\n" +
    names.map((n) => `${n} ${read(n, "start")} ${read(n, "end")} ${read(n, "type")}\n`).join("");
}

const kernel = Deno.readFileSync(findKernel());
Deno.writeFileSync(out("bzimage-debian-head.bin"), kernel.subarray(0, HEAD_BYTES));
Deno.writeFileSync(out("elf-deno-dynamic.bin"), compactDeno());
Deno.writeFileSync(out("elf-libdl.so.2"), Deno.readFileSync("/lib/x86_64-linux-gnu/libdl.so.2"));
Deno.writeFileSync(out("boot_params-host.bin"), Deno.readFileSync("/sys/kernel/boot_params/data"));
Deno.writeTextFileSync(out("iomem-host.txt"), Deno.readTextFileSync("/proc/iomem"));
Deno.writeTextFileSync(out("memmap-host.txt"), memmapDump());
Deno.writeTextFileSync(out("proc-self-status.txt"), Deno.readTextFileSync("/proc/self/status"));
Deno.writeTextFileSync(out("cmdline-host.txt"), Deno.readTextFileSync("/proc/cmdline"));
console.log(`seeds written to ${here.pathname}`);
