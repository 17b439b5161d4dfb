/**
 * Test-only: a {@link System} that passes one file's kexec_load segment with
 * a byte flipped after the plan (and the purgatory's SHA-256 digests) were
 * made, so an end-to-end test can prove that the purgatory never jumps into a
 * corrupted image. It wraps any System (the host's in a guest, a recording
 * one in unit tests) and changes nothing else. Never part of the product:
 * tests/e2e/tool/corrupt_main.ts is its entry point.
 *
 * @module
 */

import type { Arch } from "../../lib/abi.ts";
import type { Sha256 } from "../../lib/bytes.ts";
import type { MemfdWriter, OpenedFile, Output, System } from "../../lib/sys/system.ts";

/** What was corrupted, for assertions. */
export interface Corruption {
  /** Index of the segment in the kexec_load table. */
  readonly segment: number;
  /** Offset of the flipped byte in it. */
  readonly offset: number;
}

/** Segment table row: buf, bufsz, mem, memsz (struct kexec_segment, include/uapi/linux/kexec.h). */
const ROW = 4;

/**
 * Wraps `inner`; the kexec_load segment whose source bytes are the mapping of
 * `path` goes to the kernel as a copy with its middle byte flipped.
 *
 * @example
 * ```ts
 * import { CorruptingSystem } from "./corrupting_system.ts";
 * import { RecordingSystem } from "../../lib/sys/recording.ts";
 * const inner = new RecordingSystem({ "/i": new Uint8Array(8).fill(1) });
 * const sys = new CorruptingSystem(inner, "/i");
 * const map = sys.mapFile(sys.openFile("/i", "initrd"));
 * const table = new BigUint64Array([sys.addressOf(map), 8n, 0x100000n, 0x1000n]);
 * sys.kexecLoad(0x100000n, table, 1, 0, [map]);
 * if (sys.corrupted?.segment !== 0 || sys.corrupted.offset !== 4) throw new Error();
 * ```
 */
export class CorruptingSystem implements System {
  readonly #inner: System;
  readonly #path: string;
  #mapping?: Uint8Array;
  /** Set once a segment has been corrupted. */
  corrupted?: Corruption;

  constructor(inner: System, path: string) {
    this.#inner = inner;
    this.#path = path;
  }

  get arch(): Arch {
    return this.#inner.arch;
  }
  get pageSize(): number {
    return this.#inner.pageSize;
  }
  get io(): Output {
    return this.#inner.io;
  }

  mapFile(file: OpenedFile): Uint8Array {
    const bytes = this.#inner.mapFile(file);
    if (file.path === this.#path) this.#mapping = bytes;
    return bytes;
  }

  kexecLoad(
    entry: bigint,
    table: BigUint64Array,
    nrSegments: number,
    flags: number,
    keepAlive: readonly Uint8Array[],
  ): number {
    const i = keepAlive.findIndex((b) => b.length > 0 && b.buffer === this.#mapping?.buffer);
    if (i < 0) return this.#inner.kexecLoad(entry, table, nrSegments, flags, keepAlive);
    const copy = keepAlive[i].slice();
    const offset = copy.length >> 1;
    copy[offset] ^= 0xff;
    const rows = table.slice();
    rows[i * ROW] = this.#inner.addressOf(copy);
    const alive = keepAlive.map((b, j) => j === i ? copy : b);
    this.corrupted = { segment: i, offset };
    this.io.err(
      `kexec: test: segment ${i} (${this.#path}) passed with byte ${offset} flipped after its ` +
        "digest\n",
    );
    return this.#inner.kexecLoad(entry, rows, nrSegments, flags, alive);
  }

  readText(path: string): string | undefined {
    return this.#inner.readText(path);
  }
  readBytes(path: string, maxBytes: number): Uint8Array | undefined {
    return this.#inner.readBytes(path, maxBytes);
  }
  listDir(path: string): string[] | undefined {
    return this.#inner.listDir(path);
  }
  mountPrivateSysfs(): number {
    return this.#inner.mountPrivateSysfs();
  }
  openFile(path: string, role: string): OpenedFile {
    return this.#inner.openFile(path, role);
  }
  createMemfd(name: string): MemfdWriter {
    return this.#inner.createMemfd(name);
  }
  close(file: OpenedFile): void {
    this.#inner.close(file);
  }
  addressOf(bytes: Uint8Array): bigint {
    return this.#inner.addressOf(bytes);
  }
  kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: Uint8Array | null, flags: number) {
    return this.#inner.kexecFileLoad(kernelFd, initrdFd, cmdline, flags);
  }
  probeKexecLoadFlags(flags: number): number {
    return this.#inner.probeKexecLoadFlags(flags);
  }
  reboot(cmd: number): number {
    return this.#inner.reboot(cmd);
  }
  sync(timeoutMs: number): Promise<boolean> {
    return this.#inner.sync(timeoutMs);
  }
  setInterfaceDown(name: string): number {
    return this.#inner.setInterfaceDown(name);
  }
  fiveLevelPaging(): boolean {
    return this.#inner.fiveLevelPaging();
  }
  random(n: number): Uint8Array {
    return this.#inner.random(n);
  }
  nativeSha256(): Sha256 | undefined {
    return this.#inner.nativeSha256();
  }
  kmsg(line: string): void {
    this.#inner.kmsg(line);
  }
}
