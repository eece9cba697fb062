// The single executable's embedded native modules: written once to a private folder, never loaded from a file
// another user could have planted or changed; and the build target the agent reports.
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { isSeaBuild, materialize, privateNativeDir } from '../../../src/agent/sea.js';
import { agentVersionLine, currentAgentTarget, deviceInfo } from '../../../src/agent/device-info.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lr-sea-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('an embedded native module written to disk', () => {
  it('is named by its SHA-256, private to its owner, and reused when unchanged', () => {
    const dir = tempDir();
    const data = new TextEncoder().encode('the module');
    const file = materialize(dir, 'm.node', data);
    expect(file).toBe(join(dir, `${sha(data)}-m.node`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const mtime = statSync(file).mtimeMs;
    expect(materialize(dir, 'm.node', data)).toBe(file);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  it('replaces a planted file of the same name instead of loading it', () => {
    const dir = tempDir();
    const data = new TextEncoder().encode('the real module');
    writeFileSync(join(dir, `${sha(data)}-m.node`), 'planted code');
    const file = materialize(dir, 'm.node', data);
    expect(readFileSync(file, 'utf8')).toBe('the real module');
  });
});

describe('the private folder (Linux)', () => {
  it('is created 0700 under TMPDIR for this uid', () => {
    const saved = process.env.TMPDIR;
    try {
      process.env.TMPDIR = tempDir();
      const dir = privateNativeDir();
      expect(dir).toBe(join(process.env.TMPDIR, `lr-agent-${process.getuid!()}`));
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('is refused when others can write it, or when it is a link another user could point anywhere', () => {
    const saved = process.env.TMPDIR;
    const base = tempDir();
    try {
      process.env.TMPDIR = base;
      const dir = join(base, `lr-agent-${process.getuid!()}`);
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o777);
      expect(() => privateNativeDir()).toThrow(/open to other users \(mode 777\)/);
      rmSync(dir, { recursive: true });
      symlinkSync(tempDir(), dir);
      expect(() => privateNativeDir()).toThrow(/not a plain folder/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('is refused when another user owns it', () => {
    if (process.getuid!() !== 0) return; // only root can give a folder away
    const saved = process.env.TMPDIR;
    const base = tempDir();
    try {
      process.env.TMPDIR = base;
      const dir = join(base, `lr-agent-${process.getuid!()}`);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 65534, 65534); // as a local user who made the folder first would own it
      expect(() => privateNativeDir()).toThrow(/belongs to uid 65534/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('is not a SEA when run from source', () => {
    expect(isSeaBuild()).toBe(false);
  });
});

describe('the build target the agent reports', () => {
  it('maps platform and CPU to the release targets, null elsewhere', () => {
    expect(currentAgentTarget('linux', 'x64')).toBe('linux-x64');
    expect(currentAgentTarget('linux', 'arm64')).toBe('linux-arm64');
    expect(currentAgentTarget('win32', 'x64')).toBe('win-x64');
    expect(currentAgentTarget('win32', 'arm64')).toBeNull();
    expect(currentAgentTarget('darwin', 'arm64')).toBeNull();
  });

  it('is in the hello with the build, and in the --version line', () => {
    const info = deviceInfo('dev');
    expect(info.agentTarget).toBe(currentAgentTarget());
    expect(info.agentBuild).toBe('source');
    expect(agentVersionLine()).toMatch(
      new RegExp(
        `^lr-agent \\d+\\.\\d+\\.\\d+ \\(build source, ${info.agentTarget}, node ${process.versions.node}\\)$`,
      ),
    );
  });
});
