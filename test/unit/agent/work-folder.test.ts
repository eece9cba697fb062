// putfile without -keep: the file goes at the device's next boot. Boots are told apart by the kernel's
// boot id recorded in the working folder's manifest; the agent cleans up when it starts.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanWorkFolder, MANIFEST_FILE, readManifest, recordPut } from '../../../src/agent/work-folder.js';
import { tempDir } from './helpers.js';

describe('working folder cleanup at boot', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => dirs.splice(0).forEach((cleanup) => cleanup()));
  const folder = () => {
    const t = tempDir('lr-work-');
    dirs.push(t.cleanup);
    return t.dir;
  };

  it('removes files put without -keep during another boot; keeps kept files and this boot’s files', async () => {
    const work = folder();
    for (const name of ['old.sh', 'kept.sh', 'current.sh', 'unlisted.sh']) writeFileSync(path.join(work, name), name);
    await recordPut(work, 'old.sh', false, 'boot-1');
    await recordPut(work, 'kept.sh', true, 'boot-1');
    await recordPut(work, 'current.sh', false, 'boot-2');
    writeFileSync(path.join(work, '.old.sh.abc123.part'), 'half a download');

    const removed = await cleanWorkFolder(work, 'boot-2');

    expect(removed).toEqual(['old.sh']);
    expect(existsSync(path.join(work, 'old.sh'))).toBe(false);
    expect(existsSync(path.join(work, 'kept.sh'))).toBe(true);
    expect(existsSync(path.join(work, 'current.sh'))).toBe(true);
    expect(existsSync(path.join(work, 'unlisted.sh'))).toBe(true); // not ours to judge
    expect(existsSync(path.join(work, '.old.sh.abc123.part'))).toBe(false);
    expect(await readManifest(work)).toEqual({
      'kept.sh': { keep: true, bootId: 'boot-1' },
      'current.sh': { keep: false, bootId: 'boot-2' },
    });
  });

  it('removes nothing on a restart within the same boot', async () => {
    const work = folder();
    writeFileSync(path.join(work, 'tool.sh'), 'x');
    await recordPut(work, 'tool.sh', false, 'boot-7');
    expect(await cleanWorkFolder(work, 'boot-7')).toEqual([]);
    expect(existsSync(path.join(work, 'tool.sh'))).toBe(true);
  });

  it('never follows a manifest entry out of the folder, and survives a damaged manifest', async () => {
    const work = folder();
    const outside = path.join(path.dirname(work), `${path.basename(work)}-victim`);
    writeFileSync(outside, 'must stay');
    dirs.push(() => rmSync(outside, { force: true }));
    writeFileSync(
      path.join(work, MANIFEST_FILE),
      JSON.stringify({ [`../${path.basename(outside)}`]: { keep: false, bootId: 'old' } }),
    );
    await cleanWorkFolder(work, 'new');
    expect(readFileSync(outside, 'utf8')).toBe('must stay');
    writeFileSync(path.join(work, MANIFEST_FILE), '{ not json');
    expect(await cleanWorkFolder(work, 'new')).toEqual([]);
    await recordPut(work, 'next.sh', false, 'new'); // putfile still works: the manifest is rewritten
    expect(await readManifest(work)).toEqual({ 'next.sh': { keep: false, bootId: 'new' } });
  });
});
