// The pure parts of `registry` on Windows: registry paths as typed by the analyst, and value data decoded
// from the bytes Windows stores. (The Win32 reads are tested under Wine: test/integration/windows.)
import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../../../src/agent/platform/windows/registry-data.js';
import { parseRegistryPath, RegistryError } from '../../../../src/agent/platform/windows/registry-path.js';

const utf16z = (...parts: string[]) => Buffer.from(parts.map((p) => `${p}\0`).join(''), 'utf16le');

function refusal(input: string): string {
  try {
    parseRegistryPath(input);
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    return `${(err as RegistryError).path}: ${(err as Error).message}`;
  }
  throw new Error(`accepted: ${input}`);
}

describe('registry paths', () => {
  it('reads full and short hive names in any case', () => {
    expect(parseRegistryPath('HKEY_LOCAL_MACHINE\\SYSTEM')).toEqual({
      hive: 'HKLM',
      subkey: 'SYSTEM',
      value: null,
      display: 'HKLM\\SYSTEM',
    });
    expect(parseRegistryPath('hkcu\\Software\\X').hive).toBe('HKCU');
    expect(parseRegistryPath('HKEY_USERS').display).toBe('HKU');
    expect(parseRegistryPath('HKEY_CLASSES_ROOT\\.txt').hive).toBe('HKCR');
    expect(parseRegistryPath('HKCC\\System').hive).toBe('HKCC');
    expect(parseRegistryPath('Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE').display).toBe('HKLM\\SOFTWARE');
  });

  it('separates the value name with a double backslash; nothing after it is the default value', () => {
    expect(parseRegistryPath('HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\\\ProductName')).toMatchObject({
      subkey: 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion',
      value: 'ProductName',
    });
    expect(parseRegistryPath('HKLM\\SOFTWARE\\X\\\\')).toMatchObject({ subkey: 'SOFTWARE\\X', value: '' });
    // a value name may hold backslashes: everything after the first `\\` is the name
    expect(parseRegistryPath('HKLM\\X\\\\a\\b')).toMatchObject({ subkey: 'X', value: 'a\\b' });
    expect(parseRegistryPath('HKLM\\SOFTWARE\\').toString).toBeDefined();
    expect(parseRegistryPath('HKLM\\SOFTWARE\\')).toMatchObject({ subkey: 'SOFTWARE', value: null });
  });

  it('takes slashes as separators only in a path without backslashes (key names may hold `/`)', () => {
    expect(parseRegistryPath('HKLM/SOFTWARE/Microsoft')).toMatchObject({ subkey: 'SOFTWARE\\Microsoft', value: null });
    expect(parseRegistryPath('HKLM/SOFTWARE/X//Name')).toMatchObject({ subkey: 'SOFTWARE\\X', value: 'Name' });
    expect(parseRegistryPath('HKCR\\MIME\\Database\\Content Type\\text/html')).toMatchObject({
      subkey: 'MIME\\Database\\Content Type\\text/html',
      value: null,
    });
  });

  it('refuses unknown hives, over-long names and empty input on one line', () => {
    expect(refusal('HKXX\\foo')).toBe('HKXX\\foo: unknown hive HKXX (HKLM, HKCU, HKU, HKCR or HKCC)');
    expect(refusal('SOFTWARE\\Microsoft')).toMatch(/^SOFTWARE\\Microsoft: unknown hive SOFTWARE /);
    expect(refusal('  ')).toMatch(/no key given/);
    expect(refusal(`HKLM\\${'k'.repeat(256)}`)).toMatch(/key name longer than 255 characters/);
    expect(parseRegistryPath(`HKLM\\${'k'.repeat(255)}`).subkey).toHaveLength(255);
    expect(refusal(`HKLM\\X\\\\${'v'.repeat(16_384)}`)).toMatch(/value name longer than 16383 characters/);
    expect(refusal(`HKLM${'\\a'.repeat(513)}`)).toMatch(/too deep/);
  });
});

describe('registry value data', () => {
  it('shows strings as they are, without their terminator', () => {
    expect(decodeValue(1, utf16z('hello'))).toEqual({ type: 'REG_SZ', value: 'hello', data: 'hello' });
    expect(decodeValue(2, utf16z('%SystemRoot%\\x.exe'))).toMatchObject({
      type: 'REG_EXPAND_SZ',
      value: '%SystemRoot%\\x.exe',
    });
    // not terminated, and an odd trailing byte
    expect(decodeValue(1, Buffer.concat([Buffer.from('ab', 'utf16le'), Buffer.from([0x41])])).value).toBe('ab');
    // data hidden after a NUL stays visible
    expect(decodeValue(1, utf16z('shown\0hidden')).value).toBe('shown\0hidden');
  });

  it('gives REG_MULTI_SZ as a list', () => {
    expect(decodeValue(7, Buffer.concat([utf16z('one', 'two', ''), Buffer.alloc(0)]))).toEqual({
      type: 'REG_MULTI_SZ',
      value: ['one', 'two'],
      data: '["one","two"]',
    });
    expect(decodeValue(7, utf16z('')).value).toEqual([]);
  });

  it('gives DWORD and QWORD as numbers with their hex', () => {
    const dword = Buffer.alloc(4);
    dword.writeUInt32LE(0xdeadbeef);
    expect(decodeValue(4, dword)).toEqual({ type: 'REG_DWORD', value: 0xdeadbeef, data: '0xdeadbeef (3735928559)' });
    expect(decodeValue(5, Buffer.from([0, 0, 0, 10]))).toMatchObject({ type: 'REG_DWORD_BIG_ENDIAN', value: 10 });
    const qword = Buffer.alloc(8);
    qword.writeBigUInt64LE(10n);
    expect(decodeValue(11, qword)).toEqual({ type: 'REG_QWORD', value: 10, data: '0x000000000000000a (10)' });
    // above 2^53: a decimal string, never a rounded number
    qword.writeBigUInt64LE(0xffffffffffffffffn);
    expect(decodeValue(11, qword).value).toBe('18446744073709551615');
    // a DWORD of the wrong size is shown as the bytes it is
    expect(decodeValue(4, Buffer.from([1, 2]))).toEqual({ type: 'REG_DWORD', value: '0102', data: '01 02' });
  });

  it('gives binary and unknown types as hex, the table line capped', () => {
    expect(decodeValue(3, Buffer.from([0, 0xff, 0x10]))).toEqual({
      type: 'REG_BINARY',
      value: '00ff10',
      data: '00 ff 10',
    });
    expect(decodeValue(0, Buffer.alloc(0))).toEqual({ type: 'REG_NONE', value: '', data: '' });
    expect(decodeValue(99, Buffer.from([1])).type).toBe('REG_UNKNOWN(99)');
    const big = decodeValue(3, Buffer.alloc(1000, 0xab));
    expect(big.value).toHaveLength(2000);
    expect(big.data).toMatch(/^ab ab .* … \(1000 bytes\)$/);
  });
});
