/**
 * Host-side samples for the kernel-format cases, made once per test process
 * from the test kernel with the tools distributions use and cached under
 * `.cache/e2e/formats/`: the bzImage compressed by gzip and zstd, a UKI built
 * by objcopy onto Debian's systemd-stub, the ELF vmlinux inside the bzImage
 * (its payload found through payload_offset/payload_length and inflated by
 * xz-utils, as scripts/extract-vmlinux does), a gzip bomb, and an archive
 * with makedumpfile and its libraries for crash kernels.
 *
 * @module
 */

import { parseSetupHeader } from "../../lib/arch/x86_64/setup_header.ts";
import { defaultCacheDir, ensureTestAssets } from "../../scripts/fetch-test-assets.ts";
import { hostFileEntry, sharedLibraryClosure, writeArchive } from "../../scripts/mkinitramfs.ts";
import { type CpioEntry, newcArchive } from "../../lib/initramfs/cpio.ts";
import { buildUki, compress, pipeThrough, text } from "../support/image_samples.ts";

/** The embedded command line of the test UKI (second stage compares it byte for byte). */
export const UKI_CMDLINE = "console=ttyS0 panic=-1 e2e.uki=embedded";

/** Paths of the samples on the host. */
export interface FormatSamples {
  gzip: string;
  zstd: string;
  uki: string;
  vmlinux: string;
  bomb: string;
  makedumpfile: string;
  /** A second initrd for --initrd: a marker and the second-stage hook. */
  second: string;
  /** A one-line text file for --extra-file. */
  hello: string;
}

/** What the second stage must find in /e2e-extra/hello.txt. */
export const HELLO = "hello from --extra-file";

const MAKEDUMPFILE = "/usr/bin/makedumpfile";
const STAGE2_HOOK_GUEST = "/e2e-stage2-case.sh";

let samples: Promise<FormatSamples> | undefined;

async function cached(path: string, make: () => Promise<Uint8Array | void>): Promise<string> {
  try {
    await Deno.stat(path);
  } catch {
    const bytes = await make();
    if (bytes) await Deno.writeFile(`${path}.tmp`, bytes);
    await Deno.rename(`${path}.tmp`, path);
  }
  return path;
}

/**
 * The ELF vmlinux inside a bzImage: its payload inflated by the tool of its
 * compression. The build appends the inflated size to xz and zstd payloads
 * (scripts/Makefile.lib `_with_size`), which the tools must not see.
 */
export function extractVmlinux(bzImage: Uint8Array): Promise<Uint8Array> {
  const h = parseSetupHeader(bzImage, "test kernel");
  const start = h.pmOffset + h.payloadOffset;
  const payload = bzImage.subarray(start, start + h.payloadLength);
  if (payload[0] === 0xfd && payload[1] === 0x37) {
    return pipeThrough("xz", ["-dc", "--single-stream"], payload);
  }
  if (payload[0] === 0x28 && payload[1] === 0xb5) {
    return pipeThrough("zstd", ["-dcq"], payload.subarray(0, payload.length - 4));
  }
  if (payload[0] === 0x1f && payload[1] === 0x8b) return pipeThrough("gzip", ["-dc"], payload);
  throw new Error(
    `the test kernel's payload starts with ${payload.subarray(0, 4)}: not xz, zstd or gzip`,
  );
}

/** Builds (or finds in the cache) every sample. */
export function formatSamples(): Promise<FormatSamples> {
  samples ??= (async () => {
    const assets = await ensureTestAssets();
    const dir = `${defaultCacheDir()}/formats`;
    await Deno.mkdir(dir, { recursive: true });
    const kernel = await Deno.readFile(assets.kernel);
    const key = (await Deno.stat(assets.kernel)).size.toString(16);
    return {
      gzip: await cached(`${dir}/vmlinuz-${key}.gz`, () => compress("gzip", kernel, ["-9"])),
      zstd: await cached(`${dir}/vmlinuz-${key}.zst`, () => compress("zstd", kernel, ["-19"])),
      uki: await cached(`${dir}/uki-${key}.efi`, () =>
        buildUki([
          [".osrel", text('PRETTY_NAME="kexec e2e"\nID=e2e\n')],
          [".cmdline", text(`${UKI_CMDLINE}\n`)],
          [".uname", text("e2e\n")],
          [".ucode", markerArchive("/e2e-ucode-marker", "ucode-first")],
          [".initrd", markerArchive("/e2e-uki-initrd-marker", "uki-initrd")],
          [".linux", kernel],
        ])),
      vmlinux: await cached(`${dir}/vmlinux-${key}`, () => extractVmlinux(kernel)),
      bomb: await cached(
        `${dir}/bomb.gz`,
        () => pipeThrough("sh", ["-c", "head -c 300000000 /dev/zero | gzip -9 | gzip -9"]),
      ),
      second: await cached(
        `${dir}/second.cpio`,
        () => Promise.resolve(markerArchive("/e2e-second-marker", "second-initrd")),
      ),
      hello: await cached(`${dir}/hello.txt`, () => Promise.resolve(text(`${HELLO}\n`))),
      makedumpfile: await cached(`${dir}/makedumpfile-3.cpio`, async () => {
        await writeArchive(makedumpfileEntries(), `${dir}/makedumpfile-3.cpio.tmp`);
      }),
    };
  })();
  return samples;
}

/**
 * An uncompressed newc archive (as microcode archives are) holding `marker`
 * with `value`, `/e2e-order` with `value` (the last archive unpacked wins, so
 * it tells the order), and the second-stage hook that reports every marker.
 */
function markerArchive(marker: string, value: string): Uint8Array {
  const show = (name: string, path: string) =>
    `report "E2E-VALUE ${name}=$(cat ${path} 2>/dev/null || echo missing)"`;
  const hook = [
    "# Reports which parts of the composed initrd reached the second stage.",
    show("ucode_marker", "/e2e-ucode-marker"),
    show("uki_initrd_marker", "/e2e-uki-initrd-marker"),
    show("second_marker", "/e2e-second-marker"),
    show("order", "/e2e-order"),
    show("extra_file", "/e2e-extra/hello.txt"),
    "",
  ].join("\n");
  return newcArchive([
    { type: "file", path: marker, data: text(`${value}\n`) },
    { type: "file", path: "/e2e-order", data: text(`${value}\n`) },
    { type: "file", path: STAGE2_HOOK_GUEST, data: text(hook) },
  ]);
}

async function* makedumpfileEntries(): AsyncGenerator<CpioEntry> {
  yield await hostFileEntry(MAKEDUMPFILE, MAKEDUMPFILE, 0o755);
  for (const lib of sharedLibraryClosure(MAKEDUMPFILE)) {
    yield await hostFileEntry(lib.host, lib.guest, 0o755);
  }
  // Runs in the crash kernel's second stage (sourced by stage2-init.sh).
  yield {
    type: "file",
    path: STAGE2_HOOK_GUEST,
    mode: 0o644,
    data: text([
      "if [ -e /proc/vmcore ]; then",
      "  # makedumpfile writes a temporary copy of VMCOREINFO to $TMPDIR.",
      "  mkdir -p /tmp && export TMPDIR=/tmp",
      "  mkfifo /dump.fifo",
      "  wc -c </dump.fifo >/dump.size &",
      "  started=$(cut -d' ' -f1 /proc/uptime)",
      "  /usr/bin/makedumpfile -F -l -d 31 /proc/vmcore >/dump.fifo 2>/dump.err",
      '  report "E2E-VALUE makedumpfile_rc=$?"',
      "  report \"E2E-VALUE makedumpfile_seconds=$started..$(cut -d' ' -f1 /proc/uptime)\"",
      "  wait",
      '  report "E2E-VALUE makedumpfile_bytes=$(cat /dump.size)"',
      '  while IFS= read -r l; do report "E2E-VALUE makedumpfile_err=$l"; done </dump.err',
      "fi",
      "",
    ].join("\n")),
  };
}
