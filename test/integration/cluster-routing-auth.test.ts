// Security finding 1, routing: frames between nodes (lr.agent.<node>, lr.out.<node>) are acted on only when
// they carry the cluster key's MAC and are fresh. Two routers on a real 3-server NATS cluster; a raw client
// captures an authentic frame and publishes it again, and forges frames with a key of its own: the
// receiving router hands the hub the authentic frame once, and nothing else.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Logger } from '../../src/node/log.js';
import { AgentHub } from '../../src/server/agent-hub.js';
import type { Store } from '../../src/server/store.js';
import { ClusterAgents } from '../../src/server/cluster/agent-router.js';
import { connectCluster, type ClusterContext } from '../../src/server/cluster/cluster-context.js';
import { ClusterMac } from '../../src/server/cluster/cluster-key.js';
import type { NodeRegistry } from '../../src/server/cluster/node-registry.js';
import { NatsCluster, natsSkipReason, testMac } from '../cluster/nats-cluster.js';
import { describeNeeds } from '../needs.js';
import { waitFor } from './harness.js';

describeNeeds(natsSkipReason)('cluster routing frames are authenticated and never replayed', () => {
  let cluster: NatsCluster;
  const log = new Logger('routing-auth', 'error');
  const open: ClusterContext[] = [];
  let raw: NatsConnection;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    raw = await cluster.connect(2);
  }, 90_000);

  afterAll(async () => {
    for (const c of open) await c.nc.close().catch(() => undefined);
    await raw?.close().catch(() => undefined);
    await cluster?.stop();
  });

  async function router(
    id: string,
    server: number,
  ): Promise<{ ctx: ClusterContext; router: ClusterAgents; outputs: string[]; frames: string[] }> {
    const ctx = await connectCluster([cluster.urls[server] as string], id, log, testMac, { replicas: 3 });
    open.push(ctx);
    const hub = new AgentHub({} as Store, log);
    const outputs: string[] = [];
    const frames: string[] = [];
    // The hub stands in for the rest of the node: what the router hands it is what this test checks.
    hub.fromAgentNode = (_from, jobId, o) => void outputs.push(`${jobId} ${o.type === 'text' ? o.text : o.type}`);
    hub.fromOtherNode = (_from, dev, f) => void frames.push(`${dev} ${f.t}`);
    const nodes = Object.assign(new EventEmitter(), { isAlive: () => true }) as unknown as NodeRegistry;
    return { ctx, router: await ClusterAgents.start(ctx, hub, nodes), outputs, frames };
  }

  it('an authentic frame is delivered once; its replay, forged frames and frames without a MAC are dropped', async () => {
    const a = await router('route-a', 0);
    const b = await router('route-b', 1);
    const captured: Msg[] = [];
    const sub = raw.subscribe('lr.>', { callback: (_e, m) => void captured.push(m) });
    await raw.flush();

    a.router.toJobOwner('route-b', 'job1', { type: 'text', text: 'hello' });
    a.router.toAgent('route-b', 'dev00001', { t: 'job.cancel', jobId: 'job1', reason: 'cancelled' } as never);
    await waitFor(
      'b got both',
      async () => b.outputs.length === 1 && b.frames.length === 1 && captured.length === 2,
      10_000,
      50,
    );
    expect(b.outputs).toEqual(['job1 hello']);

    // Replays: the very messages, headers and all.
    for (const m of captured) raw.publish(m.subject, m.data, { headers: m.headers });
    // Forged: the right shape, a MAC under another key; and no MAC at all.
    const wrong = new ClusterMac(randomBytes(32));
    const version = `${randomBytes(8).toString('hex')}.1.${Date.now()}`;
    const h = headers();
    h.set('from', 'route-a');
    h.set('job', 'job1');
    h.set('k', 'text');
    h.set('Lr-Version', version);
    h.set(
      'Lr-Mac',
      wrong.tag({
        kind: 'out',
        where: 'lr.out.route-b',
        writer: 'route-a',
        version,
        extra: ['job1', 'text'],
        payload: 'forged',
      }),
    );
    raw.publish('lr.out.route-b', 'forged', { headers: h });
    const bare = headers();
    for (const k of ['from', 'job', 'k']) bare.set(k, h.get(k));
    raw.publish('lr.out.route-b', 'no mac', { headers: bare });
    // An authentic frame moved to another kind (an output frame's MAC on the agent subject) fails too.
    const out = captured.find((m) => m.subject === 'lr.out.route-b') as Msg;
    raw.publish('lr.agent.route-b', out.data, { headers: out.headers });
    await raw.flush();

    // Then one more authentic frame: once it is in, everything before it was judged (NATS keeps order per publisher…
    // and
    // the raw client's messages went first).
    await new Promise((r) => setTimeout(r, 500));
    a.router.toJobOwner('route-b', 'job1', { type: 'text', text: 'second' });
    await waitFor('b got the second frame', async () => b.outputs.length >= 2, 10_000, 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.outputs).toEqual(['job1 hello', 'job1 second']);
    expect(b.frames).toEqual(['dev00001 job.cancel']);
    sub.unsubscribe();
  }, 60_000);
});
