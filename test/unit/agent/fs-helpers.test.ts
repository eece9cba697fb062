import { describe, expect, it } from 'vitest';
import { parseGroup, parsePasswd } from '../../../src/agent/fs/accounts.js';
import { fileTypeFromMode, modeString } from '../../../src/agent/fs/file-mode.js';
import { compileNamePattern } from '../../../src/agent/fs/glob.js';
import { describeMagic } from '../../../src/agent/fs/magic.js';

describe('modeString', () => {
  it('prints modes as ls does', () => {
    expect(modeString(0o100644)).toBe('-rw-r--r--');
    expect(modeString(0o040755)).toBe('drwxr-xr-x');
    expect(modeString(0o041777)).toBe('drwxrwxrwt');
    expect(modeString(0o041776)).toBe('drwxrwxrwT');
    expect(modeString(0o104755)).toBe('-rwsr-xr-x');
    expect(modeString(0o102644)).toBe('-rw-r-Sr--');
    expect(modeString(0o120777)).toBe('lrwxrwxrwx');
    expect(modeString(0o020620)).toBe('crw--w----');
    expect(modeString(0o060660)).toBe('brw-rw----');
    expect(modeString(0o010600)).toBe('prw-------');
    expect(modeString(0o140755)).toBe('srwxr-xr-x');
  });

  it('names file types', () => {
    expect(fileTypeFromMode(0o100644)).toBe('file');
    expect(fileTypeFromMode(0o120777)).toBe('symlink');
    expect(fileTypeFromMode(0o060660)).toBe('block-device');
  });
});

describe('compileNamePattern', () => {
  it('matches exact names without wildcards, case-sensitively', () => {
    const m = compileNamePattern('authorized_keys');
    expect(m('authorized_keys')).toBe(true);
    expect(m('Authorized_keys')).toBe(false);
    expect(m('authorized_keys2')).toBe(false);
  });

  it('supports * ? and classes', () => {
    expect(compileNamePattern('*.so')('libevil.so')).toBe(true);
    expect(compileNamePattern('*.so')('libevil.so.1')).toBe(false);
    expect(compileNamePattern('*.so')('.so')).toBe(true);
    expect(compileNamePattern('lib?.a')('libc.a')).toBe(true);
    expect(compileNamePattern('lib?.a')('libcc.a')).toBe(false);
    expect(compileNamePattern('file[0-9].txt')('file7.txt')).toBe(true);
    expect(compileNamePattern('file[!0-9].txt')('file7.txt')).toBe(false);
    expect(compileNamePattern('file[!0-9].txt')('filex.txt')).toBe(true);
    expect(compileNamePattern('[]a]x')(']x')).toBe(true);
    expect(compileNamePattern('a[-z]')('a-')).toBe(true);
  });

  it('treats regex characters, dashes and unterminated brackets literally', () => {
    expect(compileNamePattern('a+b(c)-*.txt')('a+b(c)-1.txt')).toBe(true);
    expect(compileNamePattern('x[ab')('x[ab')).toBe(true);
    expect(compileNamePattern('\\*')('*')).toBe(true);
    expect(compileNamePattern('\\*')('a')).toBe(false);
  });

  it('matches non-ASCII and spaces, ? as one character', () => {
    expect(compileNamePattern('r?sum? *.pdf')('résumé final.pdf')).toBe(true);
    expect(compileNamePattern('?.txt')('😀.txt')).toBe(true);
  });
});

describe('describeMagic', () => {
  const elfHeader = (cls: number, data: number, machine: number, type = 3): Buffer => {
    const b = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, cls, data, 1]).copy(b);
    if (data === 1) {
      b.writeUInt16LE(type, 16);
      b.writeUInt16LE(machine, 18);
    } else {
      b.writeUInt16BE(type, 16);
      b.writeUInt16BE(machine, 18);
    }
    return b;
  };

  it('decodes ELF class, byte order and machine', () => {
    expect(describeMagic(elfHeader(2, 1, 62), 100)).toMatchObject({
      architecture: 'x86-64',
      elfClass: 64,
      endianness: 'little',
      type: 'ELF 64-bit LSB shared object, x86-64',
    });
    expect(describeMagic(elfHeader(2, 1, 183, 2), 100)).toMatchObject({
      architecture: 'aarch64',
      type: 'ELF 64-bit LSB executable, aarch64',
    });
    expect(describeMagic(elfHeader(1, 2, 8), 100)).toMatchObject({
      architecture: 'mips',
      elfClass: 32,
      endianness: 'big',
    });
  });

  it('decodes PE headers', () => {
    const b = Buffer.alloc(512);
    b.write('MZ', 0, 'latin1');
    b.writeUInt32LE(0x80, 0x3c);
    b.write('PE\0\0', 0x80, 'latin1');
    b.writeUInt16LE(0x8664, 0x84);
    b.writeUInt16LE(0x2022, 0x96);
    b.writeUInt16LE(0x20b, 0x98);
    expect(describeMagic(b, 4096)).toMatchObject({ type: 'PE32+ DLL, x86-64', architecture: 'x86-64' });
  });

  it('recognises common formats and text', () => {
    expect(describeMagic(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01]), 100).type).toBe(
      'Mach-O 64-bit, aarch64',
    );
    expect(describeMagic(Buffer.from('#!/bin/bash\necho hi\n'), 20).type).toBe('script, #!/bin/bash');
    expect(describeMagic(Buffer.from([0x1f, 0x8b, 8, 0]), 100).type).toBe('gzip compressed data');
    expect(describeMagic(Buffer.from('PK\x03\x04rest', 'latin1'), 100).type).toBe('Zip archive');
    expect(describeMagic(Buffer.from('%PDF-1.7\n'), 100).type).toBe('PDF document');
    expect(describeMagic(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 100).type).toBe('PNG image');
    expect(describeMagic(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 100).type).toBe('JPEG image');
    expect(describeMagic(Buffer.from('hello\tworld\n'), 12).type).toBe('ASCII text');
    expect(describeMagic(Buffer.from('héllo wörld\n'), 14).type).toBe('UTF-8 text');
    expect(describeMagic(Buffer.from([0x00, 0x01, 0x02, 0xff]), 4).type).toBe('data');
    expect(describeMagic(Buffer.alloc(0), 0).type).toBe('empty');
  });

  it('accepts a multi-byte character cut at the end of the sample', () => {
    const text = Buffer.from('aé');
    expect(describeMagic(text.subarray(0, 2), 1000).type).toBe('UTF-8 text');
  });
});

describe('account files', () => {
  it('parses passwd and group, skipping junk lines', () => {
    const users = parsePasswd(
      'root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    );
    expect(users.map((u) => [u.name, u.uid, u.home])).toEqual([
      ['root', 0, '/root'],
      ['alice', 1000, '/home/alice'],
    ]);
    expect(parseGroup('root:x:0:\nstaff:x:50:alice,bob\n').get(50)).toBe('staff');
  });
});
