// The PE check `run` makes on Windows before it executes a library .exe: synthetic headers for each rule,
// and real Windows files (Wine's own PE builds of hostname.exe and kernel32.dll) where Wine is installed.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { peProblem } from '../../../../src/agent/pe-check.js';
import { itNeeds } from '../../../needs.js';

interface Header {
  machine?: number;
  characteristics?: number;
  magic?: number;
  subsystem?: number;
  peOffset?: number;
  signature?: number;
}

/** The start of a PE file: DOS header with e_lfanew, `PE\0\0`, COFF header, optional header up to Subsystem. */
function pe(h: Header = {}): Buffer {
  const at = h.peOffset ?? 0x80;
  const b = Buffer.alloc(Math.max(at + 24 + 96, 512));
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(at, 0x3c);
  b.writeUInt32BE(h.signature ?? 0x50450000, at);
  b.writeUInt16LE(h.machine ?? 0x8664, at + 4);
  b.writeUInt16LE(h.characteristics ?? 0x0022, at + 22); // executable image, large address aware
  b.writeUInt16LE(h.magic ?? 0x20b, at + 24);
  b.writeUInt16LE(h.subsystem ?? 3, at + 24 + 68);
  return b;
}

describe('peProblem', () => {
  it('accepts a console or GUI executable for this machine, and x86 on x64 (WOW64)', () => {
    expect(peProblem(pe(), 'x64')).toBeNull();
    expect(peProblem(pe({ subsystem: 2 }), 'x64')).toBeNull();
    expect(peProblem(pe({ machine: 0x14c, magic: 0x10b }), 'x64')).toBeNull();
    expect(peProblem(pe({ machine: 0xaa64 }), 'arm64')).toBeNull();
  });

  it('refuses an executable for another processor, naming it', () => {
    expect(peProblem(pe({ machine: 0xaa64 }), 'x64')).toBe(
      'a Windows executable for another processor (arm64), this device is x64',
    );
    expect(peProblem(pe({ machine: 0x8664 }), 'ia32')).toBe(
      'a Windows executable for another processor (x64), this device is ia32',
    );
    expect(peProblem(pe({ machine: 0x1234 }), 'x64')).toBe(
      'a Windows executable for another processor (machine 0x1234), this device is x64',
    );
  });

  it('refuses a DLL, an image that is not executable, a driver', () => {
    expect(peProblem(pe({ characteristics: 0x2022 }), 'x64')).toBe('a DLL, not an executable');
    expect(peProblem(pe({ characteristics: 0x0020 }), 'x64')).toBe('a PE file that is not an executable image');
    expect(peProblem(pe({ magic: 0x107 }), 'x64')).toBe('a PE file that is not an executable image');
    expect(peProblem(pe({ subsystem: 1 }), 'x64')).toBe(
      'a PE image for subsystem 1 (a driver or firmware program), not a Windows program',
    );
    expect(peProblem(pe({ subsystem: 10 }), 'x64')).toMatch(/subsystem 10/);
  });

  it('refuses what is not a PE file at all', () => {
    expect(peProblem(Buffer.from('@echo off\r\necho hi\r\n'), 'x64')).toBe('not a Windows executable');
    expect(peProblem(Buffer.alloc(0), 'x64')).toBe('not a Windows executable');
    expect(peProblem(Buffer.from('MZ'), 'x64')).toBe('not a Windows executable');
    expect(peProblem(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]), 'x64')).toBe(
      'a Linux (ELF) executable, not a Windows executable',
    );
    expect(peProblem(pe({ signature: 0x4e450000 }), 'x64')).toBe(
      'an MZ file without a PE header (a DOS program, or a damaged file)',
    );
    // e_lfanew pointing past the bytes read (or at 4 GiB): no out-of-range read, a refusal.
    expect(peProblem(pe().subarray(0, 0x80 + 50), 'x64')).toBe(
      'an MZ file without a PE header (a DOS program, or a damaged file)',
    );
    const far = pe();
    far.writeUInt32LE(0xfffffff0, 0x3c);
    expect(peProblem(far, 'x64')).toBe('an MZ file without a PE header (a DOS program, or a damaged file)');
  });

  it('refuses an architecture it does not know instead of guessing', () => {
    expect(peProblem(pe(), 's390x')).toBe('this agent does not know the PE machine type of s390x');
  });

  const wineDir = '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows';
  itNeeds(existsSync(`${wineDir}/hostname.exe`) ? null : 'wine64 is not installed (apt-get install wine64)')(
    'accepts a real x64 .exe and refuses a real DLL (Wine PE builds)',
    () => {
      expect(peProblem(readFileSync(`${wineDir}/hostname.exe`).subarray(0, 4096), 'x64')).toBeNull();
      expect(peProblem(readFileSync(`${wineDir}/kernel32.dll`).subarray(0, 4096), 'x64')).toBe(
        'a DLL, not an executable',
      );
      expect(peProblem(readFileSync(`${wineDir}/hostname.exe`).subarray(0, 4096), 'arm64')).toBe(
        'a Windows executable for another processor (x64), this device is arm64',
      );
    },
  );
});
