// DATA/agent-files (agent-files.ts): hashes cached per (inode, size, mtime) and redone when a file is
// replaced or edited; publishing copies then renames (an open reader keeps the old content whole); a file
// whose format does not fit the target is refused; only the three known names are ever looked up.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AgentFiles,
  agentFileFormatProblem,
  agentTargetOfName,
  publishAgentFile,
} from '../../../src/server/agent-files.js';

const root = mkdtempSync(join(tmpdir(), 'lr-agent-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A minimal ELF header for a machine (62 x86-64, 183 AArch64), then `body`. */
function elf(machine: number, body: string): Buffer {
  const head = Buffer.alloc(64);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2; // 64-bit
  head[5] = 1; // little-endian
  head.writeUInt16LE(machine, 18);
  return Buffer.concat([head, Buffer.from(body)]);
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('agent files', () => {
  it('publishes a file whole and lists it with its size and SHA-256; no temporary file stays', async () => {
    const data = join(root, 'publish');
    const src = join(root, 'build-x64');
    const content = elf(62, 'x'.repeat(300_000));
    writeFileSync(src, content);
    const info = await publishAgentFile(data, 'linux-x64', src);
    expect(info).toMatchObject({
      target: 'linux-x64',
      name: 'lr-agent-linux-x64',
      size: content.length,
      sha256: sha(content),
    });
    expect(readdirSync(join(data, 'agent-files'))).toEqual(['lr-agent-linux-x64']);
    expect(await new AgentFiles(data).list()).toEqual([
      expect.objectContaining({ name: 'lr-agent-linux-x64', sha256: sha(content) }),
    ]);
  });

  it('a reader that opened the file keeps the old content whole when a new one is published', async () => {
    const data = join(root, 'swap');
    const a = elf(62, 'A'.repeat(500_000));
    const b = elf(62, 'B'.repeat(700_000));
    writeFileSync(join(root, 'a'), a);
    writeFileSync(join(root, 'b'), b);
    await publishAgentFile(data, 'linux-x64', join(root, 'a'));
    const files = new AgentFiles(data);
    const opened = await files.open('linux-x64');
    await publishAgentFile(data, 'linux-x64', join(root, 'b'));
    const read = await opened!.handle.readFile();
    await opened!.handle.close();
    expect(sha(read)).toBe(sha(a));
    expect(opened!.info.sha256).toBe(sha(a));
    expect((await files.info('linux-x64'))?.sha256).toBe(sha(b));
  });

  it('hashes once per file version: an unchanged file is not read again, an edited one is', async () => {
    const data = join(root, 'cache');
    mkdirSync(join(data, 'agent-files'), { recursive: true });
    const path = join(data, 'agent-files', 'lr-agent-linux-arm64');
    writeFileSync(path, elf(183, 'one'));
    utimesSync(path, 1_000_000, 1_000_000); // whole seconds: set back exactly below
    const files = new AgentFiles(data);
    const first = await files.info('linux-arm64');
    expect(first?.sha256).toBe(sha(elf(183, 'one')));
    // Same size, same mtime, other bytes (written behind the cache's back): the cached hash is answered…
    writeFileSync(path, elf(183, 'two'));
    utimesSync(path, 1_000_000, 1_000_000);
    expect((await files.info('linux-arm64'))?.sha256).toBe(first?.sha256);
    // …and a changed mtime (any real edit) makes it hash again.
    utimesSync(path, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
    expect((await files.info('linux-arm64'))?.sha256).toBe(sha(elf(183, 'two')));
  });

  it('refuses a file that does not fit the target, and keeps the current one', async () => {
    const data = join(root, 'format');
    writeFileSync(join(root, 'good'), elf(62, 'good'));
    await publishAgentFile(data, 'linux-x64', join(root, 'good'));
    writeFileSync(join(root, 'arm'), elf(183, 'arm'));
    await expect(publishAgentFile(data, 'linux-x64', join(root, 'arm'))).rejects.toThrow(
      /another machine \(e_machine 183, linux-x64 needs 62\)/,
    );
    writeFileSync(join(root, 'text'), '#!/bin/sh\necho hi\n'.repeat(10));
    await expect(publishAgentFile(data, 'linux-arm64', join(root, 'text'))).rejects.toThrow(/not a Linux executable/);
    await expect(publishAgentFile(data, 'win-x64', join(root, 'good'))).rejects.toThrow(/not a Windows executable/);
    writeFileSync(join(root, 'empty'), '');
    await expect(publishAgentFile(data, 'linux-x64', join(root, 'empty'))).rejects.toThrow(/is empty/);
    expect(readdirSync(join(data, 'agent-files'))).toEqual(['lr-agent-linux-x64']);
    expect((await new AgentFiles(data).info('linux-x64'))?.sha256).toBe(sha(elf(62, 'good')));
    expect(agentFileFormatProblem(Buffer.from('MZ\x90\x00'), 'win-x64')).toBeNull();
  });

  it('knows only the three file names', () => {
    expect(agentTargetOfName('lr-agent-linux-x64')).toBe('linux-x64');
    expect(agentTargetOfName('lr-agent-linux-arm64')).toBe('linux-arm64');
    expect(agentTargetOfName('lr-agent-win-x64.exe')).toBe('win-x64');
    for (const bad of [
      'lr-agent-win-x64',
      '../lr-agent-linux-x64',
      'lr-agent-linux-x64/',
      '.lr-agent-linux-x64.tmp',
      'config.json',
      '',
    ])
      expect(agentTargetOfName(bad)).toBeNull();
  });
});
