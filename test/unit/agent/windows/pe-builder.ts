/**
 * Builds small but well-formed PE images for the parser's unit tests: DOS header, COFF and optional
 * header, one `.rsrc` section holding an RT_VERSION resource, and optionally a security directory.
 * Test fixture only (not a general PE writer).
 */

export interface PeSpec {
  machine?: number;
  plus?: boolean;
  dll?: boolean;
  subsystem?: number;
  timestamp?: number;
  /** String table entries of the version resource (no resource when absent). */
  strings?: Record<string, string>;
  /** Key of the string table. */
  tableKey?: string;
  /** FILEVERSION of the fixed part (major, minor, build, revision). */
  fixedVersion?: [number, number, number, number];
  /** Adds a WIN_CERTIFICATE (PKCS#7) security directory; `'garbage'` adds one that is not. */
  signature?: boolean | 'garbage';
}

function pad4(b: Buffer): Buffer {
  const extra = (4 - (b.length % 4)) % 4;
  return extra ? Buffer.concat([b, Buffer.alloc(extra)]) : b;
}

function utf16z(s: string): Buffer {
  return Buffer.from(`${s}\u0000`, 'utf16le');
}

/** One VS_VERSIONINFO-style node: header, key, value, children (each 32-bit aligned). */
export function versionNode(key: string, value: Buffer | string | null, children: Buffer[] = []): Buffer {
  const isText = typeof value === 'string';
  const valueBytes = value === null ? Buffer.alloc(0) : isText ? utf16z(value) : value;
  const head = Buffer.alloc(6);
  const body = Buffer.concat([pad4(Buffer.concat([head, utf16z(key)])), pad4(valueBytes), ...children.map(pad4)]);
  body.writeUInt16LE(body.length, 0);
  body.writeUInt16LE(isText ? valueBytes.length / 2 : valueBytes.length, 2);
  body.writeUInt16LE(isText ? 1 : 0, 4);
  return body;
}

export function versionBlock(
  strings: Record<string, string>,
  tableKey = '040904b0',
  fixed?: [number, number, number, number],
): Buffer {
  let fixedInfo: Buffer | null = null;
  if (fixed) {
    fixedInfo = Buffer.alloc(52);
    fixedInfo.writeUInt32LE(0xfeef04bd, 0);
    fixedInfo.writeUInt32LE(0x00010000, 4);
    fixedInfo.writeUInt32LE(((fixed[0] << 16) | fixed[1]) >>> 0, 8);
    fixedInfo.writeUInt32LE(((fixed[2] << 16) | fixed[3]) >>> 0, 12);
  }
  const table = versionNode(
    tableKey,
    null,
    Object.entries(strings).map(([k, v]) => versionNode(k, v)),
  );
  return versionNode('VS_VERSION_INFO', fixedInfo, [versionNode('StringFileInfo', null, [table])]);
}

const SECTION_RVA = 0x1000;
const SECTION_FILE = 0x400;
const SECTION_SIZE = 0x1000;

/** A PE image as bytes. */
export function buildPe(spec: PeSpec = {}): Buffer {
  const plus = spec.plus ?? true;
  const optSize = plus ? 240 : 224;
  const peOffset = 0x80;
  const securityAt = SECTION_FILE + SECTION_SIZE;
  const image = Buffer.alloc(securityAt + (spec.signature ? 16 : 0));
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(peOffset, 0x3c);
  image.writeUInt32LE(0x00004550, peOffset);
  const coff = peOffset + 4;
  image.writeUInt16LE(spec.machine ?? 0x8664, coff);
  image.writeUInt16LE(1, coff + 2);
  image.writeUInt32LE(spec.timestamp ?? 0x5f5e1000, coff + 4);
  image.writeUInt16LE(optSize, coff + 16);
  image.writeUInt16LE(0x0002 | (spec.dll ? 0x2000 : 0), coff + 18);
  const opt = coff + 20;
  image.writeUInt16LE(plus ? 0x20b : 0x10b, opt);
  image.writeUInt16LE(spec.subsystem ?? 3, opt + 68);
  const countAt = opt + (plus ? 108 : 92);
  image.writeUInt32LE(16, countAt);
  const dir = (i: number, address: number, size: number): void => {
    image.writeUInt32LE(address, countAt + 4 + i * 8);
    image.writeUInt32LE(size, countAt + 8 + i * 8);
  };
  const sect = opt + optSize;
  image.write('.rsrc', sect, 'latin1');
  image.writeUInt32LE(SECTION_SIZE, sect + 8);
  image.writeUInt32LE(SECTION_RVA, sect + 12);
  image.writeUInt32LE(SECTION_SIZE, sect + 16);
  image.writeUInt32LE(SECTION_FILE, sect + 20);

  if (spec.strings) {
    const r = SECTION_FILE;
    // type directory → name directory → language directory → data entry → VS_VERSIONINFO
    const directory = (at: number, id: number, child: number, isDir: boolean): void => {
      image.writeUInt16LE(1, r + at + 14);
      image.writeUInt32LE(id, r + at + 16);
      image.writeUInt32LE((child | (isDir ? 0x80000000 : 0)) >>> 0, r + at + 20);
    };
    directory(0x00, 16, 0x18, true);
    directory(0x18, 1, 0x30, true);
    directory(0x30, 0x409, 0x48, false);
    const block = versionBlock(spec.strings, spec.tableKey, spec.fixedVersion);
    image.writeUInt32LE(SECTION_RVA + 0x60, r + 0x48);
    image.writeUInt32LE(block.length, r + 0x4c);
    block.copy(image, r + 0x60);
    dir(2, SECTION_RVA, 0x60 + block.length);
  }
  if (spec.signature) {
    image.writeUInt32LE(16, securityAt);
    image.writeUInt16LE(0x0200, securityAt + 4);
    image.writeUInt16LE(spec.signature === 'garbage' ? 7 : 2, securityAt + 6);
    dir(4, securityAt, 16);
  }
  return image;
}
