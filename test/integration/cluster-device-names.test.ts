// Finding 8 in a cluster: devices are a shared table, so two nodes could each find a name free in their own
// copy and enroll two devices under it. Enrollment claims the name once for the whole cluster (http.ts):
// agents enrolling with one --name at the same moment on two real lr-server nodes end with distinct names,
// the same on both nodes. And the trace guard (an agent's trace lines only for sessions that traced its own
// device) knows the sessions of other nodes: a console on node 1 gets the lines of an agent on node 2.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { run, waitFor } from './harness.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { describeNeeds } from '../needs.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { readJsonFile } from '../../src/node/files.js';
import { profileSchema } from '../../src/node/profile.js';

describeNeeds(natsSkipReason)('device names in a cluster', () => {
  let c: LrCluster;

  beforeAll(async () => {
    c = await LrCluster.start(2);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('gives distinct names to devices enrolled with one name on two nodes at once', async () => {
    const jobs: { node: number; bundle: string; dir: string }[] = [];
    for (let k = 0; k < 6; k++) {
      const node = (k % 2) + 1;
      const bundle = join(c.dir, `same-${k}.bundle.json`);
      const t = await run('lr-server', [
        'enroll-token',
        '--data',
        c.node(node).dataDir,
        '--out',
        bundle,
        '--ttl',
        '1h',
      ]);
      expect(t.code, t.stderr).toBe(0);
      jobs.push({ node, bundle, dir: join(c.dir, `agent-same-${k}`) });
    }
    const results = await Promise.all(
      jobs.map((j) =>
        run('lr-agent', ['enroll', '--bundle', j.bundle, '--data', j.dir, '--name', 'web01'], { env: c.env }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const names = results.map((r) => /^enrolled as (\S+) /.exec(r.stdout)?.[1]);
    expect(new Set(names.map((n) => n?.toLowerCase())).size, names.join(' ')).toBe(6);
    const ids = results.map((r) => /device id (\w+)/.exec(r.stdout)?.[1] as string);
    // Both nodes hold all six, under the names their agents were told.
    for (const i of [1, 2]) {
      const seen = await waitFor(
        `node ${i} knows the six devices`,
        async () => {
          const d = await c.devices(i);
          return ids.every((id) => d.some((x) => x.id === id)) && d;
        },
        20_000,
      );
      expect(ids.map((id) => seen.find((d) => d.id === id)?.name)).toEqual(names);
    }
  }, 120_000);

  // The race above is usually won by the replication too (a few ms), so it passes even without the claim on
  // an idle machine. This one is deterministic: a name handed out on node 1 is claimed for the whole cluster,
  // so node 2 does not hand it out again, even once node 1 renamed its device and node 2's copy has it free.
  it('does not hand out again on another node a name claimed by an enrollment', async () => {
    const enrollAt = async (node: number, k: string) => {
      const bundle = join(c.dir, `${k}.bundle.json`);
      expect(
        (await run('lr-server', ['enroll-token', '--data', c.node(node).dataDir, '--out', bundle, '--ttl', '1h'])).code,
      ).toBe(0);
      return run('lr-agent', ['enroll', '--bundle', bundle, '--data', join(c.dir, `agent-${k}`), '--name', 'solo'], {
        env: c.env,
      });
    };
    const first = await enrollAt(1, 'solo-1');
    expect(first.stdout).toMatch(/^enrolled as solo /);
    const renamed = await c.lr(1, ['devices', 'rename', 'solo', 'solo-renamed']);
    expect(renamed.code, renamed.stderr).toBe(0);
    await waitFor(
      'node 2 sees the rename',
      async () => (await c.devices(2)).some((d) => d.name === 'solo-renamed'),
      20_000,
    );
    const second = await enrollAt(2, 'solo-2');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^enrolled as solo-2 \(device id \w+\): the name solo is taken by another device\n$/);
  }, 120_000);

  it('passes the trace lines of an agent on node 2 to a console on node 1', async () => {
    const agent = await c.addAgent(2, 'tracer');
    const client = await ConsoleClient.connect(readJsonFile(c.profile(1), profileSchema, 'profile'));
    try {
      const session = await client.openSession(agent.deviceId);
      const lines: string[] = [];
      client.on('trace', (f) => f.sessionId === session.id && lines.push(f.message));
      expect((await client.run(session.id, 'trace debug', {}).outcome).status).toBe('completed');
      await client.run(session.id, 'fileinfo /etc/hostname', {}).outcome;
      await waitFor('a trace line from node 2', async () => lines.length > 0, 20_000);
    } finally {
      client.close();
    }
  }, 120_000);
});
