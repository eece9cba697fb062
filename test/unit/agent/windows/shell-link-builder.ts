/**
 * Builds `.lnk` bytes per MS-SHLLINK (a fixture builder for unit tests of the parser): header, optional id
 * list (given as raw bytes), LinkInfo (local path, optionally with the Unicode offsets, or a network share),
 * StringData (Unicode or ANSI) and the environment-variables extra data block.
 */
export interface LinkSpec {
  idList?: Buffer;
  local?: { base: string; suffix?: string; unicode?: boolean };
  network?: { netName: string; suffix?: string };
  forceNoLinkInfo?: boolean;
  unicode?: boolean;
  name?: string;
  relativePath?: string;
  workingDir?: string;
  arguments?: string;
  iconLocation?: string;
  environmentTarget?: string;
}

const CLSID = Buffer.from('0114020000000000c000000000000046', 'hex');
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const ansiz = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);
const wz = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf16le'), Buffer.alloc(2)]);

function linkInfo(spec: LinkSpec): Buffer {
  const volumeId = Buffer.concat([u32(0x11), u32(3), u32(0x12345678), u32(0x10), Buffer.from([0])]);
  if (spec.local) {
    const unicode = spec.local.unicode === true;
    const headerSize = unicode ? 0x24 : 0x1c;
    const volOff = headerSize;
    const baseOff = volOff + volumeId.length;
    const base = ansiz(unicode ? '?' : spec.local.base);
    const suffixOff = baseOff + base.length;
    const suffix = ansiz(unicode ? '' : (spec.local.suffix ?? ''));
    let tail = Buffer.concat([volumeId, base, suffix]);
    let header = [u32(0), u32(headerSize), u32(1), u32(volOff), u32(baseOff), u32(0), u32(suffixOff)];
    if (unicode) {
      const wBaseOff = headerSize + tail.length;
      const wBase = wz(spec.local.base);
      const wSuffix = wz(spec.local.suffix ?? '');
      header = [...header, u32(wBaseOff), u32(wBaseOff + wBase.length)];
      tail = Buffer.concat([tail, wBase, wSuffix]);
    }
    const body = Buffer.concat([...header, tail]);
    body.writeUInt32LE(body.length, 0);
    return body;
  }
  const net = spec.network!;
  const cnrl = Buffer.concat([u32(0), u32(2), u32(0x14), u32(0), u32(0x20000), ansiz(net.netName)]);
  cnrl.writeUInt32LE(cnrl.length, 0);
  const suffix = ansiz(net.suffix ?? '');
  const body = Buffer.concat([
    u32(0),
    u32(0x1c),
    u32(2),
    u32(0),
    u32(0),
    u32(0x1c),
    u32(0x1c + cnrl.length),
    cnrl,
    suffix,
  ]);
  body.writeUInt32LE(body.length, 0);
  return body;
}

export function buildShellLink(spec: LinkSpec): Buffer {
  const unicode = spec.unicode !== false;
  let flags = 0;
  const parts: Buffer[] = [];
  if (spec.idList) {
    flags |= 0x1;
    parts.push(u16(spec.idList.length), spec.idList);
  }
  if (spec.local || spec.network) {
    flags |= 0x2;
    parts.push(linkInfo(spec));
  }
  if (spec.forceNoLinkInfo) flags |= 0x100;
  if (unicode) flags |= 0x80;
  const strings: Array<[keyof LinkSpec, number]> = [
    ['name', 0x4],
    ['relativePath', 0x8],
    ['workingDir', 0x10],
    ['arguments', 0x20],
    ['iconLocation', 0x40],
  ];
  for (const [key, flag] of strings) {
    const s = spec[key] as string | undefined;
    if (s === undefined) continue;
    flags |= flag;
    parts.push(u16(s.length), Buffer.from(s, unicode ? 'utf16le' : 'latin1'));
  }
  if (spec.environmentTarget !== undefined) {
    flags |= 0x200;
    const block = Buffer.alloc(0x314);
    block.writeUInt32LE(0x314, 0);
    block.writeUInt32LE(0xa0000001, 4);
    block.write(spec.environmentTarget, 8, 259, 'latin1');
    block.write(spec.environmentTarget, 0x10c, 518, 'utf16le');
    parts.push(block);
  }
  parts.push(u32(0)); // terminal block
  const header = Buffer.alloc(0x4c);
  header.writeUInt32LE(0x4c, 0);
  CLSID.copy(header, 4);
  header.writeUInt32LE(flags, 20);
  header.writeUInt32LE(1, 60); // SW_SHOWNORMAL
  return Buffer.concat([header, ...parts]);
}
