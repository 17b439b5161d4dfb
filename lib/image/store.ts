/**
 * The {@link ImageStore} of a load: every inflated image is streamed into
 * its own sealed memfd and mapped read-only, so it never lives in the JS heap
 * and the innermost one can be handed to kexec_file_load as it is (Linux
 * mm/memfd.c; no temporary file anywhere).
 *
 * @module
 */

import type { MemfdWriter, OpenedFile, System } from "../sys/system.ts";
import type { ImageSink, ImageStore } from "./types.ts";

/**
 * Memfds of one load; {@link MemfdImageStore.close} closes them all.
 *
 * @example
 * ```ts
 * import { MemfdImageStore } from "./store.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const store = new MemfdImageStore(new RecordingSystem({}));
 * const sink = store.create("kernel");
 * sink.write(new Uint8Array([1, 2, 3]));
 * const bytes = sink.finish();
 * if (bytes.length !== 3 || store.fileOf(bytes)?.size !== 3) throw new Error();
 * store.close();
 * ```
 */
export class MemfdImageStore implements ImageStore {
  #sys: System;
  #files: { bytes: Uint8Array; file: OpenedFile }[] = [];

  /** A store writing memfds through `sys`. */
  constructor(sys: System) {
    this.#sys = sys;
  }

  /** A sink backed by a new memfd named `kexec-<name>`. */
  create(name: string): ImageSink {
    const writer: MemfdWriter = this.#sys.createMemfd(`kexec-${name}`);
    return {
      write: (chunk) => writer.write(chunk),
      finish: () => {
        const file = writer.seal();
        // mmap refuses an empty file; an empty image is refused by the caller anyway.
        const bytes = file.size === 0 ? new Uint8Array(0) : this.#sys.mapFile(file);
        this.#files.push({ bytes, file });
        return bytes;
      },
      discard: () => writer.discard(),
    };
  }

  /** The memfd holding exactly `bytes`, if they came from this store. */
  fileOf(bytes: Uint8Array): OpenedFile | undefined {
    return this.#files.find((f) => f.bytes === bytes)?.file;
  }

  /** Closes every memfd (their mappings stay valid until the process ends). */
  close(): void {
    for (const { file } of this.#files) this.#sys.close(file);
    this.#files = [];
  }
}
