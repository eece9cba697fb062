// Three nodes started at the same moment on a fresh NATS cluster (a data centre powering up)
// race to create every bucket and stream; all must come up, agree on the state, and route.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { waitFor } from './harness.js';
import { describeNeeds } from '../needs.js';

describeNeeds(natsSkipReason)('cluster: nodes started simultaneously', () => {
  let c: LrCluster;

  beforeAll(async () => {
    c = await LrCluster.start(3, { simultaneous: true });
  }, 180_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('all three serve the same users and devices and route commands between them', async () => {
    // The first node's admin (its users seed the cluster) is known everywhere: a node made with
    // --cluster-from never seeds, so it cannot make the first node drop its users as "not in the cluster".
    for (const i of [1, 2, 3])
      await waitFor(
        `node ${i} knows the admin`,
        async () => (await c.devices(i).catch(() => undefined)) !== undefined,
        15_000,
      );
    const agent = await c.addAgent(3, 'charlie').catch((e: Error) => {
      for (const n of c.nodes)
        console.error(`--- node ${n.i} (${n.id}) output:\n${n.proc?.output().slice(-6000) ?? ''}`);
      throw e;
    });
    await waitFor(
      'charlie seen online from node 1',
      async () => (await c.devices(1)).find((d) => d.id === agent.deviceId && d.online && d.node === c.node(3).id),
      20_000,
    );
    for (const i of [1, 2]) {
      const r = await c.lr(i, ['exec', 'charlie', 'dir /', '--json']);
      expect(r.code, r.stderr).toBe(0);
    }
    const verify = await c.lr(2, ['log', 'verify', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});
