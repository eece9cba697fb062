// The single node's one-time download tokens (AgentFileTokens): the same contract the cluster's tokens keep
// (test/integration/library-objects.test.ts), with `redeem` asynchronous since cluster mode.
import { describe, expect, it } from 'vitest';
import { AgentFileTokens } from '../../../src/server/agent-file-tokens.js';

const grant = { name: 'collect.sh', deviceId: 'dev1', sha256: 'a'.repeat(64) };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('agent file tokens (single node)', () => {
  it('redeems a token once, with its grant', async () => {
    const tokens = new AgentFileTokens();
    const t = tokens.issue(grant);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tokens.redeem(t)).toMatchObject(grant);
    expect(await tokens.redeem(t)).toBeNull();
  });

  it('keeps tokens apart and refuses unknown or malformed ones', async () => {
    const tokens = new AgentFileTokens();
    const t1 = tokens.issue(grant);
    const t2 = tokens.issue({ ...grant, deviceId: 'dev2' });
    expect(t1).not.toBe(t2);
    expect((await tokens.redeem(t2))?.deviceId).toBe('dev2');
    expect((await tokens.redeem(t1))?.deviceId).toBe('dev1');
    expect(await tokens.redeem('A'.repeat(43))).toBeNull();
    expect(await tokens.redeem('../../etc/passwd')).toBeNull();
    expect(await tokens.redeem('')).toBeNull();
  });

  it('refuses an expired token', async () => {
    const tokens = new AgentFileTokens(50);
    const t = tokens.issue(grant);
    await sleep(80);
    expect(await tokens.redeem(t)).toBeNull();
  });

  it('gives a token to one of concurrent redeems only', async () => {
    const tokens = new AgentFileTokens();
    const t = tokens.issue(grant);
    const all = await Promise.all(Array.from({ length: 20 }, () => tokens.redeem(t)));
    expect(all.filter((g) => g !== null)).toHaveLength(1);
  });
});
