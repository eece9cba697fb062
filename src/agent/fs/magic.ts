/**
 * A small file-type table (the common cases `file(1)` answers, not all of them), read from the first
 * bytes of a file. Executables also give their architecture, because that is what an analyst asks next.
 */

export interface MagicInfo {
  /** Human description, e.g. `ELF 64-bit LSB shared object, x86-64`, `PNG image`, `UTF-8 text`. */
  type: string;
  architecture: string | null;
  /** ELF only: 32 or 64. */
  elfClass: 32 | 64 | null;
  /** ELF and Mach-O: byte order of the binary. */
  endianness: 'little' | 'big' | null;
}

/** How many leading bytes `describeMagic` wants (PE headers and text sniffing need more than a few). */
export const MAGIC_BYTES = 8192;

const ELF_MACHINES: ReadonlyMap<number, string> = new Map([
  [2, 'sparc'],
  [3, 'x86'],
  [8, 'mips'],
  [20, 'powerpc'],
  [21, 'powerpc64'],
  [22, 's390'],
  [40, 'arm'],
  [43, 'sparc64'],
  [50, 'ia64'],
  [62, 'x86-64'],
  [183, 'aarch64'],
  [243, 'riscv'],
  [247, 'bpf'],
  [258, 'loongarch'],
]);

const ELF_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'relocatable'],
  [2, 'executable'],
  [3, 'shared object'],
  [4, 'core file'],
]);

const PE_MACHINES: ReadonlyMap<number, string> = new Map([
  [0x14c, 'x86'],
  [0x8664, 'x86-64'],
  [0xaa64, 'aarch64'],
  [0x1c0, 'arm'],
  [0x1c4, 'arm'],
  [0x200, 'ia64'],
]);

const MACHO_CPUS: ReadonlyMap<number, string> = new Map([
  [7, 'x86'],
  [0x01000007, 'x86-64'],
  [12, 'arm'],
  [0x0100000c, 'aarch64'],
  [0x0200000c, 'arm64_32'],
  [18, 'powerpc'],
  [0x01000012, 'powerpc64'],
]);

/** Plain signatures at offset 0 that need no further decoding. */
const SIGNATURES: ReadonlyArray<{ bytes: readonly number[]; type: string; offset?: number }> = [
  { bytes: [0x1f, 0x8b], type: 'gzip compressed data' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], type: 'Zip archive' },
  { bytes: [0x50, 0x4b, 0x05, 0x06], type: 'Zip archive (empty)' },
  { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d], type: 'PDF document' },
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], type: 'PNG image' },
  { bytes: [0xff, 0xd8, 0xff], type: 'JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], type: 'GIF image' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], type: 'XZ compressed data' },
  { bytes: [0x42, 0x5a, 0x68], type: 'bzip2 compressed data' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], type: 'Zstandard compressed data' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], type: '7-zip archive' },
  { bytes: [...Buffer.from('SQLite format 3\0')], type: 'SQLite 3 database' },
  { bytes: [...Buffer.from('ustar')], type: 'POSIX tar archive', offset: 257 },
];

function startsWith(buf: Buffer, bytes: readonly number[], offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  return bytes.every((b, i) => buf[offset + i] === b);
}

function none(type: string): MagicInfo {
  return { type, architecture: null, elfClass: null, endianness: null };
}

function describeElf(buf: Buffer): MagicInfo {
  const cls = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : null;
  const endianness = buf[5] === 1 ? 'little' : buf[5] === 2 ? 'big' : null;
  if (cls === null || endianness === null || buf.length < 20)
    return { ...none('ELF (malformed header)'), elfClass: cls, endianness };
  const le = endianness === 'little';
  const eType = le ? buf.readUInt16LE(16) : buf.readUInt16BE(16);
  const machine = le ? buf.readUInt16LE(18) : buf.readUInt16BE(18);
  const architecture = ELF_MACHINES.get(machine) ?? `machine ${machine}`;
  const kind = ELF_TYPES.get(eType) ?? `type ${eType}`;
  return {
    type: `ELF ${cls}-bit ${le ? 'LSB' : 'MSB'} ${kind}, ${architecture}`,
    architecture,
    elfClass: cls,
    endianness,
  };
}

function describePe(buf: Buffer): MagicInfo {
  if (buf.length < 0x40) return none('MS-DOS executable');
  const peOffset = buf.readUInt32LE(0x3c);
  if (peOffset + 26 > buf.length || !startsWith(buf, [0x50, 0x45, 0, 0], peOffset)) return none('MS-DOS executable');
  const machine = buf.readUInt16LE(peOffset + 4);
  const characteristics = buf.readUInt16LE(peOffset + 22);
  const optionalMagic = buf.readUInt16LE(peOffset + 24);
  const flavour = optionalMagic === 0x20b ? 'PE32+' : 'PE32';
  const kind = characteristics & 0x2000 ? 'DLL' : 'executable';
  const architecture = PE_MACHINES.get(machine) ?? `machine 0x${machine.toString(16)}`;
  return { type: `${flavour} ${kind}, ${architecture}`, architecture, elfClass: null, endianness: 'little' };
}

function describeMachO(buf: Buffer): MagicInfo | null {
  const be = buf.readUInt32BE(0);
  if (be === 0xcafebabe) {
    // Fat (universal) binaries share their magic with Java classes; a small arch count means Mach-O.
    const count = buf.length >= 8 ? buf.readUInt32BE(4) : 0;
    if (count > 0 && count < 45) return none(`Mach-O universal binary with ${count} architectures`);
    return none('Java class file');
  }
  const variants: Record<number, { bits: 32 | 64; le: boolean }> = {
    0xfeedface: { bits: 32, le: false },
    0xcefaedfe: { bits: 32, le: true },
    0xfeedfacf: { bits: 64, le: false },
    0xcffaedfe: { bits: 64, le: true },
  };
  const v = variants[be];
  if (!v || buf.length < 8) return null;
  const cpu = v.le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const architecture = MACHO_CPUS.get(cpu) ?? `cpu ${cpu}`;
  return {
    type: `Mach-O ${v.bits}-bit, ${architecture}`,
    architecture,
    elfClass: null,
    endianness: v.le ? 'little' : 'big',
  };
}

function describeScript(buf: Buffer): MagicInfo {
  const end = buf.indexOf(0x0a);
  const line = buf
    .subarray(2, end === -1 ? Math.min(buf.length, 256) : Math.min(end, 256))
    .toString('utf8')
    .trim();
  return none(line ? `script, #!${line}` : 'script');
}

/** Text is valid UTF-8 without NUL or stray control bytes (tab, newlines, form feed, escape are fine). */
function describeText(buf: Buffer, truncated: boolean): MagicInfo {
  let ascii = true;
  for (const b of buf) {
    if (b === 0) return none('data');
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x08 && b !== 0x1b)
      return none('data');
    if (b === 0x7f) return none('data');
    if (b >= 0x80) ascii = false;
  }
  if (ascii) return none('ASCII text');
  try {
    // stream: a multi-byte character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(buf, { stream: truncated });
    return none('UTF-8 text');
  } catch {
    return none('data');
  }
}

/**
 * Describes a file from its first bytes. `size` is the whole file's size (to tell an empty file and a
 * text sample cut short from a complete one).
 */
export function describeMagic(head: Buffer, size: number): MagicInfo {
  if (size === 0 || head.length === 0) return none('empty');
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return describeElf(head);
  if (startsWith(head, [0x4d, 0x5a])) return describePe(head);
  if (head.length >= 4) {
    const macho = describeMachO(head);
    if (macho) return macho;
  }
  if (startsWith(head, [0x23, 0x21])) return describeScript(head);
  for (const sig of SIGNATURES) if (startsWith(head, sig.bytes, sig.offset ?? 0)) return none(sig.type);
  return describeText(head, size > head.length);
}
