// Security review finding 9: atomic file writes (keys, tokens, agent state) use a random temporary name
// opened with exclusive create, so a symbolic link planted in the folder cannot redirect the write (the old
// code wrote through `NAME.tmp-PID`, a name anyone could guess), and the file has its mode from the start.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixed = { on: false };
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  // Lets a test make the "random" temporary name predictable, to check exclusive create on its own.
  return { ...real, randomBytes: (n: number) => (fixed.on ? Buffer.alloc(n, 0xab) : real.randomBytes(n)) };
});

const { writeFileAtomic, writeFileAtomicAsync, writeSecretFile } = await import('../../../src/node/files.js');

describe('atomic file writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lr-files-'));
    fixed.on = false;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a link planted at the predictable temporary names does not redirect a secret', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const key = join(dir, 'command-signing.key');
    for (const guess of [`${key}.tmp-${process.pid}`, `${key}.tmp`]) symlinkSync(victim, guess);
    writeSecretFile(key, 'SECRET');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(key, 'utf8')).toBe('SECRET');
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  it('creates the temporary file exclusively: a link at that very name makes the write fail, nothing written through it', async () => {
    fixed.on = true;
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const state = join(dir, 'state.json');
    symlinkSync(victim, join(dir, `.state.json.${'ab'.repeat(8)}.tmp`));
    expect(() => writeFileAtomic(state, '{}')).toThrow(/EEXIST/);
    await expect(writeFileAtomicAsync(state, '{}')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(state)).toBe(false);
  });

  it('gives the mode from the start, over an existing file of another mode, and leaves no temporary file', async () => {
    const f = join(dir, 'journal');
    writeFileSync(f, 'old');
    chmodSync(f, 0o644);
    const old = process.umask(0);
    try {
      writeFileAtomic(f, 'new');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      await writeFileAtomicAsync(f, 'newer', 0o640);
      expect(statSync(f).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(old);
    }
    expect(readFileSync(f, 'utf8')).toBe('newer');
    expect(readdirSync(dir)).toEqual(['journal']);
  });

  it('removes the temporary file when the rename fails', async () => {
    const target = join(dir, 'a-folder');
    mkdirSync(join(target, 'inside'), { recursive: true });
    expect(() => writeFileAtomic(target, 'x')).toThrow();
    await expect(writeFileAtomicAsync(target, 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['a-folder']);
  });
});
