// Tenant settings: live response on/off, on servers on/off (devices tagged `server`), limits
// changed at run time; admins only; refusals are one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createWorld, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';

describe('tenant settings', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('golf');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('turns live response off and on for the tenant', async () => {
    expect((await w.lr(['settings', 'set', 'liveResponse', 'off'])).code).toBe(0);
    const refused = await w.lr(['exec', 'golf', 'dir /']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'lr: connect: live response is turned off for this tenant (an admin can turn it on: lr settings set liveResponse on)',
    );
    const shown = await w.lr(['settings', 'get']);
    expect(shown.stdout).toMatch(/^liveResponse off$/m);
    expect((await w.lr(['settings', 'set', 'liveResponse', 'on'])).code).toBe(0);
    expect((await w.lr(['exec', 'golf', 'dir /'])).code).toBe(0);
  });

  it('refuses sessions on servers when live response on servers is off', async () => {
    expect((await w.lr(['groups', 'tag', 'golf', 'server'])).code).toBe(0);
    await w.lr(['settings', 'set', 'liveResponseServers', 'off']);
    const refused = await w.lr(['exec', 'golf', 'dir /']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/golf is a server and live response on servers is turned off/);
    await w.lr(['settings', 'set', 'liveResponseServers', 'on']);
    expect((await w.lr(['exec', 'golf', 'dir /'])).code).toBe(0);
    await w.lr(['groups', 'tag', 'golf']);
  });

  it('changes limits at run time (idle timeout) without a restart', async () => {
    const set = await w.lr(['settings', 'set', 'limits.idleTimeoutSec', '1']);
    expect(set.stdout).toMatch(/^limits\.idleTimeoutSec 1$/m);
    const c = await ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8'))));
    try {
      const closed = new Promise<string>((res) => c.on('sessionClosed', (_id, reason) => res(reason)));
      await c.openSession('golf');
      expect(await closed).toMatch(/idle for 1 s/);
    } finally {
      c.close();
    }
    const bad = await w.lr(['settings', 'set', 'limits.noSuchLimit', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    await w.lr(['settings', 'set', 'limits.idleTimeoutSec', '1800']);
  });

  it('is for admins only', async () => {
    const analyst = await w.addUser('harriet', 'advanced', true);
    const r = await w.lr(['settings', 'set', 'liveResponse', 'off'], analyst);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await w.lr(['exec', 'golf', 'dir /'])).code).toBe(0);
  });
});
