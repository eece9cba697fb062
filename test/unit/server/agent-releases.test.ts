// Self-update, service side: which release a connected agent is offered (newer only, its
// target, its group, never one it refused or rolled back), and what `agent-release add` learns from a file
// without running it (the release-info literal; the executable format of the target).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseOffer, deviceTarget, type OfferDevice } from '../../../src/server/agent-releases-offer.js';
import type { AgentRelease } from '../../../src/server/agent-releases.js';
import { formatProblem, readReleaseInfo } from '../../../src/server/agent-releases-file.js';
import { AGENT_RELEASE_INFO_MARKER } from '../../../src/shared/wire/agent-release.js';

const rel = (id: string, version: string, extra: Partial<AgentRelease> = {}): AgentRelease => ({
  id,
  target: 'linux-x64',
  version,
  build: 'b',
  sha256: 'a'.repeat(64),
  size: 10,
  sig: 's',
  group: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'admin',
  ...extra,
});
const dev = (extra: Partial<OfferDevice> = {}): OfferDevice => ({
  agentVersion: '0.2.0',
  agentTarget: 'linux-x64',
  platform: 'linux',
  group: 'default',
  refused: new Set(),
  ...extra,
});

describe('chooseOffer', () => {
  it('offers the newest newer release of the target', () => {
    expect(chooseOffer(dev(), [rel('a', '0.3.0'), rel('b', '0.4.0'), rel('c', '0.1.0')])?.id).toBe('b');
  });

  it('never offers the same version or a downgrade', () => {
    expect(chooseOffer(dev({ agentVersion: '0.3.0' }), [rel('a', '0.3.0'), rel('c', '0.2.9')])).toBeNull();
  });

  it("never offers another target's build", () => {
    expect(chooseOffer(dev({ agentTarget: 'linux-arm64' }), [rel('a', '0.3.0')])).toBeNull();
    expect(chooseOffer(dev({ agentTarget: 'linux-arm64' }), [rel('a', '0.3.0', { target: 'linux-arm64' })])?.id).toBe(
      'a',
    );
  });

  it('offers a group release only to devices of that group', () => {
    const r = [rel('g', '0.3.0', { group: 'canary' })];
    expect(chooseOffer(dev(), r)).toBeNull();
    expect(chooseOffer(dev({ group: 'canary' }), r)?.id).toBe('g');
  });

  it('never offers a release the device refused or rolled back; an older eligible one may still go', () => {
    const r = [rel('new', '0.4.0'), rel('mid', '0.3.0')];
    expect(chooseOffer(dev({ refused: new Set(['new']) }), r)?.id).toBe('mid');
    expect(chooseOffer(dev({ refused: new Set(['new', 'mid']) }), r)).toBeNull();
  });

  it('takes agents without agentTarget as linux-x64 / win-x64 by platform; none for others or a bad version', () => {
    expect(deviceTarget({ agentTarget: undefined, platform: 'linux' })).toBe('linux-x64');
    expect(deviceTarget({ agentTarget: undefined, platform: 'win32' })).toBe('win-x64');
    expect(deviceTarget({ agentTarget: undefined, platform: 'darwin' })).toBeNull();
    expect(chooseOffer(dev({ agentVersion: 'garbage' }), [rel('a', '0.3.0')])).toBeNull();
  });
});

const dir = mkdtempSync(join(tmpdir(), 'lr-releases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readReleaseInfo', () => {
  const literal = (v: string) => `${AGENT_RELEASE_INFO_MARKER}{"version":"${v}","build":"abc123"}`;

  it('finds the literal past the bare marker constant, also across the 1 MiB read boundary', async () => {
    const f = join(dir, 'big');
    const pad = Buffer.alloc((1 << 20) - 10, 0x41);
    writeFileSync(
      f,
      Buffer.concat([
        Buffer.from(`x="${AGENT_RELEASE_INFO_MARKER}";`),
        pad,
        Buffer.from(`'${literal('1.2.3')}'`),
        Buffer.alloc(5000),
      ]),
    );
    expect(await readReleaseInfo(f)).toEqual({ version: '1.2.3', build: 'abc123' });
  });

  it('refuses a file without the literal, or with two different ones', async () => {
    const none = join(dir, 'none');
    writeFileSync(none, `#!/bin/sh\necho ${AGENT_RELEASE_INFO_MARKER}\n`);
    await expect(readReleaseInfo(none)).rejects.toThrow(/not an lr-agent build/);
    const two = join(dir, 'two');
    writeFileSync(two, `${literal('1.0.0')} ${literal('2.0.0')}`);
    await expect(readReleaseInfo(two)).rejects.toThrow(/ambiguous/);
  });
});

describe('formatProblem', () => {
  const elf = (machine: number) => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2;
    b[5] = 1;
    b.writeUInt16LE(machine, 18);
    return b;
  };
  const pe = (machine: number) => {
    const b = Buffer.alloc(512);
    b.write('MZ', 0, 'latin1');
    b.writeUInt32LE(0x80, 0x3c);
    b.writeUInt32BE(0x50450000, 0x80);
    b.writeUInt16LE(machine, 0x84);
    return b;
  };

  it("accepts each target's format and refuses the others", () => {
    expect(formatProblem(elf(62), 'linux-x64')).toBeNull();
    expect(formatProblem(elf(183), 'linux-arm64')).toBeNull();
    expect(formatProblem(pe(0x8664), 'win-x64')).toBeNull();
    expect(formatProblem(elf(183), 'linux-x64')).toMatch(/AArch64/);
    expect(formatProblem(elf(62), 'linux-arm64')).toMatch(/x86-64/);
    expect(formatProblem(pe(0x8664), 'linux-x64')).toMatch(/Windows/);
    expect(formatProblem(elf(62), 'win-x64')).toMatch(/ELF/);
    expect(formatProblem(pe(0xaa64), 'win-x64')).toMatch(/not x64/);
    expect(formatProblem(Buffer.from('#!/bin/sh\n'), 'linux-x64')).toMatch(/not an ELF/);
  });
});
