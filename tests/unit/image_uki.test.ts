/**
 * UKIs built here with objcopy onto Debian's systemd-boot-efi stub (and
 * multi-profile ones by hand, as ukify lays them out), and EFI zboot images
 * around payloads made by gzip and zstd: the kernel, initrds and command
 * line both syscalls get, profiles as systemd-stub picks them, and refusals
 * of truncated or garbage files.
 */

import assert from "node:assert/strict";
import { architecture } from "../../lib/arch/mod.ts";
import { runCli } from "../../lib/cli/run.ts";
import { KexecError } from "../../lib/errors.ts";
import { parsePe } from "../../lib/image/pe.ts";
import { resolveKernel } from "../../lib/image/registry.ts";
import { MemfdImageStore } from "../../lib/image/store.ts";
import { stubCmdline } from "../../lib/image/uki.ts";
import { RecordingSystem } from "../../lib/sys/recording.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { buildUki, compress, text } from "../support/image_samples.ts";
import { INITRD, INITRD_BYTES, KERNEL, machine } from "../support/machine.ts";

const X86 = architecture("x86_64");
const store = () => new MemfdImageStore(new RecordingSystem({}));
const kernel = syntheticKernel();
const UCODE = new Uint8Array(300).fill(0x11);
const EMBEDDED = new Uint8Array(1001).fill(0x22);

function refusal(re: RegExp) {
  return (e: unknown) => e instanceof KexecError && re.test(e.message);
}

const simpleUki = () =>
  buildUki([
    [".osrel", text('PRETTY_NAME="Test OS 1"\nID=test\n')],
    [".cmdline", text("  console=ttyS0\tquiet e2e.uki=1\n")],
    [".uname", text("6.1.0-test\n")],
    [".initrd", EMBEDDED],
    [".ucode", UCODE],
    [".linux", kernel],
  ]);

Deno.test("UKI: .linux is the kernel, .ucode then .initrd the initrds, .cmdline as the stub passes it", async () => {
  const uki = await simpleUki();
  const r = await resolveKernel(uki, "/efi/Linux/t.efi", X86, store());
  assert.equal(r.format.name, "bzImage");
  assert.deepEqual(r.layers, ["UKI"]);
  assert.deepEqual(r.bytes, kernel);
  assert.ok(r.bytes.buffer === uki.buffer, ".linux is a view of the file, not a copy");
  assert.deepEqual(r.initrds.map((p) => p.name), [
    "/efi/Linux/t.efi:.ucode",
    "/efi/Linux/t.efi:.initrd",
  ]);
  assert.deepEqual(r.initrds[0].bytes, UCODE);
  assert.deepEqual(r.initrds[1].bytes, EMBEDDED);
  assert.equal(new TextDecoder().decode(r.cmdline), "console=ttyS0 quiet e2e.uki=1");
  assert.match(r.notes[0], /UKI for x86_64, no profiles; sections used: \.linux .*\(base\)/);
  assert.match(r.notes[0], /OS "Test OS 1"; uname 6\.1\.0-test/);
});

Deno.test("stubCmdline: up to NUL, control characters to spaces, trimmed (systemd mangle_stub_cmdline)", () => {
  const out = (s: string) => new TextDecoder().decode(stubCmdline(text(s)));
  assert.equal(out("\n a\x01b\x7fc  \r\n\0tail"), "a b c");
  assert.equal(out(""), "");
  assert.equal(out("é x"), "é x");
});

Deno.test("-s with a UKI: the .linux memfd, embedded initrd memfd (ucode first), embedded command line", async () => {
  const sys = machine({ [KERNEL]: await simpleUki() });
  assert.equal(await runCli(["-s", "-l", KERNEL, `--initrd=${INITRD}`], sys), 0, sys.stderr);
  const [call] = sys.callsOf("kexec_file_load");
  assert.deepEqual(call.cmdline, text("console=ttyS0 quiet e2e.uki=1\0"));
  const memfds = sys.callsOf("memfd");
  const kernelMemfd = memfds.find((m) => m.name === "kexec-kernel")!;
  assert.equal(kernelMemfd.size, kernel.length);
  const initrd = memfds.find((m) => m.name === "kexec-initrd")!;
  assert.deepEqual(initrd.parts, ["300 bytes", "1001 bytes", "3 bytes", INITRD]);
  // .ucode (300) + pad 0, .initrd (1001) at 300, pad 3, the user's initrd at 1304.
  assert.equal(initrd.size, 1304 + INITRD_BYTES.length);
  const bytes = sys.files.get("memfd:kexec-initrd") as Uint8Array;
  assert.deepEqual(bytes.subarray(0, 300), UCODE);
  assert.deepEqual(bytes.subarray(300, 1301), EMBEDDED);
  assert.deepEqual(bytes.subarray(1301, 1304), new Uint8Array(3));
  assert.deepEqual(bytes.subarray(1304), INITRD_BYTES);
  assert.equal(call.flags, 0, "an initrd is passed");
  assert.equal(sys.fds.size, 0, "every file and memfd is closed");
});

Deno.test("--append replaces the embedded line; -c passes the same initrd bytes as a segment", async () => {
  const sys = machine({ [KERNEL]: await simpleUki() });
  assert.equal(await runCli(["-c", "-l", KERNEL, "--append=root=/dev/vda"], sys), 0, sys.stderr);
  const [load] = sys.callsOf("kexec_load");
  assert.ok(load);
  const initrd = sys.files.get("memfd:kexec-initrd") as Uint8Array;
  assert.equal(initrd.length, 1301);
  // The segment table holds bufsz of each segment; the initrd's is the memfd's size.
  const sizes = [...load.table].filter((_, i) => i % 4 === 1).map(Number);
  assert.ok(sizes.includes(1301), String(sizes));
  assert.match(sys.stderr, /command line 13 bytes/);
});

Deno.test("--dry-run and -d say which UKI sections were used and where the command line came from", async () => {
  const sys = machine({ [KERNEL]: await simpleUki() });
  assert.equal(await runCli(["-s", "--dry-run", KERNEL], sys), 0, sys.stderr);
  assert.match(
    sys.stdout,
    /sections used: \.linux .* \.cmdline 3\d bytes \(base\), \.initrd 1001 bytes/,
  );
  assert.match(sys.stdout, /command line: the image's embedded one \(29 bytes\)/);
  assert.match(sys.stdout, /initrd: 2 parts in one memfd/);
});

Deno.test("multi-profile UKI: @0 by default, @N overrides the base, a missing profile is refused", async () => {
  const uki = await buildUki([
    [".linux", kernel],
    [".cmdline", text("quiet")],
    [".initrd", EMBEDDED],
    [".profile", text("ID=regular\nTITLE=Regular boot\n")],
    [".profile", text("ID=factory-reset\nTITLE=Reset\n")],
    [".cmdline", text("quiet systemd.unit=factory-reset.target")],
    [".profile", text("ID=noinitrd\n")],
    [".initrd", UCODE],
  ]);
  assert.deepEqual(
    parsePe(uki, "u").sections.filter((s) => s.name === ".profile").length,
    3,
    "objcopy kept every .profile",
  );
  const cmd = (r: { cmdline?: Uint8Array }) => new TextDecoder().decode(r.cmdline);
  const zero = await resolveKernel(uki, "/u.efi", X86, store());
  assert.equal(cmd(zero), "quiet");
  assert.match(zero.notes[0], /profile @0 of 3 \(ID=regular\) "Regular boot"/);
  const one = await resolveKernel(uki, "/u.efi", X86, store(), { ukiProfile: 1 });
  assert.equal(cmd(one), "quiet systemd.unit=factory-reset.target");
  assert.match(one.notes[0], /\.cmdline 39 bytes \(@1\), \.initrd 1001 bytes \(base\)/);
  const two = await resolveKernel(uki, "/u.efi", X86, store(), { ukiProfile: 2 });
  assert.deepEqual(two.initrds.map((p) => p.bytes.length), [300]);
  await assert.rejects(
    () => resolveKernel(uki, "/u.efi", X86, store(), { ukiProfile: 3 }),
    refusal(/UKI \/u.efi has profiles @0..@2, not @3/),
  );
  // Without profiles, @0 is the base and @1 does not exist.
  const plain = await simpleUki();
  await assert.rejects(
    () => resolveKernel(plain, "/p.efi", X86, store(), { ukiProfile: 1 }),
    refusal(/has no profiles, not @1/),
  );
  const sys = machine({ [KERNEL]: uki });
  assert.equal(await runCli(["-s", "-l", KERNEL, "--uki-profile", "1"], sys), 0, sys.stderr);
  assert.deepEqual(
    sys.callsOf("kexec_file_load")[0].cmdline,
    text("quiet systemd.unit=factory-reset.target\0"),
  );
});

Deno.test("--uki-profile on a kernel that is not a UKI warns; a bad number is a usage error", async () => {
  const sys = machine();
  assert.equal(await runCli(["-s", "-l", KERNEL, "--uki-profile=2"], sys), 0, sys.stderr);
  assert.match(sys.stderr, /--uki-profile is ignored: kernel \/boot\/vmlinuz is not a UKI/);
  const bad = machine();
  assert.equal(await runCli(["-s", "-l", KERNEL, "--uki-profile=x"], bad), 1);
  assert.match(bad.stderr, /'x' is not a profile number/);
});

Deno.test("truncated and broken UKIs are refused naming the file; a PE without .linux is no UKI", async () => {
  const uki = await simpleUki();
  const linux = parsePe(uki, "u").sections.find((s) => s.name === ".linux")!;
  const cut = uki.subarray(0, linux.pointerToRawData + linux.virtualSize - 1000);
  await assert.rejects(
    () => resolveKernel(cut, "/t.efi", X86, store()),
    refusal(/^UKI \/t.efi: section \.linux .* runs past the end of the file .*truncated$/),
  );
  const stub = await buildUki([[".osrel", text("ID=x\n")]]);
  await assert.rejects(
    () => resolveKernel(stub, "/s.efi", X86, store()),
    refusal(/cannot determine the kernel format of \/s.efi: a PE\/EFI executable without a kernel/),
  );
  const broken = uki.slice();
  new DataView(broken.buffer).setUint32(0x3c, 0x7fffff00, true);
  await assert.rejects(
    () => resolveKernel(broken, "/b.efi", X86, store()),
    refusal(/cannot determine the kernel format of \/b.efi/),
  );
  const empty = await buildUki([[".linux", new Uint8Array(0)]]);
  await assert.rejects(
    () => resolveKernel(empty, "/e.efi", X86, store()),
    refusal(/UKI \/e.efi has an empty \.linux section|cannot determine/),
  );
});

Deno.test("a UKI whose .linux is gzip'd: three layers of notes, the kernel inflated into a memfd", async () => {
  const uki = await buildUki([[".linux", await compress("gzip", kernel)], [".cmdline", text("x")]]);
  const r = await resolveKernel(uki, "/g.efi", X86, store());
  assert.deepEqual(r.layers, ["UKI", "gzip"]);
  assert.deepEqual(r.bytes, kernel);
  assert.equal(new TextDecoder().decode(r.cmdline), "x");
});

/** An EFI zboot image around `payload` (zboot-header.S layout). */
function zboot(payload: Uint8Array, comp: string): Uint8Array {
  const offset = 0x200;
  const img = new Uint8Array(offset + payload.length + 0x100);
  const v = new DataView(img.buffer);
  img.set(text("MZ"), 0);
  img.set(text("zimg"), 4);
  v.setUint32(8, offset, true);
  v.setUint32(12, payload.length, true);
  img.set(text(comp), 0x18);
  img.set(payload, offset);
  return img;
}

Deno.test("EFI zboot: gzip and zstd payloads are inflated; the inner kernel is probed again", async () => {
  for (const [tool, name] of [["gzip", "gzip"], ["zstd", "zstd22"]] as const) {
    const img = zboot(await compress(tool, kernel), name);
    const r = await resolveKernel(img, "/vmlinuz.efi", X86, store());
    assert.deepEqual(r.layers, ["EFI zboot"]);
    assert.deepEqual(r.bytes, kernel);
    assert.match(r.notes[0], new RegExp(`EFI zboot, ${name} payload of .* at 0x200, inflated to`));
  }
});

Deno.test("EFI zboot: lz4 named, payload outside the file, payload of the wrong codec", async () => {
  const gz = await compress("gzip", kernel);
  await assert.rejects(
    () => resolveKernel(zboot(gz, "lz4"), "/z", X86, store()),
    refusal(/EFI zboot image with a lz4-compressed payload; this tool inflates gzip, zstd and xz/),
  );
  const cut = zboot(gz, "gzip").subarray(0, 0x200 + 100);
  await assert.rejects(
    () => resolveKernel(cut, "/z", X86, store()),
    refusal(/EFI zboot payload .* lies outside the file/),
  );
  await assert.rejects(
    () => resolveKernel(zboot(gz, "zstd"), "/z", X86, store()),
    refusal(/header says zstd, but the payload at 0x200 is not zstd data/),
  );
});
