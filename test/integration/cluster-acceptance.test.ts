// A real 3-server NATS cluster and 3 real `lr-server` nodes on loopback (one
// NATS server each), real agents attached to nodes 2 and 3, and the analyst's `lr` talking to node 1 only.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { waitFor } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';
import { headers } from '@nats-io/transport-node';
import { describeNeeds } from '../needs.js';

describeNeeds(natsSkipReason)('cluster: 3 service nodes on a 3-server NATS cluster', () => {
  let c: LrCluster;
  let dir: string;
  let alpha: { deviceId: string }; // enrolled through node 2, connects to node 2 first
  let bravo: { deviceId: string }; // enrolled through node 3, connects to node 3 first
  /** Every command id the analyst was given (the log must hold them all at the end). */
  const commandIds = new Set<string>();
  const nodeId = (i: number) => c.node(i).id;
  const lr = (n: number, args: string[], timeoutMs = 60_000) => c.lr(n, args, timeoutMs);
  const devices = (n: number) => c.devices(n);
  const execJson = async (n: number, device: string, line: string, extra: string[] = []) => {
    const r = await lr(n, ['exec', device, line, '--json', ...extra]);
    const out = r.stdout.trim()
      ? (JSON.parse(r.stdout) as {
          commandId: string;
          status: string;
          error?: string | null;
          records?: Record<string, unknown>[];
          text?: string;
          sha256?: string;
          file?: string;
        })
      : null;
    if (out?.commandId) commandIds.add(out.commandId);
    return { code: r.code, stderr: r.stderr, out };
  };

  beforeAll(async () => {
    c = await LrCluster.start(3);
    dir = c.dir;
    alpha = await c.addAgent(2, 'alpha');
    bravo = await c.addAgent(3, 'bravo');
    await waitFor(
      'agents online on nodes 2 and 3, seen from node 1',
      async () => {
        const d = await devices(1);
        const a = d.find((x) => x.id === alpha.deviceId);
        const b = d.find((x) => x.id === bravo.deviceId);
        return a?.online && b?.online && a.node === nodeId(2) && b.node === nodeId(3);
      },
      30_000,
    );
  }, 240_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('1. an analyst on node 1 runs commands, getfile (hash verified) and run on agents attached to nodes 2 and 3', async () => {
    // The admin profile init wrote before the cluster existed now lists every node (node 1 first).
    const admin = profileSchema.parse(JSON.parse(readFileSync(c.profile(1), 'utf8')));
    expect(admin.urls?.[0]).toBe(admin.url);
    expect(admin.urls).toHaveLength(3);
    const files = join(dir, 'files');
    const out = join(dir, 'out');
    mkdirSync(files, { recursive: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(files, 'marker-7f3a.txt'), 'cluster marker\n');
    for (const device of ['alpha', 'bravo']) {
      const r = await execJson(1, device, `dir "${files}"`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.out?.records?.map((x) => x.name)).toContain('marker-7f3a.txt');
    }
    // getfile of 12 MiB through node 1 from the agent on node 2: bytes and hash as on the device.
    const blob = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(files, 'evidence.bin'), blob);
    const g = await execJson(1, 'alpha', `getfile "${join(files, 'evidence.bin')}"`, ['--out', out]);
    expect(g.code, g.stderr).toBe(0);
    const sha = createHash('sha256').update(blob).digest('hex');
    expect(g.out?.sha256).toBe(sha);
    expect(
      createHash('sha256')
        .update(readFileSync(g.out?.file as string))
        .digest('hex'),
    ).toBe(sha);
    // run: a script uploaded through node 1 runs on the agent of node 3 (which downloads it from node 3).
    expect((await lr(1, ['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
    const script = join(files, 'hello.sh');
    writeFileSync(script, '#!/bin/bash\necho "hello from $(hostname) args=$*"\n');
    const up = await lr(1, ['library', 'upload', script]);
    expect(up.code, up.stderr).toBe(0);
    const r = await execJson(1, 'bravo', 'run hello.sh -parameters "one two"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.out?.text).toContain('args=one two');
    // A command that fails on the agent still comes back through the other node with its error.
    const bad = await execJson(1, 'bravo', 'dir /no/such/folder-4b2');
    expect(bad.code).not.toBe(0);
    expect(bad.out?.error).toMatch(/no\/such\/folder-4b2/);
  }, 180_000);

  it('2. 100 concurrent attempts over the three nodes to open a session on one device: exactly one wins', async () => {
    const base = profileSchema.parse(JSON.parse(readFileSync(c.profile(1), 'utf8')));
    const clients: ConsoleClient[] = [];
    try {
      for (let n = 1; n <= 3; n++) {
        const p = { ...base, url: `wss://127.0.0.1:${c.node(n).port}`, urls: undefined };
        for (let k = 0; k < 4; k++) clients.push(await ConsoleClient.connect(p));
      }
      const attempts = Array.from({ length: 100 }, (_, i) =>
        (clients[i % clients.length] as ConsoleClient).openSession(alpha.deviceId),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(refused).toHaveLength(99);
      for (const r of refused)
        expect(String((r.reason as Error).message)).toMatch(/already has a live response session/);
    } finally {
      for (const c of clients) c.close();
    }
    // The winner's console closed: the device is free again (from any node).
    await waitFor(
      'device free again',
      async () => {
        const r = await execJson(3, 'alpha', 'dir /');
        return r.code === 0;
      },
      20_000,
    );
  }, 120_000);

  it('junk on the routing subjects is dropped; the nodes keep serving', async () => {
    const nc = await c.nats.connect(0);
    try {
      const h = headers();
      h.set('from', nodeId(2));
      h.set('dev', bravo.deviceId);
      h.set('job', 'nosuchjob');
      for (const n of [1, 3]) {
        for (const k of ['records', 'end', 'data', 'text', 'trace', 'bogus']) {
          const hk = headers();
          for (const [key, v] of h) hk.set(key, v.join(','));
          hk.set('k', k);
          nc.publish(`lr.out.${nodeId(n)}`, k === 'records' ? '{"not":"an array"}' : '\u0000garbage', { headers: hk });
        }
        nc.publish(`lr.agent.${nodeId(n)}`, '{"t":"job.start"}', { headers: h }); // fails the schema
        nc.publish(`lr.agent.${nodeId(n)}`, JSON.stringify({ t: 'job.cancel', jobId: 'x', reason: 'cancelled' })); // no sender
      }
      await nc.flush();
    } finally {
      await nc.close();
    }
    const r = await execJson(1, 'bravo', 'dir /');
    expect(r.code, r.stderr).toBe(0);
  });

  it('3. SIGKILL of node 2: its agent is online on another node within 10 s; the log is complete and verifies', async () => {
    // A long command running on alpha (via node 2) when node 2 dies ends with a clear message, not silence.
    const script = join(dir, 'files', 'sleep.sh');
    writeFileSync(script, '#!/bin/bash\necho sleeping\nsleep 60\n');
    expect((await lr(1, ['library', 'upload', script])).code).toBe(0);
    // A console on node 1 with a session on alpha (whose agent is on node 2), a long command running in it.
    const base = profileSchema.parse(JSON.parse(readFileSync(c.profile(1), 'utf8')));
    const console1 = await ConsoleClient.connect({ ...base, urls: undefined });
    const session = await console1.openSession(alpha.deviceId);
    let printed = '';
    const running = console1.run(session.id, 'run sleep.sh', { onText: (t) => (printed += t) }).outcome;
    await waitFor('sleep.sh running', async () => printed.includes('sleeping'), 15_000);
    const killedAt = Date.now();
    await c.killNode(2);
    const moved = await waitFor(
      'alpha online on another node',
      async () => {
        const d = (await devices(1)).find((x) => x.id === alpha.deviceId);
        return d?.online && d.node && d.node !== nodeId(2) ? d : undefined;
      },
      15_000,
      100,
    );
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThan(10_000);
    expect([nodeId(1), nodeId(3)]).toContain(moved.node);
    // The command running through node 2 ends with a clear message; the session goes on with alpha where it is now.
    const ended = await running;
    commandIds.add(ended.commandId);
    expect(ended.status).toBe('failed');
    expect(ended.error).toMatch(/offline|stopped answering/);
    const again = await console1.run(session.id, 'dir /', {}).outcome;
    expect(again.status).toBe('completed');
    commandIds.add(again.commandId);
    console1.close();
    // Commands reach it again from node 1 and from node 3 (once the closed session's claim is released).
    for (const n of [1, 3])
      await waitFor(
        `dir on alpha through node ${n}`,
        async () => (await execJson(n, 'alpha', 'dir /')).code === 0,
        20_000,
      );
    // The log: every command the analyst was given is in the cluster log, and the chains verify.
    const exported = await lr(1, ['log', 'export', '--jsonl']);
    expect(exported.code, exported.stderr).toBe(0);
    const ids = new Set(
      exported.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id),
    );
    for (const id of commandIds) expect(ids.has(id), `command ${id} missing from the cluster log`).toBe(true);
    // The log viewer's side: node 3 lists the commands run through node 1 too, with their final status.
    const viewed = await lr(3, ['log', '--json']);
    expect(viewed.code, viewed.stderr).toBe(0);
    const view = new Map((JSON.parse(viewed.stdout) as { id: string; status: string }[]).map((e) => [e.id, e.status]));
    for (const id of commandIds) expect(view.has(id), `command ${id} missing from node 3's log view`).toBe(true);
    expect(view.get(ended.commandId)).toBe('failed');
    const verify = await lr(1, ['log', 'verify', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      entries: number;
      nodes?: { node: string; ok: boolean }[];
    };
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThanOrEqual(commandIds.size);
    console.log(
      `[cluster] alpha online on ${moved.node} ${elapsed} ms after node 2 was killed; log ${report.entries} entries, nodes ${JSON.stringify(report.nodes)}`,
    );
  }, 120_000);

  it('4. node 2 restarted after the SIGKILL rejoins: it serves analysts and verifies the cluster log', async () => {
    await c.startNode(2);
    await waitFor('node 2 sees the cluster again', async () => c.clusterUrls(2).length === 3, 20_000);
    const d = await devices(2);
    expect(d.find((x) => x.id === bravo.deviceId)).toMatchObject({ online: true, node: nodeId(3) });
    const r = await execJson(2, 'bravo', 'dir /');
    expect(r.code, r.stderr).toBe(0);
    const verify = await lr(2, ['log', 'verify', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);
  }, 120_000);
});
