/**
 * Where the milliseconds of one `dir` round trip go: the client, the service and the agent run with
 * LR_STAGE_TRACE (src/node/stage-trace.ts) and stamp each stage of every command; the median time between
 * consecutive stages over N commands is the breakdown. Written to docs/benchmarks.md by `npm run bench -- breakdown`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib.js';

/** What each stage boundary means, for the table. */
const MEANING: Record<string, string> = {
  'client.send': 'client sends the command frame',
  'svc.submit': 'service: frame read (TLS, WebSocket, JSON, schema), session found, pipeline entered',
  'svc.checked': 'service: line parsed, role and platform checked, parameters bound',
  'svc.logged': 'service: command log insert committed (chain HMAC, fsync)',
  'client.started': 'client: command.started received',
  'svc.signed': 'service: job.start signed (Ed25519)',
  'svc.dispatched': 'service: job.start written to the agent socket',
  'svc.running': 'service: status `running` committed (fsync)',
  'agent.start': 'agent: job.start read and validated',
  'agent.verified': 'agent: signature, expiry, replay and role checked',
  'agent.run': 'agent: parameters validated, job set up',
  'agent.ran': 'agent: the command itself (readdir + lstat of 20 files)',
  'agent.ended': 'agent: records and job.end written to the socket',
  'svc.job.records': 'service: records frame read from the agent',
  'svc.job.end': 'service: job.end read from the agent',
  'svc.finish': 'service: output hashed, job closed',
  'svc.sealed': 'service: final status, output and seal committed (fsync)',
  'svc.end-sent': 'service: command.end written to the console socket',
  'client.records': 'client: records received',
  'client.end': 'client: command.end received',
};

export interface Breakdown {
  /** Stages in the order of their median offset from the client's send, with the median step before each. */
  stages: { stage: string; offsetMs: number; stepMs: number }[];
  commands: number;
}

export function analyse(traceFile: string): Breakdown {
  const byKey = new Map<string, Map<string, number>>();
  for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
    const [key, name, us] = line.split(' ');
    if (!key || !name || !us) continue;
    let m = byKey.get(key);
    if (!m) byKey.set(key, (m = new Map()));
    if (!m.has(name)) m.set(name, Number(us));
  }
  const complete = [...byKey.values()].filter((m) => m.has('client.send') && m.has('client.end') && m.has('agent.ran'));
  const names = [...new Set(complete.flatMap((m) => [...m.keys()]))];
  const offsets = names.map((n) => ({
    stage: n,
    offsetMs: median(
      complete.filter((m) => m.has(n)).map((m) => ((m.get(n) as number) - (m.get('client.send') as number)) / 1000),
    ),
  }));
  offsets.sort((a, b) => a.offsetMs - b.offsetMs);
  const stages = offsets.map((o, i) => {
    if (i === 0) return { ...o, stepMs: 0 };
    const prev = (offsets[i - 1] as { stage: string }).stage;
    const steps = complete
      .filter((m) => m.has(o.stage) && m.has(prev))
      .map((m) => ((m.get(o.stage) as number) - (m.get(prev) as number)) / 1000);
    return { ...o, stepMs: median(steps) };
  });
  return { stages, commands: complete.length };
}

export function renderBreakdown(b: Breakdown, title: string): string {
  const rows = b.stages.map(
    (s) => `| ${s.stage} | ${MEANING[s.stage] ?? ''} | ${s.stepMs.toFixed(3)} | ${s.offsetMs.toFixed(3)} |`,
  );
  return [
    title,
    '',
    '| stage reached | what happened since the previous stage | median step (ms) | median time since send (ms) |',
    '|---|---|---|---|',
    ...rows,
    '',
    `${b.commands} commands traced.`,
    '',
  ].join('\n');
}

/** A trace file for child processes (set before the world starts them) and its cleanup. */
export function traceFile(): { file: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'lr-stage-trace-'));
  const file = join(dir, 'stages.txt');
  writeFileSync(file, '');
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `npm run bench -- breakdown`: N `dir` round trips traced, next to the same in an open ssh session. */
export async function benchBreakdown(): Promise<string> {
  const { ConsoleClient } = await import('../src/client/console-client.js');
  const { profileSchema } = await import('../src/node/profile.js');
  const { enableStageTrace } = await import('../src/node/stage-trace.js');
  const { createWorld, percentile, timeAsync } = await import('./lib.js');
  const rounds = Number(process.env.BENCH_BREAKDOWN_ROUNDS ?? 500);
  const trace = traceFile();
  process.env.LR_STAGE_TRACE = trace.file; // the service and agent started below inherit it
  enableStageTrace(trace.file);
  const w = await createWorld();
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-breakdown-'));
  try {
    await w.addAgent('bench');
    for (let i = 0; i < 20; i++) writeFileSync(join(work, `f${i}.txt`), 'x');
    const c = await ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8'))));
    const session = await c.openSession('bench');
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      times.push(
        await timeAsync(async () => {
          const o = await c.run(session.id, `dir "${work}"`).outcome;
          if (o.status !== 'completed') throw new Error(`dir: ${o.status} ${o.error ?? ''}`);
        }),
      );
    }
    c.close();
    await w.cleanup(); // the programs flush their traces as they exit
    await new Promise((r) => setTimeout(r, 500));
    const b = analyse(trace.file);
    return `${renderBreakdown(b, `### One \`dir\` round trip, stage by stage (median of ${rounds}; whole round trip p50 ${median(times).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms)`)}\n`;
  } finally {
    delete process.env.LR_STAGE_TRACE;
    rmSync(work, { recursive: true, force: true });
    trace.done();
  }
}
