// The service side, against a real service and agent: a console's own probe (path
// completion's `dir … -output json`, sent with `internal`) is in the command log, flagged, and never listed
// by `jobs`; nothing else can be sent as internal (a client cannot hide a command that reads a file or
// changes the device from `jobs`): it is refused, and logged as refused. `jobs` lists what still runs by
// default, every command with -all, durations for people.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleClient, ServiceApi } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';
import { createWorld, type World } from './harness.js';

describe('internal completion probes and jobs', () => {
  let w: World;
  let client: ConsoleClient;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('golf');
  });
  afterAll(async () => {
    client?.close();
    await w?.cleanup();
  });

  it('item 7: a probe is logged and flagged, never in jobs; only a folder listing may be internal', async () => {
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    client = await ConsoleClient.connect(profile);
    const session = await client.openSession('golf');
    const run = async (line: string, internal = false) => {
      let text = '';
      const records: Record<string, unknown>[] = [];
      const outcome = await client.run(
        session.id,
        line,
        { onText: (t) => (text += t), onRecords: (r) => records.push(...r) },
        { internal },
      ).outcome;
      return { outcome, text, records };
    };

    const probe = await run('dir / -output json', true);
    expect(probe.outcome.status).toBe('completed');
    expect(probe.records.length).toBeGreaterThan(0);
    const refused = await run('fileinfo /etc/hostname', true);
    expect(refused.outcome.status).toBe('refused');
    expect(refused.outcome.error).toBe(
      "fileinfo: only a folder listing (dir … -output json) can run as the console's internal probe",
    );
    const background = await run('dir / -output json &', true);
    expect(background.outcome.status).toBe('refused');
    expect((await run('dir /tmp')).outcome.status).toBe('completed');

    const log = await new ServiceApi(profile).log({ device: 'golf' });
    expect(log.find((c) => c.id === probe.outcome.commandId)?.internal).toBe(true);
    expect(log.find((c) => c.id === refused.outcome.commandId)).toMatchObject({
      status: 'refused',
      commandLine: 'fileinfo /etc/hostname',
    });
    expect(log.find((c) => c.id === refused.outcome.commandId)?.internal).toBeUndefined();

    // Nothing runs: jobs says so in one line; -all lists every command but the probe, with durations for people.
    const idle = await run('jobs');
    expect(idle.text).toBe('no running or background commands in this session (jobs -all lists every command)\n');
    const all = await run('jobs -all -output json');
    const lines = all.records.map((r) => r.commandLine);
    expect(lines).toEqual(['fileinfo /etc/hostname', 'dir / -output json &', 'dir /tmp', 'jobs']);
    expect(all.records.every((r) => typeof r.duration === 'string' && /^\d+(\.\d)? (ms|s)$/.test(r.duration))).toBe(
      true,
    );

    // A running background job is listed by default.
    const sleeper = await run('findfile zz-not-here -path / &');
    const running = await run('jobs -output json');
    expect(running.records.map((r) => r.id)).toEqual([sleeper.outcome.commandId]);
    client.cancel(sleeper.outcome.commandId);
  });
});
