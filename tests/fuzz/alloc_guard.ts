/**
 * Catches allocations sized by unchecked header fields: inside a fuzz worker
 * the global ArrayBuffer, typed-array and Array constructors are wrapped so
 * that a request above the cap throws (before any memory is taken) and is
 * recorded, even when the parser catches the error and rethrows something else.
 *
 * @module
 */

/**
 * An allocation above the cap.
 *
 * @example
 * ```ts
 * import { AllocationCapError } from "./alloc_guard.ts";
 * if (new AllocationCapError("x").name !== "AllocationCapError") throw new Error();
 * ```
 */
export class AllocationCapError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "AllocationCapError";
  }
}

/** The guard's per-input state. */
export interface AllocationGuard {
  /** Starts a new input with this cap (bytes). */
  reset(capBytes: number): void;
  /** The first over-cap request of this input, if any. */
  readonly exceeded: string | undefined;
}

const TYPED_ARRAYS = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

/**
 * Wraps the global constructors (once per realm) and returns the guard. Only
 * allocations given as a length are checked; views of existing buffers and
 * copies of existing arrays cannot exceed what already exists.
 *
 * @example
 * ```ts
 * import { installAllocationGuard } from "./alloc_guard.ts";
 * const guard = installAllocationGuard();
 * guard.reset(1024);
 * new Uint8Array(16);
 * let refused = false;
 * try { new Uint8Array(4096); } catch { refused = true; }
 * guard.reset(Infinity);
 * if (!refused || guard.exceeded !== undefined) throw new Error();
 * ```
 */
export function installAllocationGuard(): AllocationGuard {
  if (installed) return installed;
  const g = globalThis as unknown as Record<string, unknown>;
  let cap = Infinity;
  let exceeded: string | undefined;
  const admit = (what: string, bytes: number) => {
    if (bytes > cap) {
      const message = `${what} of ${bytes} bytes exceeds the ${cap}-byte cap`;
      exceeded ??= message;
      throw new AllocationCapError(message);
    }
  };
  const wrap = (name: string, bytesPerElement: number) => {
    const original = g[name] as new (...args: unknown[]) => unknown;
    const checkArgs = (args: unknown[]) => {
      if (typeof args[0] === "number") admit(`new ${name}(${args[0]})`, args[0] * bytesPerElement);
      const options = args[1] as { maxByteLength?: unknown } | undefined;
      if (name.endsWith("Buffer") && typeof options?.maxByteLength === "number") {
        admit(`new ${name}(…, maxByteLength ${options.maxByteLength})`, options.maxByteLength);
      }
    };
    g[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        checkArgs(args);
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
      apply(target, self, args) {
        // Array(n) without `new` allocates too; typed arrays cannot be called.
        if (name === "Array" && args.length === 1) checkArgs(args);
        return Reflect.apply(target, self, args);
      },
    });
  };
  for (const name of TYPED_ARRAYS) {
    wrap(name, (g[name] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
  }
  wrap("ArrayBuffer", 1);
  wrap("SharedArrayBuffer", 1);
  // A JS array slot is at least a pointer.
  wrap("Array", 8);
  const guard: AllocationGuard = {
    reset(capBytes: number) {
      cap = capBytes;
      exceeded = undefined;
    },
    get exceeded() {
      return exceeded;
    },
  };
  installed = guard;
  return guard;
}

let installed: AllocationGuard | undefined;
