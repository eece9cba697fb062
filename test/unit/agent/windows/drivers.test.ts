/**
 * Driver paths, the PE header read (size and embedded signature) and the join of loaded modules with SCM entries
 * (pure).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { joinDrivers } from '../../../../src/agent/platform/windows/drivers.js';
import {
  baseNameOf,
  defaultDriverPath,
  resolveDriverPath,
} from '../../../../src/agent/platform/windows/drivers-paths.js';
import {
  certificateTableSigner,
  parsePeHeaders,
  peFacts,
  SIGNED_UNKNOWN,
  UNSIGNED,
} from '../../../../src/agent/platform/windows/drivers-pe.js';
import type { ScmEntry } from '../../../../src/agent/platform/windows/scm.js';
import { buildPe, pkcs7SignedBy, signedPe, winCertificate } from './pe-fixture.js';

const ROOT = 'C:\\Windows';

describe('driver paths', () => {
  it('resolves the NT forms the kernel and ImagePath use', () => {
    expect(resolveDriverPath('\\SystemRoot\\system32\\ntoskrnl.exe', ROOT)).toBe('C:\\Windows\\system32\\ntoskrnl.exe');
    expect(resolveDriverPath('\\systemroot\\System32\\drivers\\x.sys', 'C:\\windows\\')).toBe(
      'C:\\windows\\System32\\drivers\\x.sys',
    );
    expect(resolveDriverPath('System32\\drivers\\tcpip.sys', ROOT)).toBe('C:\\Windows\\System32\\drivers\\tcpip.sys');
    expect(resolveDriverPath('system32\\DRIVERS\\x.sys', 'D:\\WINNT')).toBe('D:\\WINNT\\system32\\DRIVERS\\x.sys');
    expect(resolveDriverPath('\\??\\C:\\ProgramData\\evil\\rk.sys', ROOT)).toBe('C:\\ProgramData\\evil\\rk.sys');
    expect(resolveDriverPath('\\\\?\\C:\\x.sys', ROOT)).toBe('C:\\x.sys');
    expect(resolveDriverPath('%SystemRoot%\\System32\\drivers\\a.sys', ROOT)).toBe(
      'C:\\Windows\\System32\\drivers\\a.sys',
    );
    expect(resolveDriverPath('%windir%\\b.sys', ROOT)).toBe('C:\\Windows\\b.sys');
    expect(resolveDriverPath('\\Windows\\System32\\drivers\\c.sys', 'E:\\Windows')).toBe(
      'E:\\Windows\\System32\\drivers\\c.sys',
    );
    expect(resolveDriverPath('"C:\\Program Files\\V\\v.sys"', ROOT)).toBe('C:\\Program Files\\V\\v.sys');
    expect(resolveDriverPath('C:\\Users\\Public\\lrdrv.sys', ROOT)).toBe('C:\\Users\\Public\\lrdrv.sys');
    // a device path has no drive letter to map to: kept as the kernel wrote it
    expect(resolveDriverPath('\\Device\\HarddiskVolume3\\x.sys', ROOT)).toBe('\\Device\\HarddiskVolume3\\x.sys');
    // a folder that only starts like SystemRoot is not it
    expect(resolveDriverPath('\\SystemRootkit\\x.sys', ROOT)).toBe('\\SystemRootkit\\x.sys');
  });

  it('gives the default path of a driver without ImagePath and joins on lower-cased file names', () => {
    expect(defaultDriverPath('beep', 'C:\\Windows\\')).toBe('C:\\Windows\\System32\\drivers\\beep.sys');
    expect(baseNameOf('C:\\Windows\\System32\\DRIVERS\\Tcpip.SYS')).toBe('tcpip.sys');
  });
});

describe('PE headers', () => {
  it('reads SizeOfImage and an empty security directory of PE32+ and PE32 images', () => {
    expect(parsePeHeaders(buildPe({ sizeOfImage: 0x23000 }))).toEqual({
      sizeOfImage: 0x23000,
      security: { offset: 0, size: 0 },
    });
    expect(parsePeHeaders(buildPe({ sizeOfImage: 0x5000, magic: 0x10b }))?.sizeOfImage).toBe(0x5000);
  });

  it('finds the security directory of a signed image', () => {
    const table = winCertificate(Buffer.alloc(40, 1));
    const h = parsePeHeaders(buildPe({ sizeOfImage: 0x1000, certificateTable: table }));
    expect(h?.security.size).toBe(table.length);
    expect(h?.security.offset).toBeGreaterThan(0);
  });

  it('reads no security directory where the header declares fewer directories than five', () => {
    const table = winCertificate(Buffer.alloc(40, 1));
    const fewer = buildPe({ sizeOfImage: 0x1000, certificateTable: table });
    fewer.writeUInt32LE(4, 0x40 + 24 + 108); // NumberOfRvaAndSizes: the security entry is not a directory
    expect(parsePeHeaders(fewer)?.security).toEqual({ offset: 0, size: 0 });
    const shortOptional = buildPe({ sizeOfImage: 0x1000, certificateTable: table });
    shortOptional.writeUInt16LE(112 + 4 * 8, 0x40 + 20); // SizeOfOptionalHeader ends before the security entry
    expect(parsePeHeaders(shortOptional)?.security).toEqual({ offset: 0, size: 0 });
  });

  it('refuses what is not a PE image, and truncated headers', () => {
    expect(parsePeHeaders(Buffer.from('not a PE'))).toBeNull();
    const pe = buildPe({ sizeOfImage: 0x1000 });
    expect(parsePeHeaders(pe.subarray(0, 0x50))).toBeNull();
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(200)]);
    expect(parsePeHeaders(elf)).toBeNull();
    const wrongSignature = Buffer.from(pe);
    wrongSignature.write('NE', 0x40, 'latin1');
    expect(parsePeHeaders(wrongSignature)).toBeNull();
  });

  it('names the signer of a certificate table holding a real PKCS#7 (openssl): the signing certificate, not its CA', () => {
    const der = pkcs7SignedBy('LR Test Vendor', Buffer.from('image'), { caName: 'LR Test CA' });
    expect(certificateTableSigner(winCertificate(der))).toBe('LR Test Vendor');
    // the certificates left out of the signature: only the issuer is named in it
    const bare = pkcs7SignedBy('LR Test Vendor', Buffer.from('image'), { caName: 'LR Test CA', certificates: false });
    expect(certificateTableSigner(winCertificate(bare))).toBe('LR Test CA');
    // a certificate of the same issuer that did not sign is not taken for the signer
    const sibling = pkcs7SignedBy('LR Test Vendor', Buffer.from('image'), {
      caName: 'LR Test CA',
      certificates: false,
      sibling: 'LR Other Vendor',
    });
    expect(certificateTableSigner(winCertificate(sibling))).toBe('LR Test CA');
    // self-signed
    expect(certificateTableSigner(winCertificate(pkcs7SignedBy('LR Self Signed', Buffer.from('x'))))).toBe(
      'LR Self Signed',
    );
    // signed, but not with a PKCS#7 the reader understands: still not "unsigned"
    expect(certificateTableSigner(winCertificate(der, 1))).toBe(SIGNED_UNKNOWN);
    expect(certificateTableSigner(winCertificate(Buffer.alloc(30, 7)))).toBe(SIGNED_UNKNOWN);
  });
});

describe('PE files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lr-win-drivers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads size and signer from the file, unsigned when the security directory is empty, null when unreadable', async () => {
    const signed = path.join(dir, 'signed.sys');
    const plain = path.join(dir, 'plain.sys');
    const text = path.join(dir, 'notes.txt');
    writeFileSync(signed, signedPe(0x7000, 'LR Signed Driver', 'LR Driver CA'));
    writeFileSync(plain, buildPe({ sizeOfImage: 0x3000 }));
    writeFileSync(text, 'hello');
    expect(await peFacts(signed)).toEqual({ size: 0x7000, signer: 'LR Signed Driver' });
    expect(await peFacts(plain)).toEqual({ size: 0x3000, signer: UNSIGNED });
    expect(await peFacts(text)).toBeNull();
    expect(await peFacts(path.join(dir, 'missing.sys'))).toBeNull();
  });
});

describe('joining loaded modules with SCM driver entries', () => {
  const entry = (name: string, state: number, binaryPath: string, startType = 3): ScmEntry => ({
    name,
    displayName: `${name} display`,
    type: 1,
    state,
    pid: 0,
    config: { startType, delayedAutoStart: false, binaryPath, account: '', loadOrderGroup: '', description: null },
  });

  it('takes state and path from the kernel when it lists the module, and keeps registered drivers that are not loaded', () => {
    const drivers = joinDrivers(
      [
        { baseName: 'ntoskrnl.exe', fileName: '\\SystemRoot\\system32\\ntoskrnl.exe' },
        { baseName: 'Tcpip.sys', fileName: '\\SystemRoot\\System32\\drivers\\tcpip.sys' },
      ],
      [
        entry('Tcpip', 1, 'System32\\drivers\\tcpip.sys', 0),
        entry('lrrk', 1, '\\??\\C:\\ProgramData\\rk.sys', 1),
        { ...entry('beep', 4, ''), config: null },
      ],
      ROOT,
    );
    expect(drivers).toEqual([
      // SCM said stopped, the kernel has it loaded: running
      {
        name: 'Tcpip',
        refCount: 0,
        usedBy: [],
        state: 'running',
        path: 'C:\\Windows\\System32\\drivers\\tcpip.sys',
        taint: null,
        startType: 'boot',
        serviceType: 'kernel_driver',
        displayName: 'Tcpip display',
        loaded: true,
      },
      {
        name: 'lrrk',
        refCount: 0,
        usedBy: [],
        state: 'stopped',
        path: 'C:\\ProgramData\\rk.sys',
        taint: null,
        startType: 'system',
        serviceType: 'kernel_driver',
        displayName: 'lrrk display',
        loaded: false,
      },
      // configuration unreadable: the default path, no start type
      {
        name: 'beep',
        refCount: 0,
        usedBy: [],
        state: 'running',
        path: 'C:\\Windows\\System32\\drivers\\beep.sys',
        taint: null,
        startType: null,
        serviceType: 'kernel_driver',
        displayName: 'beep display',
        loaded: false,
      },
      {
        name: 'ntoskrnl.exe',
        refCount: 0,
        usedBy: [],
        state: 'running',
        path: 'C:\\Windows\\system32\\ntoskrnl.exe',
        taint: null,
        startType: null,
        serviceType: null,
        displayName: null,
        loaded: true,
      },
    ]);
  });

  it('says loaded is unknown when the kernel list is unavailable (Wine) and keeps the SCM state', () => {
    const [d] = joinDrivers(null, [entry('winebus', 4, 'C:\\windows\\system32\\drivers\\winebus.sys')], 'C:\\windows');
    expect(d).toMatchObject({
      name: 'winebus',
      state: 'running',
      loaded: null,
      path: 'C:\\windows\\system32\\drivers\\winebus.sys',
      startType: 'demand',
    });
  });
});
