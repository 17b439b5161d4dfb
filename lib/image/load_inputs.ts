/**
 * Everything a load needs from files, before any system call: the kernel
 * resolved to a native image (unwrapped into memfds), the command line (the
 * user's, else the image's embedded one), and one initrd made of the
 * image's embedded parts, the user's `--initrd` files and an archive of
 * `--extra-file`s. Both syscalls then get exactly the same bytes.
 *
 * @module
 */

import { decodeRaw } from "../raw_text.ts";
import type { Architecture } from "../arch/mod.ts";
import { size } from "../format.ts";
import type { ExtraFile, InitrdPart } from "../initramfs/compose.ts";
import type { OpenedFile, System } from "../sys/system.ts";
import { type ResolvedKernel, resolveKernel } from "./registry.ts";
import type { MemfdImageStore } from "./store.ts";

/** What {@link prepareLoadInputs} reads. */
export interface LoadInputsRequest {
  readonly kernel: string;
  readonly initrds: readonly string[];
  /** The user's command line; undefined when none was given (then the image's is used). */
  readonly cmdline?: string;
  readonly type?: string;
  readonly ukiProfile?: number;
  /** `--extra-file` values, parsed. */
  readonly extraFiles?: readonly { readonly host: string; readonly guest: string }[];
}

/** What a load works with. */
export interface LoadInputs {
  readonly resolved: ResolvedKernel;
  /** The kernel file as given. */
  readonly kernelFile: OpenedFile;
  /** The command line the new kernel gets. */
  readonly cmdline: string;
  /** The initrd: the user's only file as given, a memfd of every part, or null. */
  readonly initrd: OpenedFile | null;
  /** What the initrd is made of, for messages ("/boot/initrd.img", "vmlinuz.efi:.initrd"). */
  readonly initrdParts: readonly string[];
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
  /** Lines that warn about ignored input. */
  readonly warnings: readonly string[];
}

/**
 * Opens and resolves the files of a load. Every file and memfd opened is
 * pushed to `opened` (the caller closes them); inflated images live in
 * `store`.
 *
 * @example
 * ```ts
 * import { prepareLoadInputs } from "./load_inputs.ts";
 * import { MemfdImageStore } from "./store.ts";
 * import { architecture } from "../arch/mod.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const k = new Uint8Array(0x400);
 * const v = new DataView(k.buffer);
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint32(0x202, 0x53726448, true);
 * const sys = new RecordingSystem({ "/k": k, "/a": "aaaaa", "/b": "bb" });
 * const opened: import("../sys/system.ts").OpenedFile[] = [];
 * const inputs = await prepareLoadInputs(sys, architecture("x86_64"), {
 *   kernel: "/k", initrds: ["/a", "/b"],
 * }, opened, new MemfdImageStore(sys));
 * if (inputs.initrd?.size !== 10 || inputs.cmdline !== "") throw new Error(); // 5 + 3 padding + 2
 * ```
 */
export async function prepareLoadInputs(
  sys: System,
  arch: Architecture,
  req: LoadInputsRequest,
  opened: OpenedFile[],
  store: MemfdImageStore,
): Promise<LoadInputs> {
  const open = (path: string, role: string) => {
    const f = sys.openFile(path, role);
    opened.push(f);
    return f;
  };
  const kernelFile = open(req.kernel, "kernel");
  const resolved = await resolveKernel(sys.mapFile(kernelFile), req.kernel, arch, store, {
    type: req.type,
    ukiProfile: req.ukiProfile,
  });
  const warnings: string[] = [];
  if (req.ukiProfile !== undefined && !resolved.layers.includes("UKI")) {
    warnings.push(`--uki-profile is ignored: kernel ${req.kernel} is not a UKI`);
  }
  const notes = [...resolved.notes.slice(0, -1)];
  // A raw string (lib/raw_text.ts), so the embedded bytes reach the kernel unchanged.
  const embedded = resolved.cmdline === undefined ? undefined : decodeRaw(resolved.cmdline);
  let cmdline = req.cmdline ?? "";
  if (req.cmdline === undefined && embedded !== undefined) {
    cmdline = embedded;
    notes.push(
      `command line: the image's embedded one (${resolved.cmdline!.length} bytes); ` +
        "--append, --command-line or --reuse-cmdline would replace it",
    );
  } else if (embedded !== undefined) {
    notes.push(
      `command line: the one given replaces the image's embedded one (${
        resolved.cmdline!.length
      } bytes)`,
    );
  }

  const userFiles = req.initrds.map((p) => open(p, "initrd"));
  const extra: ExtraFile[] = (req.extraFiles ?? []).map((e) => ({
    file: open(e.host, "extra file"),
    guest: e.guest,
  }));
  const parts: InitrdPart[] = [
    ...resolved.initrds.map((p) => ({ name: p.name, bytes: p.bytes })),
    ...userFiles.map((file) => ({ name: file.path, file })),
  ];
  const partNames = parts.map((p) => p.name);
  if (extra.length > 0) partNames.push(`--extra-file archive (${extra.length} files)`);
  if (parts.length === 0 && extra.length === 0) {
    return { resolved, kernelFile, cmdline, initrd: null, initrdParts: [], notes, warnings };
  }
  if (parts.length === 1 && extra.length === 0 && "file" in parts[0]) {
    // The user's only initrd goes as it is (its fd keeps IMA's signature xattrs usable).
    return {
      resolved,
      kernelFile,
      cmdline,
      initrd: parts[0].file,
      initrdParts: partNames,
      notes,
      warnings,
    };
  }
  // The newc writer is imported only when parts are composed.
  const { alignPart, writeExtraFiles, writeInitrdParts } = await import("../initramfs/compose.ts");
  const writer = sys.createMemfd("kexec-initrd");
  let initrd: OpenedFile;
  const lines: string[] = [];
  try {
    lines.push(...writeInitrdParts(writer, parts));
    if (extra.length > 0) {
      alignPart(writer);
      const at = writer.size;
      const bytes = writeExtraFiles(writer, extra);
      lines.push(
        `  ${parts.length + 1}. newc archive of --extra-file: ` +
          extra.map((e) => `${e.file.path} as ${e.guest}`).join(", ") +
          `: ${bytes} bytes at offset ${at}`,
      );
    }
    initrd = writer.seal();
  } catch (e) {
    writer.discard();
    throw e;
  }
  opened.push(initrd);
  notes.push(
    `initrd: ${partNames.length} parts in one memfd, each at a 4-byte boundary ` +
      `(${size(initrd.size)}):`,
    ...lines,
  );
  return { resolved, kernelFile, cmdline, initrd, initrdParts: partNames, notes, warnings };
}

/**
 * The kernel to give kexec_file_load: the file itself when nothing was
 * unwrapped, the memfd an inflated image already lives in, or a new memfd
 * holding the unwrapped bytes (a UKI's `.linux`, copied by the kernel from
 * the mapping). Never a temporary file.
 *
 * @example
 * ```ts
 * import { kernelForFileLoad } from "./load_inputs.ts";
 * import { MemfdImageStore } from "./store.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({ "/k": new Uint8Array(8) });
 * const file = sys.openFile("/k", "kernel");
 * const inputs = { kernelFile: file, resolved: { bytes: new Uint8Array(4), unwrapped: true } };
 * const opened: import("../sys/system.ts").OpenedFile[] = [];
 * const k = kernelForFileLoad(sys, inputs as never, new MemfdImageStore(sys), opened);
 * if (k.size !== 4 || !k.path.startsWith("memfd:")) throw new Error();
 * ```
 */
export function kernelForFileLoad(
  sys: System,
  inputs: Pick<LoadInputs, "kernelFile" | "resolved">,
  store: MemfdImageStore,
  opened: OpenedFile[],
): OpenedFile {
  if (!inputs.resolved.unwrapped) return inputs.kernelFile;
  const inflated = store.fileOf(inputs.resolved.bytes);
  if (inflated) return inflated;
  const writer = sys.createMemfd("kexec-kernel");
  try {
    writer.write(inputs.resolved.bytes);
  } catch (e) {
    writer.discard();
    throw e;
  }
  const file = writer.seal();
  opened.push(file);
  return file;
}
