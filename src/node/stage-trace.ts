/**
 * Per-stage timestamps of a command across the programs (client, service, agent), for the benchmarks'
 * breakdowns (bench/breakdown.ts): with LR_STAGE_TRACE=FILE each process appends `KEY STAGE MICROSECONDS`
 * lines to FILE, buffered and written in the background. Off by default: then a stage costs one test.
 * Times are wall-clock microseconds with sub-millisecond precision, comparable between processes of one machine.
 */
import { appendFileSync } from 'node:fs';

let file: string | undefined;
const lines: string[] = [];

export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** Records that `key` (a command id) reached `stage` at `at` (default now). */
export function stage(key: string, name: string, at?: number): void {
  if (file === undefined) return;
  lines.push(`${key} ${name} ${(at ?? nowUs()).toFixed(1)}`);
}

function flush(): void {
  if (lines.length === 0 || file === undefined) return;
  appendFileSync(file, `${lines.join('\n')}\n`);
  lines.length = 0;
}

/** Starts tracing into `to` (a benchmark tracing its own client; the programs read LR_STAGE_TRACE). */
export function enableStageTrace(to: string): void {
  if (file !== undefined) return;
  file = to;
  setInterval(flush, 250).unref();
  process.on('exit', flush);
}

const fromEnv = process.env.LR_STAGE_TRACE;
if (fromEnv) enableStageTrace(fromEnv);
