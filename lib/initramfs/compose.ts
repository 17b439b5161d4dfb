/**
 * One initrd made of several parts, as the kernel's initramfs unpacker reads
 * a buffer (Documentation/driver-api/early-userspace/buffer-format.rst): any
 * sequence of cpio archives, compressed or not, and NUL padding between
 * them, unpacked in order, later files replacing earlier ones. An
 * uncompressed archive is only found at a 4-byte boundary, so each part is
 * padded to a multiple of 4 with NULs.
 *
 * The parts — a UKI's `.ucode` and `.initrd`, the user's `--initrd` files,
 * an archive of `--extra-file`s — are written into one memfd: file contents
 * are copied inside the kernel (sendfile), mapped sections straight from the
 * mapping, so nothing passes through the JS heap but cpio headers. Both
 * syscalls then see the same bytes: kexec_file_load gets the memfd,
 * kexec_load a mapping of it.
 *
 * @module
 */

import type { MemfdWriter, OpenedFile } from "../sys/system.ts";
import { NewcEncoder, newcPadding } from "./cpio.ts";

export { parseExtraFile } from "./extra_file.ts";

/** Parts are aligned to this many bytes (buffer-format.rst). */
export const INITRD_PART_ALIGN = 4;

/** One part: bytes already mapped, or an opened file. */
export type InitrdPart =
  | { readonly name: string; readonly bytes: Uint8Array }
  | { readonly name: string; readonly file: OpenedFile };

/** A file for the `--extra-file` archive. */
export interface ExtraFile {
  /** The opened host file. */
  readonly file: OpenedFile;
  /** Its path in the new kernel's initramfs. */
  readonly guest: string;
}

/**
 * Appends `parts` to `writer`, each padded to {@link INITRD_PART_ALIGN}, and
 * returns one line per part with its offset, for the notes.
 *
 * @example
 * ```ts
 * import { writeInitrdParts } from "./compose.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({});
 * const w = sys.createMemfd("initrd");
 * writeInitrdParts(w, [{ name: "a", bytes: new Uint8Array(5) }, { name: "b", bytes: new Uint8Array(3) }]);
 * if (w.size !== 11) throw new Error(String(w.size)); // 5 + 3 padding + 3
 * ```
 */
export function writeInitrdParts(writer: MemfdWriter, parts: readonly InitrdPart[]): string[] {
  const lines: string[] = [];
  for (const [i, part] of parts.entries()) {
    alignPart(writer);
    const at = writer.size;
    if ("bytes" in part) writer.write(part.bytes);
    else writer.append(part.file);
    lines.push(`  ${i + 1}. ${part.name}: ${writer.size - at} bytes at offset ${at}`);
  }
  return lines;
}

/**
 * Pads `writer` with NULs to the next {@link INITRD_PART_ALIGN} boundary,
 * where the next part may start.
 *
 * @example
 * ```ts
 * import { alignPart } from "./compose.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const w = new RecordingSystem({}).createMemfd("initrd");
 * w.write(new Uint8Array(5));
 * alignPart(w);
 * if (w.size !== 8) throw new Error();
 * ```
 */
export function alignPart(writer: MemfdWriter): void {
  const pad = newcPadding(writer.size);
  if (pad.length > 0) writer.write(pad);
}

/**
 * Appends a newc archive of `files` to `writer` (parent directories
 * included; contents copied by the kernel from the files) and returns its
 * size. Call it at a part boundary ({@link alignPart}).
 *
 * @example
 * ```ts
 * import { writeExtraFiles } from "./compose.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({ "/k.pub": "ssh-ed25519 AAAA\n" });
 * const w = sys.createMemfd("initrd");
 * writeExtraFiles(w, [{ file: sys.openFile("/k.pub", "extra file"), guest: "/etc/k.pub" }]);
 * const text = new TextDecoder().decode(sys.mapFile(w.seal()));
 * if (!text.includes("etc/k.pub\0") || !text.includes("TRAILER!!!")) throw new Error(text);
 * ```
 */
export function writeExtraFiles(writer: MemfdWriter, files: readonly ExtraFile[]): number {
  const start = writer.size;
  const encoder = new NewcEncoder();
  for (const { file, guest } of files) {
    writer.write(encoder.header({
      type: "file",
      path: guest,
      mode: file.mode ?? 0o644,
      size: file.size,
      chunks: [],
    }));
    writer.append(file);
    const pad = newcPadding(file.size);
    if (pad.length > 0) writer.write(pad);
  }
  writer.write(encoder.trailer());
  return writer.size - start;
}
