/**
 * A pure Flattened Device Tree (DTB) reader and writer (Devicetree
 * Specification v0.4, chapter 5): {@link parseFdt} reads a blob into a tree of
 * nodes and properties, the helpers find nodes and read or change
 * properties, and {@link serializeFdt} writes the tree back, byte for byte
 * the same when nothing changed. `chosen.ts` holds the `/chosen` edits a
 * kexec needs.
 *
 * @example
 * ```ts
 * import { findNode, parseFdt, readString, serializeFdt, setProperty, fdtString } from "./fdt.ts";
 * import { emptyFdt, addChild } from "./fdt.ts";
 * const tree = emptyFdt();
 * addChild(tree.root, "chosen");
 * const fdt = parseFdt(serializeFdt(tree), "demo.dtb");
 * const chosen = findNode(fdt, "/chosen")!;
 * setProperty(chosen, "bootargs", fdtString("console=ttyAMA0"));
 * const edited = parseFdt(serializeFdt(fdt, { freeSpace: 0x1000 }));
 * if (readString(findNode(edited, "/chosen")!.properties[0]) !== "console=ttyAMA0") throw new Error();
 * ```
 *
 * @module
 */

export * from "./layout.ts";
export * from "./tree.ts";
export * from "./values.ts";
export * from "./parse.ts";
export * from "./serialize.ts";
