// The job runner's record stream: emitMany sends the same batches as emit() one by one, and keeps no
// more than the credit window (plus one batch) unacknowledged: the job waits for acks, and a cancel
// while it waits ends it.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AgentCommand } from '../../../src/agent/command.js';
import { JobRunner, type AgentSender } from '../../../src/agent/jobs.js';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { findCommand } from '../../../src/shared/commands/catalog.js';
import { Logger } from '../../../src/node/log.js';
import { JOB_WINDOW_BYTES, type FromAgent } from '../../../src/shared/wire/protocol.js';

const BATCH_BYTES = 128 * 1024;

function records(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    i,
    protocol: 'tcp',
    localAddress: '127.0.0.1',
    note: 'x'.repeat(150 + (i % 40)),
  }));
}

function harness(run: AgentCommand['run']) {
  const frames: FromAgent[] = [];
  let sentBytes = 0;
  const sender: AgentSender = {
    frame: (f) => void frames.push(f),
    raw: (json) => {
      const f = JSON.parse(json) as FromAgent;
      if (f.t === 'job.records') sentBytes += JSON.stringify(f.records).length;
      frames.push(f);
    },
    data: () => undefined,
  };
  const command: AgentCommand = { spec: findCommand('connections')!, schema: z.object({}), run };
  const runner = new JobRunner(
    new Map([['connections', command]]),
    createLinuxPlatform({ sysroot: '/' }),
    new Logger('test', 'off'),
    sender,
    {},
    () => null,
  );
  runner.handle({
    t: 'job.start',
    jobId: 'j1',
    sessionId: 's1',
    command: 'connections',
    params: {},
    cwd: '/',
    timeLimitMs: 60_000,
  });
  const batches = () => frames.flatMap((f) => (f.t === 'job.records' ? [f.records] : []));
  const end = () => frames.find((f) => f.t === 'job.end');
  return { runner, batches, end, sent: () => sentBytes };
}

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Event loop turns until `done` (bounded): how many turns the runner needs varies with the machine's load. */
const until = async (done: () => boolean, maxTurns = 5_000) => {
  for (let i = 0; i < maxTurns && !done(); i++) await new Promise((r) => setImmediate(r));
};

describe('job record stream', () => {
  it('emitMany sends the batches emit() sends, and waits for acks beyond the window', async () => {
    const all = records(30_000); // about 6 MB: several windows
    const many = harness(async (ctx) => ctx.emitMany(all));
    await until(() => many.sent() > JOB_WINDOW_BYTES / 2);
    await turns();
    // Paused: no more than the window plus the batch that crossed it is out, and the job has not ended.
    expect(many.sent()).toBeGreaterThan(JOB_WINDOW_BYTES / 2);
    expect(many.sent()).toBeLessThanOrEqual(JOB_WINDOW_BYTES + BATCH_BYTES + 4096);
    expect(many.end()).toBeUndefined();
    let acked = 0;
    for (let i = 0; i < 200 && !many.end(); i++) {
      many.runner.handle({ t: 'job.ack', jobId: 'j1', bytes: many.sent() - acked });
      acked = many.sent();
      await until(() => many.sent() > acked || many.end() !== undefined, 500);
      await turns(5);
      expect(many.sent() - acked).toBeLessThanOrEqual(JOB_WINDOW_BYTES + BATCH_BYTES + 4096);
    }
    expect(many.end()).toMatchObject({ t: 'job.end', status: 'completed' });
    expect(many.batches().flat()).toEqual(all);

    // emit() one by one, acking as it goes: the same batches.
    const one = harness(async (ctx) => {
      for (const r of all) await ctx.emit(r);
    });
    let acked1 = 0;
    for (let i = 0; i < 400 && !one.end(); i++) {
      await turns(5);
      one.runner.handle({ t: 'job.ack', jobId: 'j1', bytes: one.sent() - acked1 });
      acked1 = one.sent();
    }
    expect(one.end()).toMatchObject({ status: 'completed' });
    expect(one.batches().map((b) => b.length)).toEqual(many.batches().map((b) => b.length));
  });

  it('a cancel while the job waits for room ends it as cancelled, with no more than the queued batch sent after', async () => {
    const h = harness(async (ctx) => {
      await ctx.emitMany(records(30_000));
      ctx.signal.throwIfAborted();
    });
    await turns();
    const before = h.batches().length;
    expect(h.end()).toBeUndefined();
    h.runner.handle({ t: 'job.cancel', jobId: 'j1', reason: 'cancelled' });
    await turns();
    expect(h.end()).toMatchObject({ status: 'cancelled' });
    // The records queued when it paused still go (the runner flushes them at the end); nothing else.
    expect(h.batches().length).toBeLessThanOrEqual(before + 1);
    expect(h.batches().flat().length).toBeLessThan(10_000);
  });
});

// Data frames: a chunk from dataChunk() gets its header written in the room before it (no copy of the
// payload); any other buffer is copied behind a header. Either way the service decodes the same frame.
describe('job data frames', () => {
  it('assembles the frame in place for a dataChunk() and by copy otherwise, both decoding to the bytes sent', async () => {
    const { dataChunk } = await import('../../../src/agent/jobs.js');
    const { decodeDataFrame } = await import('../../../src/shared/wire/protocol.js');
    const sent: Buffer[] = [];
    const inPlace = dataChunk(1000).fill(9);
    const plain = Buffer.alloc(500, 4);
    const sender: AgentSender = { frame: () => undefined, raw: () => undefined, data: (f) => void sent.push(f) };
    const command: AgentCommand = {
      spec: findCommand('getfile')!,
      schema: z.object({}),
      run: async (ctx) => {
        await ctx.sendData(0, inPlace);
        await ctx.sendData(1000, plain);
      },
    };
    const runner = new JobRunner(
      new Map([['getfile', command]]),
      createLinuxPlatform({ sysroot: '/' }),
      new Logger('test', 'off'),
      sender,
      {},
      () => null,
    );
    runner.handle({
      t: 'job.start',
      jobId: 'job-7',
      sessionId: 's1',
      command: 'getfile',
      params: {},
      cwd: '/',
      timeLimitMs: 60_000,
    });
    await turns();
    expect(sent).toHaveLength(2);
    // In place: the frame is the chunk's own memory, header included.
    expect(sent[0]!.buffer).toBe(inPlace.buffer);
    expect(sent[1]!.buffer).not.toBe(plain.buffer);
    const a = decodeDataFrame(sent[0]!);
    const b = decodeDataFrame(sent[1]!);
    expect(a).toMatchObject({ jobId: 'job-7', offset: 0 });
    expect(b).toMatchObject({ jobId: 'job-7', offset: 1000 });
    expect(Buffer.from((a as { payload: Uint8Array }).payload)).toEqual(Buffer.alloc(1000, 9));
    expect(Buffer.from((b as { payload: Uint8Array }).payload)).toEqual(Buffer.alloc(500, 4));
  });
});
