/**
 * One initrd from several parts: --initrd files in order, each at a 4-byte
 * boundary, then an --extra-file newc archive built in memory and read back
 * by GNU cpio; both syscalls see the same bytes; real memfds on this host,
 * and no file left in /tmp or the working directory.
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import { parseInvocation } from "../../lib/cli/invocation.ts";
import { parseExtraFile } from "../../lib/initramfs/compose.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { SafeHostSystem } from "../support/fake_system.ts";
import { compress, gnuCpio, readWithGnuCpio } from "../support/image_samples.ts";
import { INITRD, INITRD2, KERNEL, machine } from "../support/machine.ts";

Deno.test("--extra-file HOST[:GUEST]: GUEST after the last colon when absolute, else HOST's path", () => {
  assert.deepEqual(parseExtraFile("/a/b:/etc/c"), { host: "/a/b", guest: "/etc/c" });
  assert.deepEqual(parseExtraFile("/a/b"), { host: "/a/b", guest: "/a/b" });
  assert.deepEqual(parseExtraFile("/a:b/c"), { host: "/a:b/c", guest: "/a:b/c" });
  assert.deepEqual(parseExtraFile("x:y:/z"), { host: "x:y", guest: "/z" });
  const inv = parseInvocation(["-l", "k", "--extra-file", "/k1:/etc/k", "--extra-file=/k2"]);
  assert.deepEqual(inv.extraFiles, [{ host: "/k1", guest: "/etc/k" }, {
    host: "/k2",
    guest: "/k2",
  }]);
  assert.throws(() => parseInvocation(["-l", "k", "--extra-file="]), /needs a file name/);
});

Deno.test("two initrds and --extra-file: -s gets one memfd, -c the same bytes as its initrd segment", async () => {
  const extra = { "/root/key.pub": "ssh-ed25519 AAAA test\n" };
  const argv = (mode: string) => [
    mode,
    "-l",
    KERNEL,
    `--initrd=${INITRD2}`,
    `--initrd=${INITRD}`,
    "--extra-file=/root/key.pub:/etc/ssh/authorized_keys",
  ];
  const file = machine(extra);
  assert.equal(await runCli(argv("-s"), file), 0, file.stderr);
  const memfd = file.callsOf("memfd").find((m) => m.name === "kexec-initrd")!;
  assert.deepEqual(memfd.parts.slice(0, 2), [INITRD2, INITRD]);
  const fileBytes = file.files.get("memfd:kexec-initrd") as Uint8Array;
  assert.equal(fileBytes.length % 4, 0);
  assert.match(
    file.stderr,
    /initrd \/boot\/ucode.img \+ \/boot\/initrd.img \+ --extra-file archive/,
  );

  const load = machine(extra);
  assert.equal(await runCli(argv("-c"), load), 0, load.stderr);
  const loadBytes = load.files.get("memfd:kexec-initrd") as Uint8Array;
  assert.deepEqual(loadBytes, fileBytes);
  const sizes = [...load.callsOf("kexec_load")[0].table].filter((_, i) => i % 4 === 1);
  assert.ok(sizes.includes(BigInt(loadBytes.length)), "the initrd segment is the memfd");
});

Deno.test("on this host: real memfds, GNU cpio reads the --extra-file archive back, nothing left in /tmp or .", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compose-test-" });
  try {
    const kernel = `${dir}/vmlinuz.gz`;
    await Deno.writeFile(kernel, await compress("gzip", syntheticKernel()));
    await Deno.writeFile(`${dir}/a.cpio`, await gnuCpio({ "etc/first": "one\n" }));
    await Deno.writeTextFile(`${dir}/key`, "secret key\n");
    await Deno.chmod(`${dir}/key`, 0o600);
    await Deno.writeTextFile(`${dir}/conf`, "x=1\n");
    const listing = () =>
      [
        ...[...Deno.readDirSync("/tmp")].map((e) => `/tmp/${e.name}`),
        ...[...Deno.readDirSync(".")].map((e) => e.name),
      ].sort();
    const before = listing();
    const sys = new SafeHostSystem({ fileLoadErrnos: [0] });
    const code = await runCli([
      "-s",
      "-l",
      kernel,
      `--initrd=${dir}/a.cpio`,
      `--extra-file=${dir}/key:/etc/ssh/key`,
      `--extra-file=${dir}/conf:/etc/conf.d/x`,
    ], sys);
    assert.equal(code, 0, sys.captured.stderr);
    assert.deepEqual(listing(), before, "no file appeared in /tmp or the working directory");
    const [call] = sys.calls.filter((c) => c.op === "kexec_file_load");
    assert.ok(call && call.op === "kexec_file_load");
    assert.notEqual(call.initrdFd, -1);

    // The same composition, kept open to be read back: the archive starts after a.cpio.
    const first = await Deno.readFile(`${dir}/a.cpio`);
    const writer = sys.createMemfd("check");
    const { writeInitrdParts, writeExtraFiles } = await import(
      "../../lib/initramfs/compose.ts"
    );
    writeInitrdParts(writer, [{ name: "a", file: sys.openFile(`${dir}/a.cpio`, "initrd") }]);
    const at = writer.size;
    writeExtraFiles(writer, [
      { file: sys.openFile(`${dir}/key`, "extra file"), guest: "/etc/ssh/key" },
      { file: sys.openFile(`${dir}/conf`, "extra file"), guest: "/etc/conf.d/x" },
    ]);
    const sealed = writer.seal();
    const bytes = sys.mapFile(sealed);
    assert.deepEqual(bytes.subarray(0, first.length), first);
    const files = await readWithGnuCpio(bytes.slice(at));
    assert.deepEqual([...files.keys()], [
      "etc",
      "etc/ssh",
      "etc/ssh/key",
      "etc/conf.d",
      "etc/conf.d/x",
    ]);
    assert.equal(files.get("etc/ssh/key"), "secret key\n");
    assert.equal(files.get("etc/conf.d/x"), "x=1\n");
    const modes = new TextDecoder().decode(bytes.slice(at)).match(
      /070701[0-9a-f]{8}([0-9a-f]{8})/g,
    )!;
    assert.ok(modes.some((m) => m.endsWith("00008180")), "the key keeps mode 0600");
    sys.close(sealed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
