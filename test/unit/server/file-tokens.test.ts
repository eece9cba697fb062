// The single node's one-time download tokens (AgentFileTokens): the same contract the cluster's tokens keep
// (test/integration/library-objects.test.ts), with `redeem` asynchronous since cluster mode.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentFileTokens } from '../../../src/server/agent-file-tokens.js';

const grant = { name: 'collect.sh', deviceId: 'dev1', sha256: 'a'.repeat(64) };

describe('agent file tokens (single node)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

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

  it('refuses an expired token, not one about to expire', async () => {
    vi.useFakeTimers();
    const tokens = new AgentFileTokens(50);
    const early = tokens.issue(grant);
    const late = tokens.issue(grant);
    vi.advanceTimersByTime(49);
    expect(await tokens.redeem(early)).toMatchObject(grant);
    vi.advanceTimersByTime(2);
    expect(await tokens.redeem(late)).toBeNull();
  });

  it('gives a token to one of concurrent redeems only', async () => {
    const tokens = new AgentFileTokens();
    const t = tokens.issue(grant);
    const all = await Promise.all(Array.from({ length: 20 }, () => tokens.redeem(t)));
    expect(all.filter((g) => g !== null)).toHaveLength(1);
  });
});
