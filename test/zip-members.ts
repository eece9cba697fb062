/**
 * Reads a zip's members and writes them again with yazl (as the case export does), for tests that change a
 * member and need every CRC-32 and size to stay right, or that need zip64 records on a small zip.
 */
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import yazl from 'yazl';

export interface Member {
  name: string;
  data: Buffer;
}

function openBuffer(zip: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))),
  );
}

/** The members of a zip, in order, read with yauzl (which checks their CRC-32). */
export async function membersOf(zip: Buffer): Promise<Member[]> {
  const file = await openBuffer(zip);
  const members: Member[] = [];
  for await (const entry of file.eachEntry()) {
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      file.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    members.push({ name: entry.fileName, data: Buffer.concat(chunks) });
  }
  file.close();
  return members;
}

/** The central directory entries of a zip, as yauzl reads them. */
export async function entriesOf(zip: Buffer): Promise<yauzl.Entry[]> {
  const file = await openBuffer(zip);
  const entries: yauzl.Entry[] = [];
  for await (const entry of file.eachEntry()) entries.push(entry);
  file.close();
  return entries;
}

export interface ZipOptions {
  /**
   * Zip64 records for every member and the end of the zip, whatever their size: the zip64 extra field in
   * each header, zip64 data descriptors, the zip64 end record and its locator.
   */
  zip64?: boolean;
}

/**
 * A zip of these members written by yazl as the export writes them (evidence stored, the rest deflated;
 * streamed, so each member has a data descriptor): every CRC-32 and size is right for the bytes given.
 */
export async function zipOf(members: Member[], options: ZipOptions = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const zip64 = options.zip64 ?? false;
  for (const m of members) {
    zip.addReadStream(Readable.from([m.data]), m.name, {
      compress: !m.name.startsWith('evidence/'),
      mtime: new Date('2025-01-01T00:00:00Z'),
      mode: 0o100444,
      forceZip64Format: zip64,
    });
  }
  zip.end({ forceZip64Format: zip64, comment: '' });
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
