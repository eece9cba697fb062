// Security review finding 9 and tests issue point 2: the agent's command verifier (the real one, with a
// key made by the service's CommandSigner) refuses a signed job.start whose time limit, expiry or job id
// was changed after signing; an agent without a pinned key refuses every command, even a correctly signed
// one; and the job runner's own timer is clamped (setTimeout fires at once above 2^31-1 ms).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CommandVerifier } from '../../../src/agent/command-verifier.js';
import type { AgentCommand } from '../../../src/agent/command.js';
import { agentTimeLimitMs, JobRunner, type AgentSender } from '../../../src/agent/jobs.js';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { Logger } from '../../../src/node/log.js';
import { CommandSigner, type JobStart } from '../../../src/server/command-signing.js';
import { findCommand } from '../../../src/shared/commands/catalog.js';
import { MAX_TIME_LIMIT_MS } from '../../../src/shared/wire/command-signature.js';
import type { FromAgent } from '../../../src/shared/wire/protocol.js';

const DEVICE = 'dev1';
const dir = mkdtempSync(join(tmpdir(), 'lr-verifier-'));
const signer = CommandSigner.load(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function signed(overrides: Partial<JobStart> = {}): JobStart {
  n += 1;
  return signer.sign(
    {
      t: 'job.start',
      jobId: `job${n}`,
      sessionId: 's1',
      command: 'dir',
      params: { path: '/tmp' },
      cwd: '/',
      timeLimitMs: 60_000,
      ...overrides,
    },
    DEVICE,
    'basic',
  );
}

describe('command verifier', () => {
  it('accepts a correctly signed job.start', () => {
    expect(new CommandVerifier(signer.publicKeyPem, DEVICE).check(signed())).toBeNull();
  });

  it('refuses a signed job.start whose time limit was changed after signing (a relay cannot stretch it to 2^31 ms)', () => {
    const v = new CommandVerifier(signer.publicKeyPem, DEVICE);
    expect(v.check({ ...signed(), timeLimitMs: 2 ** 31 })).toMatch(/^dir: refused by the agent: bad command signature/);
    expect(v.check({ ...signed(), timeLimitMs: 59_999 })).toMatch(/bad command signature/);
  });

  it('refuses a signed job.start whose expiry or job id was changed after signing', () => {
    const v = new CommandVerifier(signer.publicKeyPem, DEVICE);
    const a = signed();
    expect(v.check({ ...a, expiresAt: (a.expiresAt as number) + 3_600_000 })).toMatch(/bad command signature/);
    const b = signed();
    expect(v.check({ ...b, jobId: 'anotherjob' })).toMatch(/bad command signature/);
    // The unchanged frames still pass: the refusals above came from the change alone.
    expect(v.check(a)).toBeNull();
    expect(v.check(b)).toBeNull();
  });

  it('without a pinned command-signing key refuses every command, a correctly signed one too', () => {
    const v = new CommandVerifier(undefined, DEVICE);
    for (const f of [
      signed(),
      signed({ command: 'processes', params: {} }),
      {
        t: 'job.start' as const,
        jobId: 'u1',
        sessionId: 's1',
        command: 'dir',
        params: {},
        cwd: '/',
        timeLimitMs: 1000,
      },
    ]) {
      expect(v.check(f)).toBe(
        `${f.command}: refused by the agent: no command-signing key is pinned on this device (re-enroll the agent)`,
      );
    }
  });
});

describe("the job runner's time limit", () => {
  it('is clamped to 24 h (plus grace) and stays below setTimeout ceiling', () => {
    expect(agentTimeLimitMs(60_000)).toBeGreaterThan(60_000);
    expect(agentTimeLimitMs(2 ** 31)).toBeLessThanOrEqual(MAX_TIME_LIMIT_MS + 60_000);
    expect(agentTimeLimitMs(Number.MAX_SAFE_INTEGER)).toBeLessThan(2 ** 31 - 1);
  });

  it('does not time a job out at once when the limit is 2^31 ms (the timer would overflow)', async () => {
    const frames: FromAgent[] = [];
    const sender: AgentSender = { frame: (f) => void frames.push(f), raw: () => undefined, data: () => undefined };
    const command: AgentCommand = {
      spec: findCommand('processes')!,
      schema: z.object({}),
      run: (ctx) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 300);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    };
    const verifier = new CommandVerifier(signer.publicKeyPem, DEVICE);
    const runner = new JobRunner(
      new Map([['processes', command]]),
      createLinuxPlatform({ sysroot: '/' }),
      new Logger('test', 'off'),
      sender,
      {},
      (f) => verifier.check(f),
    );
    runner.handle(
      signer.sign(
        {
          t: 'job.start',
          jobId: 'long1',
          sessionId: 's1',
          command: 'processes',
          params: {},
          cwd: '/',
          timeLimitMs: 2 ** 31,
        },
        DEVICE,
        'basic',
      ),
    );
    for (let i = 0; i < 100 && !frames.some((f) => f.t === 'job.end'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames.find((f) => f.t === 'job.end')).toMatchObject({ status: 'completed' });
  });
});
