// A session on a device whose group has no automated remediation level is refused
// with the reference's error; after an admin sets a level, it opens. Membership by rule and by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

describe('device groups and remediation levels', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('gamma');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('starts with the default group at level full: sessions open as before', async () => {
    const list = JSON.parse((await w.lr(['groups', 'list', '--json'])).stdout) as {
      name: string;
      remediationLevel: string;
      devices: { name: string }[];
    }[];
    expect(list).toEqual([
      expect.objectContaining({
        name: 'default',
        remediationLevel: 'full',
        devices: [expect.objectContaining({ name: 'gamma' })],
      }),
    ]);
    expect((await w.lr(['exec', 'gamma', 'dir /'])).code).toBe(0);
  });

  it('refuses a session on a device whose group has no level, and opens it once an admin sets one', async () => {
    const add = await w.lr(['groups', 'add', 'lab', '--level', 'none', '--rule', 'name:gam*', '--rule', 'os:linux']);
    expect(add.code, add.stderr).toBe(0);
    const refused = await w.lr(['exec', 'gamma', 'dir /']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'lr: connect: no automated remediation level assigned to the device group of gamma (group lab); an admin must set one first (lr groups set-level lab semi|full)',
    );

    expect((await w.lr(['groups', 'set-level', 'lab', 'semi'])).code).toBe(0);
    const opened = await w.lr(['exec', 'gamma', 'dir /']);
    expect(opened.code, opened.stderr).toBe(0);
  });

  it('a device assigned by hand follows its group, and returns to the rules when unassigned', async () => {
    expect((await w.lr(['groups', 'add', 'frozen', '--level', 'none'])).code).toBe(0);
    expect((await w.lr(['groups', 'assign', 'gamma', 'frozen'])).code).toBe(0);
    const refused = await w.lr(['exec', 'gamma', 'dir /']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /no automated remediation level assigned to the device group of gamma \(group frozen\)/,
    );
    expect((await w.lr(['groups', 'unassign', 'gamma'])).code).toBe(0);
    expect((await w.lr(['exec', 'gamma', 'dir /'])).code).toBe(0);
  });

  it('a tag rule puts a device in a group', async () => {
    expect((await w.lr(['groups', 'add', 'servers', '--level', 'none', '--rule', 'tag:prod'])).code).toBe(0);
    // 'lab' (an older group, so tried first) still takes gamma: move it out of the way by changing its rule.
    expect((await w.lr(['groups', 'set-rule', 'lab', '--rule', 'name:nomatch-*'])).code).toBe(0);
    expect((await w.lr(['groups', 'tag', 'gamma', 'prod'])).code).toBe(0);
    const refused = await w.lr(['exec', 'gamma', 'dir /']);
    expect(refused.stderr).toMatch(/\(group servers\)/);
    expect((await w.lr(['groups', 'tag', 'gamma'])).code).toBe(0); // tags cleared: back to default
    expect((await w.lr(['exec', 'gamma', 'dir /'])).code).toBe(0);
  });

  it('only admins manage groups', async () => {
    const advanced = await w.addUser('ada', 'advanced');
    for (const args of [
      ['groups', 'list'],
      ['groups', 'set-level', 'default', 'none'],
      ['groups', 'assign', 'gamma', 'frozen'],
    ]) {
      const r = await w.lr(args, advanced);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/needs the admin role \(you are advanced\)/);
    }
    expect((await w.lr(['groups', 'set-level', 'lab', 'extreme'])).code).toBe(2);
  });
});
