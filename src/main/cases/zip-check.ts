/**
 * Reads a zip defensively for the case import: every problem found is tied to the member it belongs to,
 * so "one byte changed in the zip" is reported as "this file is damaged", not as an opaque failure.
 *
 * Beyond yauzl's own checks it verifies, per member: a safe name (no absolute path, `..`, backslash or
 * control character), no duplicate, the local header agreeing with the central directory (name, flags,
 * method, times, and CRC and sizes when the header carries them), the data descriptor agreeing too, and the
 * data's CRC-32 and size (the caller adds its SHA-256 against the manifest). It also checks that local
 * headers, data and descriptors tile the file from byte 0 to the central directory, so no byte hides
 * between members. yauzl's size validation is off on purpose: it fails the whole zip at the first wrong
 * size, while the stream check below reports the member and still caps what inflating can produce.
 *
 * Not covered: fields only the central directory or the end record hold and that nothing imported depends
 * on (version made by, file attributes, the extra timestamp field, the end record's disk numbers and
 * directory size): a changed byte there goes unnoticed, and changes nothing that is imported.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import type { ImportProblem } from '../../shared/workstation/case-types.js';
import { MultiHash, type FileDigest } from './hashing.js';
import { describeErrorOneLine } from '../../shared/errors.js';

/** More members than any case export has; bounds the memory a hostile central directory can claim. */
export const MAX_ZIP_MEMBERS = 200_000;
const MAX_PROBLEMS = 500;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DESCRIPTOR = 0x8;

export class ProblemList {
  private readonly items: ImportProblem[] = [];
  private readonly seen = new Set<string>();
  private dropped = 0;

  add(file: string, problem: string): void {
    const key = `${file}\n${problem}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.items.length >= MAX_PROBLEMS) {
      this.dropped++;
      return;
    }
    this.items.push({ file, problem: problem.replace(/\s+/g, ' ').trim() });
  }

  has(file: string): boolean {
    return this.items.some((p) => p.file === file);
  }

  get count(): number {
    return this.items.length + this.dropped;
  }

  list(summaryFile: string): ImportProblem[] {
    return this.dropped
      ? [...this.items, { file: summaryFile, problem: `${this.dropped} more problems not listed` }]
      : [...this.items];
  }
}

export interface ZipMember {
  /** The member's name as stored (decoded as UTF-8 or CP437 per its flags), shown in problems. */
  name: string;
  entry: yauzl.Entry;
  /** Byte range the member occupies: local header, data, data descriptor. */
  start: number;
  end: number;
}

export interface CheckedZip {
  members: ZipMember[];
  /** Streams one member's data through the checks into `sink` (or nowhere). */
  read(member: ZipMember, options: ReadOptions): Promise<ReadResult>;
  close(): Promise<void>;
}

export interface ReadOptions {
  sink?: Writable | undefined;
  /** Never accept more bytes than this (the manifest's size, when there is one). */
  maxBytes?: number | undefined;
  /** Compute SHA-1 and MD5 as well (evidence). */
  allDigests?: boolean | undefined;
  onBytes?: ((n: number) => void) | undefined;
}

export type ReadResult = { ok: true; digest: FileDigest; sha256: string } | { ok: false; problem: string };

/** Why a member name is unsafe to use, or undefined. */
export function unsafeMemberName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a name with control characters';
  if (name.includes('\\')) return 'a name with a backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.split('/').some((part) => part === '..')) return 'a path going up (..)';
  if (name.endsWith('/')) return 'a folder entry';
  return undefined;
}

/** Counts, hashes and CRCs the member's data, refusing to go past the byte limit. */
class MemberCheck extends Transform {
  /** SHA-256 alone, or all three digests (evidence). */
  private readonly sha256: Hash | undefined;
  private readonly all: MultiHash | undefined;
  crc = 0;
  bytes = 0;

  constructor(
    private readonly limit: number,
    allDigests: boolean,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
    this.all = allDigests ? new MultiHash() : undefined;
    this.sha256 = allDigests ? undefined : createHash('sha256');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      done(new Error(`holds more data than declared (over ${this.limit} bytes)`));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    this.all?.update(chunk);
    this.sha256?.update(chunk);
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }

  digest(): FileDigest {
    return this.all
      ? this.all.digest()
      : { sha256: (this.sha256 as Hash).digest('hex'), sha1: '', md5: '', size: this.bytes };
  }
}

async function sink(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of source) {
    /* checked on the way */
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false },
      (err, zip) => (err ? reject(err) : resolve(zip)),
    );
  });
}

function openStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
}

function readLocalHeader(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<yauzl.LocalFileHeader> {
  return new Promise((resolve, reject) =>
    zip.readLocalFileHeader(entry, {}, (err, header) => (err ? reject(err) : resolve(header))),
  );
}

function decodeName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

/**
 * Opens the zip and runs the structural checks. Returns undefined when it cannot be read as a zip at all
 * (the problem is then reported against `zipName`).
 */
export async function openCheckedZip(
  file: string,
  zipName: string,
  problems: ProblemList,
): Promise<CheckedZip | undefined> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (e) {
    problems.add(zipName, `not a readable zip (truncated or damaged): ${describeErrorOneLine(e)}`);
    return undefined;
  }
  // A later read error after a failed one must not become an unhandled 'error' event.
  zip.on('error', () => undefined);
  const centralDirectoryOffset = (zip as unknown as { readEntryCursor: unknown }).readEntryCursor;
  let handle: FileHandle | undefined;
  const close = async () => {
    zip.close();
    await handle?.close();
    handle = undefined;
  };
  try {
    if (zip.entryCount > MAX_ZIP_MEMBERS) {
      problems.add(zipName, `claims ${zip.entryCount} members, more than a case export holds (${MAX_ZIP_MEMBERS})`);
      await close();
      return undefined;
    }
    const members: ZipMember[] = [];
    const names = new Set<string>();
    try {
      for await (const entry of zip.eachEntry()) {
        const name = decodeName(entry);
        const member: ZipMember = {
          name,
          entry,
          start: entry.relativeOffsetOfLocalHeader,
          end: entry.relativeOffsetOfLocalHeader,
        };
        const unsafe = unsafeMemberName(name);
        if (unsafe) problems.add(name, `unsafe member: ${unsafe}`);
        if (names.has(name)) problems.add(name, 'appears twice in the zip');
        names.add(name);
        members.push(member);
      }
    } catch (e) {
      problems.add(
        zipName,
        `the zip's central directory is damaged after ${members.length} members: ${describeErrorOneLine(e)}`,
      );
      await close();
      return undefined;
    }
    handle = await open(file, 'r');
    for (const member of members) await checkMemberLayout(zip, handle, member, problems);
    checkTiling(
      members,
      typeof centralDirectoryOffset === 'number' ? centralDirectoryOffset : undefined,
      zipName,
      problems,
    );

    return {
      members,
      close,
      read: async (member, options) => {
        const entry = member.entry;
        if (entry.generalPurposeBitFlag & FLAG_ENCRYPTED) return { ok: false, problem: 'is encrypted' };
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
          return { ok: false, problem: `uses an unsupported compression method (${entry.compressionMethod})` };
        const check = new MemberCheck(
          Math.min(options.maxBytes ?? Number.MAX_SAFE_INTEGER, entry.uncompressedSize),
          options.allDigests ?? false,
          options.onBytes,
        );
        try {
          const stream = await openStream(zip, entry);
          if (options.sink) await pipeline(stream, check, options.sink);
          else await pipeline(stream, check, sink);
        } catch (e) {
          const text = describeErrorOneLine(e);
          const zlibError = (e as { code?: unknown }).code;
          return {
            ok: false,
            problem:
              typeof zlibError === 'string' && zlibError.startsWith('Z_') ? `corrupt compressed data (${text})` : text,
          };
        }
        if (check.bytes !== entry.uncompressedSize)
          return { ok: false, problem: `holds ${check.bytes} bytes, the zip declares ${entry.uncompressedSize}` };
        if (check.crc >>> 0 !== entry.crc32 >>> 0)
          return { ok: false, problem: 'CRC-32 mismatch: its data was changed or damaged' };
        const digest = check.digest();
        return { ok: true, digest, sha256: digest.sha256 };
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

async function checkMemberLayout(
  zip: yauzl.ZipFile,
  handle: FileHandle,
  member: ZipMember,
  problems: ProblemList,
): Promise<void> {
  const entry = member.entry;
  let header: yauzl.LocalFileHeader;
  try {
    header = await readLocalHeader(zip, entry);
  } catch (e) {
    problems.add(member.name, `its local header is damaged or missing: ${describeErrorOneLine(e)}`);
    return;
  }
  if (!header.fileName.equals(entry.fileNameRaw))
    problems.add(member.name, 'its local header names another file: the header was changed or damaged');
  const zip64 = entry.extraFields.some((field) => field.id === 0x0001);
  // yazl writes the zip64 version (45) only in the central directory; otherwise the two must agree.
  const versionAgrees = zip64
    ? header.versionNeededToExtract <= entry.versionNeededToExtract
    : header.versionNeededToExtract === entry.versionNeededToExtract;
  if (
    !versionAgrees ||
    header.generalPurposeBitFlag !== entry.generalPurposeBitFlag ||
    header.compressionMethod !== entry.compressionMethod ||
    header.lastModFileTime !== entry.lastModFileTime ||
    header.lastModFileDate !== entry.lastModFileDate
  ) {
    problems.add(
      member.name,
      'its local header does not match the central directory (version, flags, method or time changed)',
    );
  }
  let end = header.fileDataStart + entry.compressedSize;
  if (entry.generalPurposeBitFlag & FLAG_DESCRIPTOR) {
    // The CRC and sizes follow the data; the header's own fields are zero (or, from some writers, the same values).
    const blank = header.crc32 === 0 && header.compressedSize === 0 && header.uncompressedSize === 0;
    const same =
      header.crc32 === entry.crc32 &&
      header.compressedSize === entry.compressedSize &&
      header.uncompressedSize === entry.uncompressedSize;
    if (!blank && !same)
      problems.add(member.name, 'its local header does not match the central directory (CRC or sizes changed)');
    const buffer = Buffer.alloc(24);
    const { bytesRead } = await handle.read(buffer, 0, 24, end);
    const offset = bytesRead >= 4 && buffer.readUInt32LE(0) === DESCRIPTOR_SIGNATURE ? 4 : 0;
    const length = offset + (zip64 ? 20 : 12);
    if (bytesRead < length) {
      problems.add(member.name, 'its data descriptor is cut off');
    } else {
      const crc = buffer.readUInt32LE(offset);
      const compressed = zip64 ? Number(buffer.readBigUInt64LE(offset + 4)) : buffer.readUInt32LE(offset + 4);
      const uncompressed = zip64 ? Number(buffer.readBigUInt64LE(offset + 12)) : buffer.readUInt32LE(offset + 8);
      if (crc !== entry.crc32 || compressed !== entry.compressedSize || uncompressed !== entry.uncompressedSize) {
        problems.add(member.name, 'its data descriptor does not match the central directory (CRC or sizes changed)');
      }
    }
    end += length;
  } else if (
    header.crc32 !== entry.crc32 ||
    (header.compressedSize !== 0xffffffff &&
      (header.compressedSize !== entry.compressedSize || header.uncompressedSize !== entry.uncompressedSize))
  ) {
    problems.add(member.name, 'its local header does not match the central directory (CRC or sizes changed)');
  }
  member.end = end;
}

/** Members must follow each other from byte 0 to the central directory, with nothing in between. */
function checkTiling(
  members: ZipMember[],
  centralDirectoryOffset: number | undefined,
  zipName: string,
  problems: ProblemList,
): void {
  let cursor = 0;
  for (const member of [...members].sort((a, b) => a.start - b.start)) {
    if (member.start > cursor)
      problems.add(member.name, `${member.start - cursor} bytes before it belong to no member`);
    else if (member.start < cursor) problems.add(member.name, 'overlaps the member before it');
    cursor = Math.max(cursor, member.end);
  }
  if (centralDirectoryOffset !== undefined && centralDirectoryOffset !== cursor) {
    problems.add(
      zipName,
      centralDirectoryOffset > cursor
        ? `${centralDirectoryOffset - cursor} bytes after the last member belong to no member`
        : 'the central directory overlaps the last member',
    );
  }
}
