/**
 * What a PE file (Windows .exe, .dll, .sys) says about itself, read from its headers, never run or loaded:
 * machine, subsystem, link timestamp, DLL or EXE, whether it carries an Authenticode signature, and the
 * strings of its version resource. Pure: it reads through `read(offset, length)`, in small bounded reads
 * (headers, one resource path, one version block of at most 64 KiB), and every offset and count taken from
 * the file is checked against the file's size before use, so a crafted file cannot make it read far,
 * allocate much or loop.
 *
 * The signature is only seen to be there (the security directory is non-empty and holds a PKCS#7
 * WIN_CERTIFICATE): whether it is valid and trusted needs WinVerifyTrust, which this does not call (and
 * which Wine does not implement meaningfully).
 */

export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

export interface PeInfo {
  /** x64, x86, ARM64, ARM, IA64, or `0x…` for another machine. */
  peMachine: string;
  /** PE32 or PE32+. */
  peFormat: 'PE32' | 'PE32+';
  /** EXE or DLL (the COFF DLL flag). */
  peKind: 'EXE' | 'DLL';
  /** GUI, console, native (drivers, smss), EFI application... */
  peSubsystem: string;
  /** The linker's TimeDateStamp as ISO 8601 (reproducible builds store a hash there: it may look odd); null when 0. */
  peTimestamp: string | null;
  /** `present (not verified)`, `absent`, or `malformed` (a security directory that is no WIN_CERTIFICATE). */
  authenticode: 'present (not verified)' | 'absent' | 'malformed';
  companyName: string | null;
  fileDescription: string | null;
  fileVersion: string | null;
  productName: string | null;
  productVersion: string | null;
  originalFilename: string | null;
  internalName: string | null;
}

const MACHINES: ReadonlyMap<number, string> = new Map([
  [0x8664, 'x64'],
  [0x14c, 'x86'],
  [0xaa64, 'ARM64'],
  [0xa641, 'ARM64EC'],
  [0x1c0, 'ARM'],
  [0x1c4, 'ARM'],
  [0x200, 'IA64'],
]);

const SUBSYSTEMS: ReadonlyMap<number, string> = new Map([
  [1, 'native'],
  [2, 'GUI'],
  [3, 'console'],
  [5, 'OS/2 console'],
  [7, 'POSIX console'],
  [8, 'native Win9x driver'],
  [9, 'Windows CE GUI'],
  [10, 'EFI application'],
  [11, 'EFI boot service driver'],
  [12, 'EFI runtime driver'],
  [13, 'EFI ROM'],
  [14, 'Xbox'],
  [16, 'Windows boot application'],
]);

const RT_VERSION = 16;
/** Largest version resource parsed (real ones are 1-4 KiB). */
const MAX_VERSION_BYTES = 64 * 1024;
/** Most sections a PE may have (the loader's own limit). */
const MAX_SECTIONS = 96;
/** Most entries looked at in one resource directory. */
const MAX_RESOURCE_ENTRIES = 4096;
/** A PE header further than this into the file is not a PE anyone loads. */
const MAX_PE_OFFSET = 16 * 1024 * 1024;

interface Section {
  virtualAddress: number;
  virtualSize: number;
  rawSize: number;
  rawOffset: number;
}

/**
 * The PE facts of a file of `size` bytes, or null when it is not a PE image (no MZ, no PE signature, truncated
 * headers).
 */
export async function readPeInfo(read: ReadAt, size: number): Promise<PeInfo | null> {
  const within = (offset: number, length: number): boolean => offset >= 0 && length >= 0 && offset + length <= size;
  const exact = async (offset: number, length: number): Promise<Buffer | null> => {
    if (!within(offset, length)) return null;
    const buf = await read(offset, length);
    return buf.length === length ? buf : null;
  };
  const dos = await exact(0, 64);
  if (!dos || dos.readUInt16LE(0) !== 0x5a4d) return null;
  const peOffset = dos.readUInt32LE(0x3c);
  if (peOffset > MAX_PE_OFFSET) return null;
  const coff = await exact(peOffset, 24);
  if (!coff || coff.readUInt32LE(0) !== 0x00004550) return null;
  const machine = coff.readUInt16LE(4);
  const sectionCount = Math.min(coff.readUInt16LE(6), MAX_SECTIONS);
  const timestamp = coff.readUInt32LE(8);
  const optionalSize = coff.readUInt16LE(20);
  const characteristics = coff.readUInt16LE(22);
  const optional = await exact(peOffset + 24, Math.min(optionalSize, 240));
  if (!optional || optional.length < 70) return null;
  const magic = optional.readUInt16LE(0);
  if (magic !== 0x10b && magic !== 0x20b) return null;
  const plus = magic === 0x20b;
  const subsystem = optional.readUInt16LE(68);
  const dirCountAt = plus ? 108 : 92;
  const dirsAt = dirCountAt + 4;
  const dirCount = optional.length >= dirsAt ? optional.readUInt32LE(dirCountAt) : 0;
  const directory = (index: number): { address: number; size: number } | null => {
    const at = dirsAt + index * 8;
    if (index >= dirCount || at + 8 > optional.length) return null;
    return { address: optional.readUInt32LE(at), size: optional.readUInt32LE(at + 4) };
  };

  const sectionTable = await exact(peOffset + 24 + optionalSize, sectionCount * 40);
  const sections: Section[] = [];
  for (let i = 0; sectionTable && i < sectionCount; i++) {
    const s = i * 40;
    sections.push({
      virtualSize: sectionTable.readUInt32LE(s + 8),
      virtualAddress: sectionTable.readUInt32LE(s + 12),
      rawSize: sectionTable.readUInt32LE(s + 16),
      rawOffset: sectionTable.readUInt32LE(s + 20),
    });
  }
  const fileOffset = (rva: number): number | null => {
    for (const s of sections) {
      const span = Math.max(s.virtualSize, s.rawSize);
      if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
        const off = s.rawOffset + (rva - s.virtualAddress);
        return off < s.rawOffset + s.rawSize ? off : null;
      }
    }
    return null;
  };

  // The security directory's address is a file offset (not an RVA): the signature is not mapped.
  let authenticode: PeInfo['authenticode'] = 'absent';
  const security = directory(4);
  if (security && security.size > 0) {
    const cert = await exact(security.address, 8);
    const valid =
      cert !== null && cert.readUInt32LE(0) >= 8 && cert.readUInt32LE(0) <= security.size && cert.readUInt16LE(6) === 2;
    authenticode = valid ? 'present (not verified)' : 'malformed';
  }

  const strings = await versionStrings(exact, fileOffset, directory(2));
  return {
    peMachine: MACHINES.get(machine) ?? `0x${machine.toString(16).padStart(4, '0')}`,
    peFormat: plus ? 'PE32+' : 'PE32',
    peKind: characteristics & 0x2000 ? 'DLL' : 'EXE',
    peSubsystem: SUBSYSTEMS.get(subsystem) ?? `subsystem ${subsystem}`,
    peTimestamp: timestamp === 0 ? null : new Date(timestamp * 1000).toISOString(),
    authenticode,
    companyName: strings.get('CompanyName') ?? null,
    fileDescription: strings.get('FileDescription') ?? null,
    fileVersion: strings.get('FileVersion') ?? strings.get('\u0000fixed') ?? null,
    productName: strings.get('ProductName') ?? null,
    productVersion: strings.get('ProductVersion') ?? null,
    originalFilename: strings.get('OriginalFilename') ?? null,
    internalName: strings.get('InternalName') ?? null,
  };
}

type Exact = (offset: number, length: number) => Promise<Buffer | null>;

/**
 * Follows the resource tree to the first RT_VERSION resource (type → first name → first language) and
 * parses its strings. An absent or damaged resource gives an empty map, never an error.
 */
async function versionStrings(
  exact: Exact,
  fileOffset: (rva: number) => number | null,
  resources: { address: number; size: number } | null,
): Promise<Map<string, string>> {
  const none = new Map<string, string>();
  if (!resources || resources.size === 0) return none;
  const base = fileOffset(resources.address);
  if (base === null) return none;
  /**
   * The entries of the directory at `dirOffset` (relative to the resource base): [id or -1 for a name, child offset, is
   * a directory].
   */
  const entries = async (dirOffset: number): Promise<Array<[number, number, boolean]> | null> => {
    const head = await exact(base + dirOffset, 16);
    if (!head) return null;
    const count = Math.min(head.readUInt16LE(12) + head.readUInt16LE(14), MAX_RESOURCE_ENTRIES);
    const table = await exact(base + dirOffset + 16, count * 8);
    if (!table) return null;
    const out: Array<[number, number, boolean]> = [];
    for (let i = 0; i < count; i++) {
      const name = table.readUInt32LE(i * 8);
      const child = table.readUInt32LE(i * 8 + 4);
      out.push([name & 0x80000000 ? -1 : name, child & 0x7fffffff, (child & 0x80000000) !== 0]);
    }
    return out;
  };
  const types = await entries(0);
  const version = types?.find(([id, , dir]) => id === RT_VERSION && dir);
  if (!version) return none;
  const names = await entries(version[1]);
  const name = names?.find(([, , dir]) => dir);
  if (!name) return none;
  const languages = await entries(name[1]);
  // English when the resource exists in several languages (Wine's DLLs carry dozens), else neutral, else the first.
  const leaves = languages?.filter(([, , dir]) => !dir) ?? [];
  const language = leaves.find(([id]) => id === 0x409) ?? leaves.find(([id]) => id === 0) ?? leaves[0];
  if (!language) return none;
  const dataEntry = await exact(base + language[1], 16);
  if (!dataEntry) return none;
  const at = fileOffset(dataEntry.readUInt32LE(0));
  const length = Math.min(dataEntry.readUInt32LE(4), MAX_VERSION_BYTES);
  if (at === null || length < 6) return none;
  const block = await exact(at, length);
  return block ? parseVersionInfo(block) : none;
}

interface VersionNode {
  key: string;
  /** The value's bytes (text values: UTF-16LE, NUL-terminated). */
  value: Buffer;
  isText: boolean;
  children: VersionNode[];
}

const align4 = (n: number): number => (n + 3) & ~3;

/** One VS_VERSIONINFO-style node at `offset` of `buf` (bounded by its wLength and by `end`), or null. */
function readNode(buf: Buffer, offset: number, end: number, depth: number): VersionNode | null {
  if (offset + 6 > end) return null;
  const length = buf.readUInt16LE(offset);
  const valueLength = buf.readUInt16LE(offset + 2);
  const isText = buf.readUInt16LE(offset + 4) === 1;
  const nodeEnd = Math.min(offset + length, end);
  if (length < 6 || nodeEnd <= offset + 6) return null;
  let p = offset + 6;
  let key = '';
  while (p + 2 <= nodeEnd) {
    const c = buf.readUInt16LE(p);
    p += 2;
    if (c === 0) break;
    key += String.fromCharCode(c);
  }
  p = align4(p);
  // wValueLength counts UTF-16 characters for text values and bytes for binary ones.
  const valueBytes = Math.min(isText ? valueLength * 2 : valueLength, Math.max(0, nodeEnd - p));
  const value = buf.subarray(p, p + valueBytes);
  p = align4(p + valueBytes);
  const children: VersionNode[] = [];
  // Nesting is three deep in a real resource (root → StringFileInfo → table → string): stop well before a crafted stack
  // could hurt.
  while (depth < 4 && p + 6 <= nodeEnd) {
    const child = readNode(buf, p, nodeEnd, depth + 1);
    if (!child) break;
    children.push(child);
    const childLength = buf.readUInt16LE(p);
    p = align4(p + childLength);
  }
  return { key, value, isText, children };
}

function utf16z(value: Buffer): string {
  const text = value.subarray(0, value.length - (value.length % 2)).toString('utf16le');
  const nul = text.indexOf('\u0000');
  return (nul < 0 ? text : text.slice(0, nul)).trim();
}

/**
 * The strings of a VS_VERSIONINFO block: every `key → value` of its English string table (`040904b0`…, else the first),
 * and
 * the fixed FILEVERSION under the key `\0fixed` (used when the table lacks FileVersion). Pure.
 */
export function parseVersionInfo(block: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const root = readNode(block, 0, block.length, 0);
  if (!root || root.key !== 'VS_VERSION_INFO') return out;
  if (root.value.length >= 52 && root.value.readUInt32LE(0) === 0xfeef04bd) {
    const ms = root.value.readUInt32LE(8);
    const ls = root.value.readUInt32LE(12);
    out.set('\u0000fixed', `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`);
  }
  const tables = root.children.find((c) => c.key === 'StringFileInfo')?.children ?? [];
  const table = tables.find((t) => /^0409/i.test(t.key)) ?? tables.find((t) => /^0000/.test(t.key)) ?? tables[0];
  for (const s of table?.children ?? []) {
    const text = utf16z(s.value);
    if (s.key && text && !out.has(s.key)) out.set(s.key, text.slice(0, 1024));
  }
  return out;
}
