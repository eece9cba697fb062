// The workstation's standalone mode in-process: first run creates the embedded service and agent in the
// app data folder and signs in as admin; this machine shows up online; a second run reuses both (on a new
// port); a console session runs a command with flow-controlled output.
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/main/services/index.js';
import type { ConsoleItem, LrEvent } from '../../src/shared/workstation/ipc-contract.js';
import { waitFor } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'lr-standalone-'));
let services: Services | undefined;

afterAll(async () => {
  await services?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function make(): Services {
  return createServices({ version: '0.0.0-test', mode: 'browser-shell', platform: process.platform, dataDir: dir });
}

describe('standalone mode', () => {
  it('first run: embedded service + agent, admin signed in, this machine online', async () => {
    services = make();
    await services.start();
    const status = services.workspace.status();
    expect(status).toMatchObject({
      state: 'ready',
      mode: 'standalone',
      user: { name: 'admin', role: 'admin', libraryManager: true },
    });
    expect(status.serviceUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(join(dir, 'service', 'admin.profile.json'))).toBe(true);
    expect(existsSync(join(dir, 'agent', 'agent.json'))).toBe(true);
    const device = await waitFor('this machine online', async () =>
      (await services!.devices.list()).find((d) => d.online && d.id === status.localDeviceId),
    );
    expect(device.name).toBe(hostname());
  });

  it('runs a console command and pushes its output as events, acknowledged by the consumer', async () => {
    const s = services!;
    const items: ConsoleItem[] = [];
    const off = s.events.subscribe((event: LrEvent) => {
      if (event.type !== 'console.output') return;
      items.push(...event.items);
      s.consoles.ack(event.sessionId, event.weight);
    });
    const session = await s.consoles.open(hostname());
    s.consoles.run(session.id, 'cd /tmp');
    await waitFor('cd to end', async () => items.some((i) => i.type === 'end'));
    expect(items.find((i) => i.type === 'end')).toMatchObject({ status: 'completed', cwd: '/tmp' });
    items.length = 0;
    s.consoles.run(session.id, 'dir /');
    await waitFor('dir to end', async () => items.some((i) => i.type === 'end'));
    const records = items.flatMap((i) => (i.type === 'records' ? i.records : []));
    expect(records.map((r) => r.name)).toContain('etc');
    const completion = await s.consoles.complete(session.id, 'cd /et', 6);
    expect(completion).toMatchObject({ kind: 'path', candidates: ['/etc/'] });
    expect(await s.consoles.close(session.id)).toBe(true);
    off();
  });

  it("the embedded agent refuses the app data folder: the service's admin profile, its own key, the workstation's files", async () => {
    const s = services!;
    const ends: ConsoleItem[] = [];
    const off = s.events.subscribe((event: LrEvent) => {
      if (event.type !== 'console.output') return;
      ends.push(...event.items.filter((i) => i.type === 'end'));
      s.consoles.ack(event.sessionId, event.weight);
    });
    const session = await s.consoles.open(hostname());
    const refusals: Record<string, string> = {
      [join(dir, 'service', 'admin.profile.json')]: "a live response service's data folder",
      [join(dir, 'agent', 'agent.json')]: "the agent's own data folder",
      [join(dir, 'workstation.json')]: "the live response workstation's data folder",
    };
    for (const [file, what] of Object.entries(refusals)) {
      ends.length = 0;
      s.consoles.run(session.id, `fileinfo "${file}"`);
      await waitFor(`fileinfo ${file} to end`, async () => ends.length > 0);
      expect(ends[0]).toMatchObject({ status: 'failed', error: `fileinfo: refused: ${file} is in ${what}` });
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'service')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'service', 'admin.profile.json')).mode & 0o777).toBe(0o600);
    expect(await s.consoles.close(session.id)).toBe(true);
    off();
  });

  it('second run reuses the data folder (new port, same device)', async () => {
    const first = services!.workspace.status();
    await services!.stop();
    services = make();
    await services.start();
    const second = services.workspace.status();
    expect(second.state).toBe('ready');
    expect(second.localDeviceId).toBe(first.localDeviceId);
    await waitFor('this machine online again', async () =>
      (await services!.devices.list()).find((d) => d.online && d.id === second.localDeviceId),
    );
  });
});
