/**
 * `npm run bench:batch` (`npm run bench -- batch`): one batch over 50, then 500, lightweight agents (the real agent
 * protocol, fake work: each
 * command answered with one record after BENCH_DELAY_MS) at concurrency 10, through `lr batch run`: total
 * time, per-device p50/p95, the most devices running at once, and the service's RSS before, at its peak
 * during the batch, and 2 s after. BENCH_AGENTS=50,500 and BENCH_CONCURRENCY=10 change the sizes. Session limits
 * are raised above the concurrency, so that the cap measured is the batch's own.
 */
import { cpus } from 'node:os';
import { formatBytes, formatDuration } from '../src/shared/commands/format.js';
import { runFleetBatch } from './batch-fleet.js';

export async function benchBatch(): Promise<string> {
  const sizes = (process.env.BENCH_AGENTS ?? '50,500').split(',').map(Number);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10);
  const delayMs = Number(process.env.BENCH_DELAY_MS ?? 200);
  const rows: string[] = [];
  for (const agents of sizes) {
    const r = await runFleetBatch({ agents, concurrency, delayMs });
    const completed = r.batch.counts.completed;
    rows.push(
      `| ${agents} | ${concurrency} | ${completed}/${agents} ${completed === agents && r.exitCode === 0 ? '✅' : '❌'} | ${r.maxRunning} ${r.maxRunning <= concurrency ? '✅' : '❌'} | **${formatDuration(r.totalMs)}** | ${formatDuration(r.p50Ms)} / ${formatDuration(r.p95Ms)} | ${formatBytes(r.rssBefore)} → ${formatBytes(r.rssPeak)} → ${formatBytes(r.rssAfter)} (peak +${formatBytes(r.rssPeak - r.rssBefore)}) |`,
    );
  }
  return [
    '### Batch over many devices (`npm run bench:batch`)',
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}, loopback; lightweight agents (the real agent protocol, one process) answering \`processes\` with one record after ${delayMs} ms; one \`lr batch run\` over all of them.`,
    '',
    '| devices | concurrency | completed (exit 0) | most running at once | total (created → last device) | per device p50 / p95 | service RSS before → peak → 2 s after |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    "The service writes each device's records and files to disk as they arrive, not to memory.",
    '',
  ].join('\n');
}
