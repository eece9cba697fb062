/**
 * What a driver's PE file says of itself: its size in memory (SizeOfImage) and whether it carries an
 * embedded Authenticode signature (a non-empty security directory), with the signer's name in it.
 *
 * The signature is NOT verified (WinVerifyTrust is not used: it does not work under Wine, and a trust check
 * is not a header read). A file signed through a catalog (.cat) instead of an embedded signature shows as
 * `unsigned`. The parsing part is pure and unit-tested on any OS.
 */
import { promises as fsp } from 'node:fs';
import { authenticodeSignerName } from './drivers-authenticode.js';

export const UNSIGNED = 'unsigned';
/** Signed, but the signer's name could not be read from the certificate table. */
export const SIGNED_UNKNOWN = 'signed (signer unreadable)';

const PE32_MAGIC = 0x10b;
const PE32_PLUS_MAGIC = 0x20b;
const IMAGE_DIRECTORY_ENTRY_SECURITY = 4;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
/** Headers a PE can have before its section table fits; what is read first. */
export const HEADER_BYTES = 4096;
/** Certificate tables are a few KiB; more than this is not read. */
const MAX_CERT_BYTES = 256 * 1024;

export interface PeHeaders {
  sizeOfImage: number;
  /** The security directory: a file offset (not an RVA) and a size; size 0 when there is no signature. */
  security: { offset: number; size: number };
}

/** The headers of a PE image from its first bytes, or null when it is not a PE image. */
export function parsePeHeaders(head: Buffer): PeHeaders | null {
  if (head.length < 0x40 || head.readUInt16LE(0) !== 0x5a4d) return null; // MZ
  const pe = head.readUInt32LE(0x3c);
  if (pe + 24 > head.length || head.readUInt32LE(pe) !== 0x00004550) return null; // PE\0\0
  const optional = pe + 24;
  const optionalSize = head.readUInt16LE(pe + 20);
  if (optional + 2 > head.length) return null;
  const magic = head.readUInt16LE(optional);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) return null;
  const countAt = optional + (magic === PE32_PLUS_MAGIC ? 108 : 92);
  const directories = countAt + 4;
  if (countAt + 4 > head.length || 60 > optionalSize) return null;
  const sizeOfImage = head.readUInt32LE(optional + 56);
  const count = head.readUInt32LE(countAt);
  const entry = directories + IMAGE_DIRECTORY_ENTRY_SECURITY * 8;
  const hasSecurity =
    count > IMAGE_DIRECTORY_ENTRY_SECURITY && entry + 8 <= head.length && entry + 8 <= optional + optionalSize;
  return {
    sizeOfImage,
    security: hasSecurity
      ? { offset: head.readUInt32LE(entry), size: head.readUInt32LE(entry + 4) }
      : { offset: 0, size: 0 },
  };
}

/**
 * The signer named by the first WIN_CERTIFICATE of a certificate table (see drivers-authenticode.ts);
 * SIGNED_UNKNOWN when it cannot be read.
 */
export function certificateTableSigner(table: Buffer): string {
  if (table.length < 8) return SIGNED_UNKNOWN;
  const length = table.readUInt32LE(0);
  const certificateType = table.readUInt16LE(6);
  if (certificateType !== WIN_CERT_TYPE_PKCS_SIGNED_DATA || length < 8) return SIGNED_UNKNOWN;
  return authenticodeSignerName(table.subarray(8, Math.min(length, table.length))) ?? SIGNED_UNKNOWN;
}

export interface PeFacts {
  /** SizeOfImage: bytes the image takes in memory. */
  size: number;
  signer: string;
}

/** Size and signer of the PE file at `path`; null when it cannot be read or is not a PE image. */
export async function peFacts(path: string): Promise<PeFacts | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEADER_BYTES, 0);
    const headers = parsePeHeaders(head.subarray(0, bytesRead));
    if (!headers) return null;
    const { offset, size } = headers.security;
    if (size === 0 || offset === 0) return { size: headers.sizeOfImage, signer: UNSIGNED };
    const table = Buffer.alloc(Math.min(size, MAX_CERT_BYTES));
    const read = await handle.read(table, 0, table.length, offset);
    return { size: headers.sizeOfImage, signer: certificateTableSigner(table.subarray(0, read.bytesRead)) };
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}
