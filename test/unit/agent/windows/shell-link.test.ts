// Shell links (.lnk, MS-SHLLINK): links written by Wine's own shell32 (WScript.Shell.CreateShortcut under
// Wine, kept as fixtures) and links built byte by byte per the specification for what Wine does not write.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseShellLink, shellLinkCommand, ShellLinkError } from '../../../../src/agent/platform/windows/shell-link.js';
import { buildShellLink } from './shell-link-builder.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe('parseShellLink', () => {
  it('reads a link written by Wine: LinkInfo local path, id list, working folder, arguments (Wine counts a NUL)', () => {
    const link = parseShellLink(fixture('wine-dropper.lnk'));
    expect(link.linkInfoPath).toBe('C:\\Users\\Public\\dropper.exe');
    expect(link.idListPath).toBe('C:\\users\\Public\\dropper.exe');
    expect(link.target).toBe('C:\\Users\\Public\\dropper.exe');
    expect(link.arguments).toBe('-silent');
    expect(link.workingDir).toBe('C:\\Users\\Public');
    expect(shellLinkCommand(link)).toBe('C:\\Users\\Public\\dropper.exe -silent');
  });

  it('quotes a target holding spaces and reads the ANSI LinkInfo path as Latin-1 (Wine link)', () => {
    const link = parseShellLink(fixture('wine-spaced.lnk'));
    expect(link.target).toBe('C:\\Program Files\\Évil App\\run me.exe');
    expect(link.description).toBe('Updater');
    expect(shellLinkCommand(link)).toBe('"C:\\Program Files\\Évil App\\run me.exe" /q "x y"');
  });

  it('reads ANSI StringData (IsUnicode clear)', () => {
    const link = parseShellLink(
      buildShellLink({
        unicode: false,
        local: { base: 'C:\\Tools\\', suffix: 'a.exe' },
        arguments: '-x 1',
        workingDir: 'C:\\Tools',
      }),
    );
    expect(link.target).toBe('C:\\Tools\\a.exe');
    expect(link.arguments).toBe('-x 1');
    expect(link.workingDir).toBe('C:\\Tools');
  });

  it('prefers the Unicode LinkInfo path when the header has its offsets', () => {
    const link = parseShellLink(
      buildShellLink({ local: { base: 'C:\\Users\\Ωmega\\', suffix: 'x.exe', unicode: true } }),
    );
    expect(link.target).toBe('C:\\Users\\Ωmega\\x.exe');
  });

  it('joins a network share and the common path suffix', () => {
    const link = parseShellLink(
      buildShellLink({ network: { netName: '\\\\fileserver\\share', suffix: 'tools\\p.exe' }, arguments: '/s' }),
    );
    expect(shellLinkCommand(link)).toBe('\\\\fileserver\\share\\tools\\p.exe /s');
  });

  it('takes the environment-variables target over LinkInfo when HasExpString is set (as written, unexpanded)', () => {
    const link = parseShellLink(
      buildShellLink({
        local: { base: 'C:\\Windows\\notepad.exe' },
        environmentTarget: '%windir%\\system32\\cmd.exe',
        arguments: '/c start evil',
      }),
    );
    expect(link.linkInfoPath).toBe('C:\\Windows\\notepad.exe');
    expect(link.environmentTarget).toBe('%windir%\\system32\\cmd.exe');
    expect(shellLinkCommand(link)).toBe('%windir%\\system32\\cmd.exe /c start evil');
  });

  it('falls back to the id list when there is no LinkInfo, and when ForceNoLinkInfo is set', () => {
    const wine = fixture('wine-dropper.lnk');
    const idList = wine.subarray(0x4e, 0x4e + wine.readUInt16LE(0x4c));
    expect(parseShellLink(buildShellLink({ idList, arguments: '-a' })).target).toBe('C:\\users\\Public\\dropper.exe');
    expect(
      parseShellLink(buildShellLink({ idList, local: { base: 'C:\\decoy.exe' }, forceNoLinkInfo: true })).target,
    ).toBe('C:\\users\\Public\\dropper.exe');
  });

  it('resolves a relative-path-only target against the folder of the link', () => {
    const link = parseShellLink(buildShellLink({ relativePath: '..\\..\\payload.exe' }));
    expect(shellLinkCommand(link, 'C:\\Users\\bob\\AppData\\Startup')).toBe('C:\\Users\\bob\\payload.exe');
    expect(shellLinkCommand(parseShellLink(buildShellLink({ arguments: 'x' })))).toBeNull();
  });

  it('refuses bad headers and truncated or inconsistent links with a one-line reason', () => {
    expect(() => parseShellLink(Buffer.from('[InternetShortcut]\r\nURL=http://x\r\n'))).toThrow(ShellLinkError);
    const good = fixture('wine-dropper.lnk');
    const badClsid = Buffer.from(good);
    badClsid[5] = 0x99;
    expect(() => parseShellLink(badClsid)).toThrow(/not a shell link/);
    expect(() => parseShellLink(good.subarray(0, 0x100))).toThrow(/truncated/);
    // A LinkInfo size running past the end of the file.
    const overrun = Buffer.from(good);
    overrun.writeUInt32LE(0xffff, 0x4e + good.readUInt16LE(0x4c));
    expect(() => parseShellLink(overrun)).toThrow(/truncated LinkInfo/);
    // A string count running past the end.
    const long = buildShellLink({ arguments: 'abc' });
    long.writeUInt16LE(500, 0x4c);
    expect(() => parseShellLink(long)).toThrow(/truncated arguments/);
    for (let n = 0; n < good.length; n += 7)
      expect(() => {
        try {
          parseShellLink(good.subarray(0, n));
        } catch (e) {
          if (!(e instanceof ShellLinkError)) throw e;
        }
      }).not.toThrow();
  });
});
