// The agent's protected folders (src/agent/protected-paths.ts): how a path is resolved before it is
// judged (dangling links, link loops, `..` after a link), the check of an open descriptor, what a marker
// must be to count, and the markers the service, the agent and the workstation write.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtectedPaths, realPath } from '../../../src/agent/protected-paths.js';
import { DATA_MARKER, markerKind, writeDataMarker } from '../../../src/node/data-marker.js';
import { appDataPaths, ensureAppData } from '../../../src/main/services/app-data.js';
import { IS_ROOT, itNeeds } from '../../needs.js';

describe('protected paths', () => {
  let t: string;
  let agent: string;
  let guard: ProtectedPaths;
  beforeEach(() => {
    t = mkdtempSync(join(tmpdir(), 'lr-pp-unit-'));
    agent = join(t, 'agent');
    mkdirSync(agent);
    writeFileSync(join(agent, 'agent.json'), '{"privateKey":"secret"}');
    guard = new ProtectedPaths();
    guard.addAgentDataDir(agent);
  });
  afterEach(() => rmSync(t, { recursive: true, force: true }));

  it('resolves links, dangling links, links in the middle and loops before judging', async () => {
    symlinkSync(join(agent, 'agent.json'), join(t, 'direct'));
    symlinkSync(join(agent, 'not-yet'), join(t, 'dangling'));
    symlinkSync(agent, join(t, 'folder'));
    symlinkSync(join(t, 'loop-b'), join(t, 'loop-a'));
    symlinkSync(join(t, 'loop-a'), join(t, 'loop-b'));
    expect(await realPath(join(t, 'direct'))).toBe(join(agent, 'agent.json'));
    expect(await realPath(join(t, 'dangling'))).toBe(join(agent, 'not-yet'));
    expect(await realPath(join(t, 'folder/missing/deeper'))).toBe(join(agent, 'missing/deeper'));
    // `..` is removed from the path as given (that is the path the commands open), then links resolved.
    expect(await realPath(`${t}/elsewhere/../folder/agent.json`)).toBe(join(agent, 'agent.json'));
    await expect(realPath(join(t, 'loop-a'))).resolves.toMatch(/loop-[ab]$/);

    for (const p of ['direct', 'dangling', 'folder/agent.json', 'folder/missing/deeper']) {
      await expect(guard.refuse('getfile', join(t, p)), p).rejects.toThrow(
        /^getfile: refused: .* is in the agent's own data folder \(it resolves to /,
      );
    }
    await expect(guard.refuse('getfile', join(t, 'loop-a'))).resolves.toBeUndefined();
    await expect(guard.refuse('getfile', join(agent, 'agent.json'))).rejects.toThrow(
      `getfile: refused: ${join(agent, 'agent.json')} is in the agent's own data folder`,
    );
    // A sibling whose name only starts like the folder is not in it.
    mkdirSync(`${agent}2`);
    await expect(guard.refuse('getfile', `${agent}2/x`)).resolves.toBeUndefined();
  });

  it('checks what an open descriptor really is', async () => {
    const handle = await open(join(agent, 'agent.json'), 'r');
    try {
      await expect(guard.refuseOpened('fileinfo', handle.fd, '/somewhere/else')).rejects.toThrow(
        `fileinfo: refused: /somewhere/else is in the agent's own data folder (it resolves to ${join(agent, 'agent.json')})`,
      );
    } finally {
      await handle.close();
    }
    writeFileSync(join(t, 'plain'), 'x');
    const plain = await open(join(t, 'plain'), 'r');
    try {
      await expect(guard.refuseOpened('fileinfo', plain.fd, join(t, 'plain'))).resolves.toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('finds a marker on the target or any ancestor, and names its kind', async () => {
    const srv = join(t, 'srv');
    mkdirSync(join(srv, 'tls'), { recursive: true });
    writeDataMarker(srv, 'service');
    expect(markerKind(readFileSync(join(srv, DATA_MARKER), 'utf8'))).toBe('service');
    await expect(guard.refuse('getfile', join(srv, 'tls/ca.key'))).rejects.toThrow(
      `getfile: refused: ${join(srv, 'tls/ca.key')} is in a live response service's data folder`,
    );
    await expect(guard.refuse('scan', srv)).rejects.toThrow(/is in a live response service's data folder$/);
    expect(await guard.protectionOf(join(t, 'other'))).toBeNull();
  });

  itNeeds(IS_ROOT ? null : 'needs root (chown of a marker to another user)')(
    'ignores a marker owned by another user, or one that is a link',
    async () => {
      const a = join(t, 'a');
      mkdirSync(a);
      writeFileSync(join(a, DATA_MARKER), '{"kind":"lr-service"}');
      chownSync(join(a, DATA_MARKER), 65534, 65534);
      expect(await guard.protectionOf(join(a, 'loot'))).toBeNull();
      const b = join(t, 'b');
      mkdirSync(b);
      symlinkSync(join(a, DATA_MARKER), join(b, DATA_MARKER));
      expect(await guard.protectionOf(join(b, 'loot'))).toBeNull();
    },
  );

  it('writeDataMarker replaces a link rather than writing through it', () => {
    const dir = join(t, 'srv');
    mkdirSync(dir);
    writeFileSync(join(t, 'victim'), 'keep me');
    symlinkSync(join(t, 'victim'), join(dir, DATA_MARKER));
    writeDataMarker(dir, 'service');
    expect(readFileSync(join(t, 'victim'), 'utf8')).toBe('keep me');
    expect(lstatSync(join(dir, DATA_MARKER)).isFile()).toBe(true);
  });

  it("the workstation's app data folder is private and marked, also when it existed with a wider mode", () => {
    const root = join(t, 'app');
    mkdirSync(root, { mode: 0o755 });
    ensureAppData(appDataPaths(root));
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(markerKind(readFileSync(join(root, DATA_MARKER), 'utf8'))).toBe('workstation');
  });
});
