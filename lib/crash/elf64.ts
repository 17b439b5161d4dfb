/**
 * ELF64 layouts used by crash loads: the ELF header and program headers of
 * core files, written for the elfcorehdr and read from /proc/kcore. Offsets
 * and values from the System V gABI ("ELF Header", "Program Header"; the same
 * structures as include/uapi/linux/elf.h). Little-endian only (x86_64, arm64).
 *
 * @module
 */

/** `Elf64_Ehdr` field offsets (gABI "ELF Header"). */
export const ELF64_EHDR = {
  /** 4 bytes: 0x7F 'E' 'L' 'F'. */
  magic: 0x00,
  /** u8 EI_CLASS. */
  class: 0x04,
  /** u8 EI_DATA (byte order). */
  data: 0x05,
  /** u8 EI_VERSION. */
  identVersion: 0x06,
  /** u8 EI_OSABI. */
  osabi: 0x07,
  /** u16 e_type. */
  type: 0x10,
  /** u16 e_machine. */
  machine: 0x12,
  /** u32 e_version. */
  version: 0x14,
  /** u64 e_entry. */
  entry: 0x18,
  /** u64 e_phoff: file offset of the program headers. */
  phoff: 0x20,
  /** u64 e_shoff. */
  shoff: 0x28,
  /** u32 e_flags. */
  flags: 0x30,
  /** u16 e_ehsize. */
  ehsize: 0x34,
  /** u16 e_phentsize. */
  phentsize: 0x36,
  /** u16 e_phnum. */
  phnum: 0x38,
  /** u16 e_shentsize. */
  shentsize: 0x3a,
  /** u16 e_shnum. */
  shnum: 0x3c,
  /** u16 e_shstrndx. */
  shstrndx: 0x3e,
  /** Bytes in the header. */
  size: 64,
} as const;

/** `Elf64_Phdr` field offsets (gABI "Program Header"). */
export const ELF64_PHDR = {
  /** u32 p_type. */
  type: 0x00,
  /** u32 p_flags. */
  flags: 0x04,
  /** u64 p_offset: where the bytes are in the core file (= physical address for vmcore). */
  offset: 0x08,
  /** u64 p_vaddr. */
  vaddr: 0x10,
  /** u64 p_paddr. */
  paddr: 0x18,
  /** u64 p_filesz. */
  filesz: 0x20,
  /** u64 p_memsz. */
  memsz: 0x28,
  /** u64 p_align. */
  align: 0x30,
  /** Bytes per program header. */
  size: 56,
} as const;

/** The four identification bytes "\x7fELF". */
export const ELF_MAGIC: readonly number[] = [0x7f, 0x45, 0x4c, 0x46];

/** ELF constant values used here (gABI; EM_* from include/uapi/linux/elf-em.h). */
export const ELF = {
  /** EI_CLASS: 64-bit objects. */
  CLASS64: 2,
  /** EI_DATA: little-endian. */
  DATA2LSB: 1,
  /** EI_VERSION and e_version. */
  EV_CURRENT: 1,
  /** EI_OSABI: System V. */
  OSABI_NONE: 0,
  /** e_type of a core file. */
  ET_CORE: 4,
  /** e_machine of x86_64. */
  EM_X86_64: 62,
  /** e_machine of arm64. */
  EM_AARCH64: 183,
  /** p_type of a loadable segment (memory). */
  PT_LOAD: 1,
  /** p_type of a note segment. */
  PT_NOTE: 4,
  /** p_flags: readable, writable, executable. */
  PF_RWX: 7,
  /** e_phnum beyond which the count moves to section 0 (not produced or read here). */
  PN_XNUM: 0xffff,
} as const;
