/**
 * Shell links (`.lnk`), MS-SHLLINK: what a shortcut starts. Read from the bytes (no Windows API, nothing
 * resolved on disk): the header's flags, the item id list (its file-system path), LinkInfo (the local base
 * path or network share and the common path suffix), the StringData strings (relative path, working folder,
 * arguments; UTF-16 LE when IsUnicode, else the ANSI code page, read as Latin-1) and the extra data's
 * environment-variables block (`%windir%\system32\cmd.exe`). Every offset is bounds-checked: a truncated or
 * inconsistent link throws ShellLinkError.
 */
import path from 'node:path';

export class ShellLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellLinkError';
  }
}

export interface ShellLink {
  /** What the link starts (see `linkTarget`), or null when the link names nothing. */
  target: string | null;
  arguments: string | null;
  workingDir: string | null;
  relativePath: string | null;
  description: string | null;
  iconLocation: string | null;
  /** LinkInfo's local path (LocalBasePath + CommonPathSuffix) or UNC path (NetName\CommonPathSuffix). */
  linkInfoPath: string | null;
  /** The path spelled by the item id list (file-system items only). */
  idListPath: string | null;
  /** The environment-variables block's target, as written (variables not expanded). */
  environmentTarget: string | null;
}

const HEADER_SIZE = 0x4c;
const LINK_CLSID = Buffer.from('0114020000000000c000000000000046', 'hex');

const HasLinkTargetIDList = 0x1;
const HasLinkInfo = 0x2;
const HasName = 0x4;
const HasRelativePath = 0x8;
const HasWorkingDir = 0x10;
const HasArguments = 0x20;
const HasIconLocation = 0x40;
const IsUnicode = 0x80;
const ForceNoLinkInfo = 0x100;
const HasExpString = 0x200;

const ENVIRONMENT_BLOCK = 0xa0000001;

class Reader {
  constructor(readonly buf: Buffer) {}
  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.buf.length)
      throw new ShellLinkError(`truncated ${what} (offset ${offset}, ${length} bytes, file has ${this.buf.length})`);
  }
  u16(offset: number, what: string): number {
    this.need(offset, 2, what);
    return this.buf.readUInt16LE(offset);
  }
  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.buf.readUInt32LE(offset);
  }
  /** NUL-terminated single-byte string within [offset, end). */
  ansiz(offset: number, end: number, what: string): string {
    this.need(offset, 1, what);
    const stop = this.buf.indexOf(0, offset);
    if (stop < 0 || stop >= end) throw new ShellLinkError(`unterminated ${what}`);
    return this.buf.toString('latin1', offset, stop);
  }
  /** NUL-terminated UTF-16 LE string within [offset, end). */
  unicodez(offset: number, end: number, what: string): string {
    for (let i = offset; i + 1 < end; i += 2) {
      this.need(i, 2, what);
      if (this.buf.readUInt16LE(i) === 0) return this.buf.toString('utf16le', offset, i);
    }
    throw new ShellLinkError(`unterminated ${what}`);
  }
}

/** The path of the file-system items of an id list (`C:\` volume, then folder/file entries), null otherwise. */
function idListPath(r: Reader, start: number, end: number): string | null {
  const parts: string[] = [];
  let pos = start;
  while (pos + 2 <= end) {
    const size = r.u16(pos, 'item id');
    if (size === 0) break;
    if (size < 3 || pos + size > end) throw new ShellLinkError('item id overruns the id list');
    const type = r.buf[pos + 2]!;
    const item = r.buf.subarray(pos, pos + size);
    if ((type & 0x70) === 0x20 && size > 4) {
      // Volume: `C:\` in ASCII.
      const stop = item.indexOf(0, 3);
      parts.length = 0;
      parts.push(item.toString('latin1', 3, stop < 0 ? size : stop).replace(/\\$/, ''));
    } else if ((type & 0x70) === 0x30 && size > 14) {
      parts.push(fileEntryName(item, type));
    }
    pos += size;
  }
  return parts.length > 1 || (parts.length === 1 && /^[a-z]:$/i.test(parts[0]!)) ? parts.join('\\') || null : null;
}

/** A file entry item's long name (its 0xBEEF0004 extension block), else its primary (short) name. */
function fileEntryName(item: Buffer, type: number): string {
  const unicode = (type & 0x04) !== 0;
  let pos = 14;
  let short: string;
  if (unicode) {
    let i = pos;
    while (i + 1 < item.length && item.readUInt16LE(i) !== 0) i += 2;
    short = item.toString('utf16le', pos, i);
    pos = i + 2;
  } else {
    const stop = item.indexOf(0, pos);
    short = item.toString('latin1', pos, stop < 0 ? item.length : stop);
    pos = stop < 0 ? item.length : stop + 1;
    if (pos % 2 === 1) pos++;
  }
  // Extension block: size, version, signature 0xBEEF0004; the long name's offset depends on the version.
  if (pos + 8 <= item.length && item.readUInt32LE(pos + 4) === 0xbeef0004) {
    const size = item.readUInt16LE(pos);
    const version = item.readUInt16LE(pos + 2);
    const at = version >= 9 ? 46 : version === 8 ? 42 : version === 7 ? 38 : version >= 3 ? 20 : -1;
    const blockEnd = Math.min(item.length, pos + size);
    if (at > 0 && pos + at < blockEnd) {
      let i = pos + at;
      while (i + 1 < blockEnd && item.readUInt16LE(i) !== 0) i += 2;
      const long = item.toString('utf16le', pos + at, i);
      if (long !== '' && i + 1 < blockEnd) return long;
    }
  }
  return short;
}

function linkInfoPath(r: Reader, start: number): { path: string | null; size: number } {
  const size = r.u32(start, 'LinkInfo');
  r.need(start, size, 'LinkInfo');
  const end = start + size;
  const headerSize = r.u32(start + 4, 'LinkInfo header');
  const flags = r.u32(start + 8, 'LinkInfo flags');
  const at = (field: number): number => start + r.u32(start + field, 'LinkInfo offset');
  const unicodeOffsets = headerSize >= 0x24;
  let suffix = '';
  const suffixOffset = unicodeOffsets ? r.u32(start + 0x20, 'LinkInfo offset') : 0;
  if (suffixOffset) suffix = r.unicodez(start + suffixOffset, end, 'CommonPathSuffixUnicode');
  else if (r.u32(start + 0x18, 'LinkInfo offset')) suffix = r.ansiz(at(0x18), end, 'CommonPathSuffix');
  if (flags & 0x1) {
    const baseUnicode = unicodeOffsets ? r.u32(start + 0x1c, 'LinkInfo offset') : 0;
    const base = baseUnicode
      ? r.unicodez(start + baseUnicode, end, 'LocalBasePathUnicode')
      : r.ansiz(at(0x10), end, 'LocalBasePath');
    return { path: base + suffix, size };
  }
  if (flags & 0x2) {
    const net = at(0x14);
    const netSize = r.u32(net, 'CommonNetworkRelativeLink');
    const netEnd = Math.min(end, net + netSize);
    const netNameOffset = r.u32(net + 8, 'CommonNetworkRelativeLink');
    const netName =
      netNameOffset > 0x14 && r.u32(net + 0x14, 'CommonNetworkRelativeLink')
        ? r.unicodez(net + r.u32(net + 0x14, 'CommonNetworkRelativeLink'), netEnd, 'NetNameUnicode')
        : r.ansiz(net + netNameOffset, netEnd, 'NetName');
    return { path: suffix ? `${netName.replace(/\\$/, '')}\\${suffix}` : netName, size };
  }
  return { path: null, size };
}

/** Parses the bytes of a `.lnk` file. */
export function parseShellLink(bytes: Uint8Array): ShellLink {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  r.need(0, HEADER_SIZE, 'header');
  if (r.u32(0, 'header') !== HEADER_SIZE || !r.buf.subarray(4, 20).equals(LINK_CLSID))
    throw new ShellLinkError('not a shell link (bad header)');
  const flags = r.u32(20, 'header');
  let pos = HEADER_SIZE;
  let idPath: string | null = null;
  if (flags & HasLinkTargetIDList) {
    const size = r.u16(pos, 'id list');
    r.need(pos + 2, size, 'id list');
    try {
      idPath = idListPath(r, pos + 2, pos + 2 + size);
    } catch {
      idPath = null; // the id list only backs up LinkInfo: an odd one is ignored, not fatal
    }
    pos += 2 + size;
  }
  let infoPath: string | null = null;
  if (flags & HasLinkInfo) {
    const info = linkInfoPath(r, pos);
    if (!(flags & ForceNoLinkInfo)) infoPath = info.path;
    pos += info.size;
  }
  const unicode = (flags & IsUnicode) !== 0;
  const stringData = (flag: number, what: string): string | null => {
    if (!(flags & flag)) return null;
    const count = r.u16(pos, what);
    const bytesLen = unicode ? count * 2 : count;
    r.need(pos + 2, bytesLen, what);
    const s = r.buf.toString(unicode ? 'utf16le' : 'latin1', pos + 2, pos + 2 + bytesLen);
    pos += 2 + bytesLen;
    // The count should exclude a terminator, but Wine counts one: the string ends at a NUL either way.
    const nul = s.indexOf('\0');
    return nul < 0 ? s : s.slice(0, nul);
  };
  const description = stringData(HasName, 'name');
  const relativePath = stringData(HasRelativePath, 'relative path');
  const workingDir = stringData(HasWorkingDir, 'working folder');
  const args = stringData(HasArguments, 'arguments');
  const iconLocation = stringData(HasIconLocation, 'icon location');
  let environmentTarget: string | null = null;
  // Extra data blocks: size (>= 4, else the terminal block), signature, data.
  while (pos + 4 <= r.buf.length) {
    const size = r.u32(pos, 'extra data');
    if (size < 4) break;
    if (size < 8) throw new ShellLinkError(`extra data block of ${size} bytes`);
    r.need(pos, size, 'extra data block');
    if (r.u32(pos + 4, 'extra data') === ENVIRONMENT_BLOCK && size >= 0x314) {
      const wide = r.unicodez(pos + 0x10c, pos + 0x314, 'environment target');
      environmentTarget = wide || r.ansiz(pos + 8, pos + 0x10c, 'environment target') || null;
    }
    pos += size;
  }
  const link: ShellLink = {
    target: null,
    arguments: args || null,
    workingDir: workingDir || null,
    relativePath: relativePath || null,
    description: description || null,
    iconLocation: iconLocation || null,
    linkInfoPath: infoPath || null,
    idListPath: idPath,
    environmentTarget: flags & HasExpString ? environmentTarget : null,
  };
  link.target = link.environmentTarget ?? link.linkInfoPath ?? link.idListPath ?? link.relativePath;
  return link;
}

/**
 * `"C:\Program Files\x.exe" -a`: the target (quoted when it holds a space) and its arguments; null without a
 * target. A target known only by its relative path is resolved against `linkDir` (the folder of the `.lnk`).
 */
export function shellLinkCommand(link: ShellLink, linkDir?: string): string | null {
  let resolved = link.target;
  if (!resolved) return null;
  if (resolved === link.relativePath && linkDir && !path.win32.isAbsolute(resolved))
    resolved = path.win32.join(linkDir, resolved);
  const target = /\s/.test(resolved) && !resolved.startsWith('"') ? `"${resolved}"` : resolved;
  return link.arguments ? `${target} ${link.arguments}` : target;
}
