/** cd, dir, fileinfo and findfile against real temporary trees. */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdCommand } from '../../../src/agent/commands/cd.js';
import { dirCommand } from '../../../src/agent/commands/dir.js';
import { fileinfoCommand } from '../../../src/agent/commands/fileinfo.js';
import { findfileCommand } from '../../../src/agent/commands/findfile.js';
import { buildSysroot } from './fixture-sysroot.js';
import { makeHarness, runCommand, tempDir } from './helpers.js';
import { buildPe } from './windows/pe-builder.js';

const tmp = tempDir('lr-fs-');
const sysroot = path.join(tmp.dir, 'sysroot');
const tree = path.join(tmp.dir, 'tree');
const ODD_DIR = `it's a "dir" ünïcødé`;
const ODD_FILE = 'spaced name é.txt';

beforeAll(() => {
  buildSysroot(sysroot);
  mkdirSync(path.join(tree, ODD_DIR), { recursive: true });
  writeFileSync(path.join(tree, ODD_DIR, ODD_FILE), 'hello\n');
  writeFileSync(path.join(tree, 'b.txt'), 'bbbb');
  writeFileSync(path.join(tree, 'a.sh'), '#!/bin/sh\necho a\n', { mode: 0o755 });
  chmodSync(path.join(tree, 'a.sh'), 0o4755);
  symlinkSync('/etc/passwd', path.join(tree, 'link-out'));
  symlinkSync('missing-target', path.join(tree, 'dangling'));
  execFileSync('mkfifo', [path.join(tree, 'fifo')]);
  utimesSync(path.join(tree, 'b.txt'), new Date('2020-02-03T04:05:06Z'), new Date('2020-02-03T04:05:06Z'));
});
afterAll(() => tmp.cleanup());

describe('cd', () => {
  it('resolves relative paths against cwd, with odd names', async () => {
    const h = makeHarness({ cwd: tree, sysroot });
    const result = await runCommand(cdCommand, h, { path: ODD_DIR });
    expect(result).toEqual({ cwd: path.join(tree, ODD_DIR) });
    expect(h.records).toEqual([{ path: path.join(tree, ODD_DIR) }]);
    expect(await runCommand(cdCommand, makeHarness({ cwd: path.join(tree, ODD_DIR) }), { path: '..' })).toEqual({
      cwd: tree,
    });
  });

  it('refuses missing folders and files with one-line errors', async () => {
    const h = makeHarness({ cwd: tree });
    await expect(runCommand(cdCommand, h, { path: 'nope' })).rejects.toThrow(`cd: ${tree}/nope: no such directory`);
    await expect(runCommand(cdCommand, h, { path: 'b.txt' })).rejects.toThrow(`cd: ${tree}/b.txt: not a directory`);
    await expect(runCommand(cdCommand, h, { path: 'b.txt/x' })).rejects.toThrow('no such directory');
  });
});

describe('dir', () => {
  it('lists entries sorted by name with type, mode, owner and link targets', async () => {
    const h = makeHarness({ cwd: tree, sysroot });
    await runCommand(dirCommand, h, { output: 'json' });
    expect(h.records.map((r) => r.name)).toEqual(['a.sh', 'b.txt', 'dangling', 'fifo', ODD_DIR, 'link-out']);
    const by = new Map(h.records.map((r) => [r.name, r]));
    expect(by.get('b.txt')).toEqual({
      name: 'b.txt',
      path: path.join(tree, 'b.txt'),
      type: 'file',
      size: 4,
      mode: '-rw-r--r--',
      owner: 'root',
      group: 'root',
      mtime: '2020-02-03T04:05:06.000Z',
      linkTarget: null,
    });
    expect(by.get('a.sh')?.mode).toBe('-rwsr-xr-x');
    expect(by.get('link-out')).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd', mode: 'lrwxrwxrwx' });
    expect(by.get('dangling')).toMatchObject({ type: 'symlink', linkTarget: 'missing-target' });
    expect(by.get('fifo')?.type).toBe('fifo');
    expect(by.get(ODD_DIR)?.type).toBe('directory');
  });

  it('takes a path, shows full paths, and describes a single file', async () => {
    const h = makeHarness({ cwd: '/', sysroot });
    await runCommand(dirCommand, h, { path: path.join(tree, ODD_DIR), full_path: true });
    expect(h.records).toHaveLength(1);
    expect(h.records[0]).toMatchObject({ name: path.join(tree, ODD_DIR, ODD_FILE), size: 6 });
    const one = makeHarness({ cwd: tree, sysroot });
    await runCommand(dirCommand, one, { path: 'dangling' });
    expect(one.records).toMatchObject([{ name: 'dangling', type: 'symlink' }]);
  });

  it('names owners from the sysroot accounts, numbers when unknown', async () => {
    const file = path.join(tree, 'owned');
    writeFileSync(file, '');
    execFileSync('chown', ['1000:4242', file]);
    const h = makeHarness({ cwd: tree, sysroot });
    await runCommand(dirCommand, h, { path: 'owned' });
    expect(h.records[0]).toMatchObject({ owner: 'alice', group: '4242' });
  });

  it('fails on a missing path with a one-line error', async () => {
    await expect(runCommand(dirCommand, makeHarness({ cwd: tree }), { path: 'missing' })).rejects.toThrow(
      `dir: ${tree}/missing: no such file or directory`,
    );
  });
});

describe('fileinfo', () => {
  it('hashes in one read and matches node:crypto', async () => {
    const file = path.join(tree, ODD_DIR, 'data.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(file, bytes);
    const h = makeHarness({ cwd: path.join(tree, ODD_DIR), sysroot });
    await runCommand(fileinfoCommand, h, { path: 'data.bin' });
    const r = h.records[0];
    expect(r).toMatchObject({
      path: file,
      size: bytes.length,
      type: 'data',
      mode: '-rw-r--r--',
      owner: 'root',
      md5: createHash('md5').update(bytes).digest('hex'),
      sha1: createHash('sha1').update(bytes).digest('hex'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      architecture: null,
      note: null,
    });
    for (const k of ['mtime', 'atime', 'ctime']) expect(Number.isNaN(Date.parse(r?.[k] as string))).toBe(false);
  });

  it('adds the PE facts and version strings of a PE file, with its hashes of the same handle', async () => {
    const file = path.join(tree, 'tool.exe');
    const pe = buildPe({
      machine: 0x8664,
      subsystem: 2,
      dll: false,
      strings: { CompanyName: 'Contoso', OriginalFilename: 'tool.exe' },
      signature: true,
    });
    writeFileSync(file, pe);
    const h = makeHarness({ cwd: tree, sysroot });
    await runCommand(fileinfoCommand, h, { path: 'tool.exe' });
    expect(h.records[0]).toMatchObject({
      type: 'PE32+ executable, x86-64',
      architecture: 'x86-64',
      peMachine: 'x64',
      peKind: 'EXE',
      peSubsystem: 'GUI',
      authenticode: 'present (not verified)',
      companyName: 'Contoso',
      originalFilename: 'tool.exe',
      sha256: createHash('sha256').update(pe).digest('hex'),
    });
  });

  it('reads ELF architecture from the node binary', async () => {
    const h = makeHarness({ sysroot });
    await runCommand(fileinfoCommand, h, { path: process.execPath });
    const arch = { x64: 'x86-64', arm64: 'aarch64', ia32: 'x86', arm: 'arm' }[process.arch as string];
    expect(h.records[0]).toMatchObject({ architecture: arch, elfClass: 64, endianness: 'little' });
    expect(h.records[0]?.type).toMatch(/^ELF 64-bit LSB (executable|shared object)/);
    expect(h.records[0]).not.toHaveProperty('peMachine');
    expect(h.records[0]?.sha256).toBe(createHash('sha256').update(readFileSync(process.execPath)).digest('hex'));
  });

  it('describes text and scripts, follows a symlink and says so', async () => {
    const h = makeHarness({ cwd: tree, sysroot });
    await runCommand(fileinfoCommand, h, { path: `${ODD_DIR}/${ODD_FILE}` });
    await runCommand(fileinfoCommand, h, { path: 'a.sh' });
    expect(h.records.map((r) => r.type)).toEqual(['ASCII text', 'script, #!/bin/sh']);
    const l = makeHarness({ cwd: sysroot, sysroot });
    await runCommand(fileinfoCommand, l, { path: 'etc/profile.d/link.sh' }); // -> /etc/passwd of the host
    expect(l.records[0]).toMatchObject({ linkTarget: '/etc/passwd', size: statSync('/etc/passwd').size });
  });

  it('does not hash files above 30 GB but still describes them', async () => {
    const big = path.join(tree, 'sparse.img');
    writeFileSync(big, Buffer.from('%PDF-1.4\n'));
    truncateSync(big, 31 * 1024 ** 3);
    const h = makeHarness({ sysroot });
    await runCommand(fileinfoCommand, h, { path: big });
    expect(h.records[0]).toMatchObject({
      size: 31 * 1024 ** 3,
      type: 'PDF document',
      md5: null,
      sha1: null,
      sha256: null,
      note: 'larger than 30 GB: not hashed',
    });
  });

  it('refuses folders, FIFOs and missing files with one-line errors', async () => {
    const h = makeHarness({ cwd: tree });
    await expect(runCommand(fileinfoCommand, h, { path: ODD_DIR })).rejects.toThrow(
      `fileinfo: ${tree}/${ODD_DIR}: is a directory`,
    );
    await expect(runCommand(fileinfoCommand, h, { path: 'fifo' })).rejects.toThrow(
      `fileinfo: ${tree}/fifo: not a regular file (fifo)`,
    );
    await expect(runCommand(fileinfoCommand, h, { path: 'dangling' })).rejects.toThrow(
      `fileinfo: ${tree}/dangling: no such file or directory`,
    );
    await expect(runCommand(fileinfoCommand, h, { path: '/dev/null' })).rejects.toThrow(
      'fileinfo: /dev/null: not a regular file (char-device)',
    );
  });

  it('stops hashing when cancelled', async () => {
    const h = makeHarness({ sysroot });
    h.controller.abort();
    await expect(runCommand(fileinfoCommand, h, { path: process.execPath })).rejects.toThrow();
    expect(h.records).toEqual([]);
  });
});

describe('findfile', () => {
  const root = path.join(tmp.dir, 'walk');
  const deep = path.join(root, 'l1/l2/l3/l4/l5/l6/l7/l8');

  beforeAll(() => {
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'needle.bin'), 'x'.repeat(10));
    writeFileSync(path.join(root, 'l1/needle.bin.bak'), '');
    writeFileSync(path.join(root, 'l1/l2/libA.so'), '');
    writeFileSync(path.join(root, 'l1/l2/l3/libB.so'), '');
    writeFileSync(path.join(root, 'l1/libC.SO'), '');
    writeFileSync(path.join(root, 'l1/l2/café crème.txt'), '');
    mkdirSync(path.join(root, 'locked'));
    writeFileSync(path.join(root, 'locked/needle.bin'), '');
    chmodSync(path.join(root, 'locked'), 0o000);
    symlinkSync(deep, path.join(root, 'shortcut')); // must not be followed
    symlinkSync('needle.bin', path.join(deep, 'alias.so'));
  });
  // so that the temporary tree can be removed when the tests do not run as root
  afterAll(() => chmodSync(path.join(root, 'locked'), 0o755));

  it('finds a file 8 levels deep by exact name, not following symlinks', async () => {
    const h = makeHarness({ sysroot });
    await runCommand(findfileCommand, h, { name: 'needle.bin', path: root });
    const paths = h.records.map((r) => r.path).sort();
    // root reads the chmod 000 folder anyway; an ordinary user would count it as unreadable instead.
    const expected = [path.join(deep, 'needle.bin')];
    if (process.getuid?.() === 0) expected.push(path.join(root, 'locked/needle.bin'));
    expect(paths).toEqual(expected.sort());
    expect(h.records.find((r) => r.path === path.join(deep, 'needle.bin'))).toMatchObject({ type: 'file', size: 10 });
    expect(Number.isNaN(Date.parse(h.records[0]?.mtime as string))).toBe(false);
  });

  it('matches globs case-sensitively, including symlinks as entries', async () => {
    const h = makeHarness({ cwd: root, sysroot });
    await runCommand(findfileCommand, h, { name: '*.so', path: '.' });
    const found = new Map(h.records.map((r) => [path.relative(root, r.path as string), r.type]));
    expect([...found.keys()].sort()).toEqual(['l1/l2/l3/l4/l5/l6/l7/l8/alias.so', 'l1/l2/l3/libB.so', 'l1/l2/libA.so']);
    expect(found.get('l1/l2/l3/l4/l5/l6/l7/l8/alias.so')).toBe('symlink');
  });

  it('matches names with spaces and non-ASCII', async () => {
    const h = makeHarness({ sysroot });
    await runCommand(findfileCommand, h, { name: 'café*', path: root });
    expect(h.records.map((r) => r.path)).toEqual([path.join(root, 'l1/l2/café crème.txt')]);
  });

  it('survives unreadable folders and reports a count when there are any', async () => {
    const h = makeHarness({ sysroot });
    await runCommand(findfileCommand, h, { name: 'nothing-matches', path: root });
    expect(h.records).toEqual([]);
    if (process.getuid?.() !== 0) expect(h.texts).toEqual(['findfile: 1 directory could not be read\n']);
  });

  it('rejects a root that is not a folder', async () => {
    await expect(
      runCommand(findfileCommand, makeHarness(), { name: 'x', path: path.join(tree, 'b.txt') }),
    ).rejects.toThrow(`findfile: ${tree}/b.txt: not a directory`);
    await expect(runCommand(findfileCommand, makeHarness(), { name: 'x', path: '/nonexistent-root' })).rejects.toThrow(
      'findfile: /nonexistent-root: no such file or directory',
    );
  });

  it('stops when cancelled', async () => {
    const h = makeHarness();
    h.controller.abort();
    await expect(runCommand(findfileCommand, h, { name: 'needle.bin', path: root })).rejects.toThrow();
  });
});
