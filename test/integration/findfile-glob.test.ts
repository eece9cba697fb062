// A findfile glob that a backtracking regex needs ages for (many stars, names that almost match) must not
// freeze the agent: another command on the same agent is served meanwhile, and cancel and the time limit
// stop the search on the device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorld, waitFor, type World } from './harness.js';
import { ConsoleClient, type CommandOutcome } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';

const connect = (file: string) => ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));

/** Eight stars then a long literal: exponential for a regex, and ~0.5 ms per name for the linear matcher. */
const PATTERN = `${'*a'.repeat(8)}*${'a'.repeat(200)}b`;
const FILES = 8000;
const TIME_LIMIT_SEC = 1;

function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms),
    ),
  ]);
}

describe('findfile with a pathological glob', () => {
  let w: World;
  let root: string;
  beforeAll(async () => {
    w = await createWorld({ longCommandTimeoutSec: TIME_LIMIT_SEC });
    await w.addAgent('gina');
    // One folder of long names that all almost match (no `b`): the walk spends its time in the matcher.
    root = join(w.dir, 'long-names');
    mkdirSync(root);
    for (let i = 0; i < FILES; i++) closeSync(openSync(join(root, 'a'.repeat(245) + String(i).padStart(5, '0')), 'w'));
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('lets a concurrent dir on the same agent answer at once, and the time limit stops it on the device', async () => {
    const c = await connect(w.adminProfile);
    try {
      const s = await c.openSession('gina');
      const ended = new Promise<{ status: string; error?: string }>((res) => c.on('backgroundEnd', (f) => res(f)));
      const started = Date.now();
      const bg = await c.run(s.id, `findfile "${PATTERN}" -path "${root}" &`).outcome;
      expect(bg.background).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // the search is under way on the agent
      const t0 = Date.now();
      const dir = await within('dir', 10_000, c.run(s.id, `dir "${w.dir}"`).outcome);
      const dirMs = Date.now() - t0;
      console.log(`dir during the findfile: ${dirMs} ms`);
      expect(dir.status).toBe('completed');
      expect(dirMs).toBeLessThan(1500);
      const end = await within('the findfile end', (TIME_LIMIT_SEC + 8) * 1000, ended);
      const endMs = Date.now() - started;
      console.log(`findfile stopped by its ${TIME_LIMIT_SEC} s time limit after ${endMs} ms`);
      expect(end.status).toBe('timed_out');
      expect(end.error).toBe('findfile: timed out (time limit reached); stopped on the device');
      expect(endMs).toBeLessThan(TIME_LIMIT_SEC * 1000 + 3000);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('stops on the device as soon as it is cancelled', async () => {
    const c = await connect(w.adminProfile);
    try {
      const s = await waitFor('the device free again', () => c.openSession('gina'));
      let cancelledAt = 0;
      const run = c.run(s.id, `findfile "${PATTERN}" -path "${root}"`, {
        onStarted: (f) => {
          setTimeout(() => {
            cancelledAt = Date.now();
            c.cancel(f.commandId);
          }, 300);
        },
      });
      const outcome: CommandOutcome = await within('the cancelled findfile', 8000, run.outcome);
      const ms = Date.now() - cancelledAt;
      console.log(`findfile ended ${ms} ms after its cancel`);
      expect(outcome.status).toBe('cancelled');
      expect(outcome.error).toBe('findfile: cancelled'); // the agent confirmed, not the service's fallback
      expect(ms).toBeLessThan(1500);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('refuses an overlong pattern in one line', async () => {
    const r = await w.lr(['exec', 'gina', `findfile "${'*'.repeat(1025)}" -path "${root}"`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('lr: findfile: pattern is 1025 characters; the limit is 1024');
  });
});
