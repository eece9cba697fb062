/**
 * `lr batch run|list|show|cancel|results`: one command line (or a few, in order) over many devices, each in
 * its own session, run by the service (it keeps going when `lr` stops waiting). `run` follows the devices
 * until every one is final and exits 0 only when every device completed (docs/batch.md, exit codes).
 */
import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BatchApi } from '../client/index.js';
import { localNameFor } from '../node/file-download.js';
import type { Profile } from '../node/profile.js';
import {
  BATCH_TARGET_STATUSES,
  MAX_BATCH_CONCURRENCY,
  MAX_BATCH_EXPIRY_SEC,
  isFinalTarget,
  type BatchRecord,
  type BatchSelector,
  type BatchTargetRecord,
} from '../shared/wire/batch.js';
import { csvTable } from '../shared/csv.js';
import { formatDuration, renderJson, renderTable } from '../shared/commands/format.js';
import { formatInstant } from '../shared/time-format.js';
import { CliError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, parseDuration, serviceAction } from './errors.js';
import { describeError } from '../shared/errors.js';

const POLL_MS = 1000;
const FILTER_KEYS = ['os', 'name', 'online'] as const;

/** `os=linux,name=web-*,online=true` → selector fields; unknown keys and malformed pairs are refused. */
export function parseFilter(text: string): Pick<BatchSelector, 'os' | 'name' | 'online'> {
  const out: Pick<BatchSelector, 'os' | 'name' | 'online'> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (eq < 1 || value === '')
      throw new CliError(`--filter: expected key=value, not ${JSON.stringify(pair)} (keys: ${FILTER_KEYS.join(', ')})`);
    if (!(FILTER_KEYS as readonly string[]).includes(key))
      throw new CliError(`--filter: unknown key ${JSON.stringify(key)} (keys: ${FILTER_KEYS.join(', ')})`);
    if (key in out) throw new CliError(`--filter: ${key} given twice`);
    if (key === 'online') {
      if (value !== 'true' && value !== 'false')
        throw new CliError(`--filter: online is true or false, not ${JSON.stringify(value)}`);
      out.online = value === 'true';
    } else out[key as 'os' | 'name'] = value;
  }
  return out;
}

export interface RunOptions {
  devices?: string;
  group?: string;
  tag?: string;
  filter?: string;
  concurrency?: string;
  expires?: string;
  comment?: string;
  wait: boolean;
  json?: boolean;
}

/** The selector from the options; at least one is needed (several narrow the set: a device must match all). */
export function selectorOf(o: RunOptions): BatchSelector {
  const s: BatchSelector = {};
  if (o.devices !== undefined) {
    const names = o.devices.split(',').map((d) => d.trim());
    if (names.some((n) => n === ''))
      throw new CliError(`--devices: an empty device name in ${JSON.stringify(o.devices)}`);
    s.devices = [...new Set(names)];
  }
  if (o.group !== undefined) s.group = o.group;
  if (o.tag !== undefined) s.tag = o.tag;
  if (o.filter !== undefined) Object.assign(s, parseFilter(o.filter));
  if (Object.keys(s).length === 0)
    throw new CliError(
      'choose the devices: --devices a,b, --group NAME, --tag TAG or --filter os=linux,name=web-*,online=true',
    );
  return s;
}

export function concurrencyOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_BATCH_CONCURRENCY)
    throw new CliError(`--concurrency: a whole number from 1 to ${MAX_BATCH_CONCURRENCY}, not ${JSON.stringify(text)}`);
  return n;
}

export function expiryOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new CliError(`--expires: ${describeError(e)}`);
  }
  const sec = Math.ceil(ms / 1000);
  if (sec > MAX_BATCH_EXPIRY_SEC) throw new CliError(`--expires: at most ${MAX_BATCH_EXPIRY_SEC / 86_400}d`);
  return sec;
}

/** Why steps that ran did not complete (a step that never ran says only why not: the note has it). */
function stepErrors(t: BatchTargetRecord): string {
  return t.steps
    .filter((s) => s.error && s.status !== 'not-run')
    .map((s) => (t.steps.length > 1 ? `step ${s.index + 1}: ${s.error}` : (s.error as string)))
    .join('; ');
}

/** One line of progress: `web-1  completed  0.4 s  12 rows`, `db-2  queued  offline since …`. */
export function progressLine(t: BatchTargetRecord, nameWidth: number): string {
  const parts = [t.deviceName.padEnd(nameWidth), t.status.padEnd(15)];
  if (t.durationMs !== undefined && t.status !== 'queued') parts.push(formatDuration(t.durationMs));
  if (isFinalTarget(t.status) && t.status !== 'offline-expired') parts.push(`${t.rows} row${t.rows === 1 ? '' : 's'}`);
  // The engine's note usually already names the failing step and its error: not said twice.
  const errors = stepErrors(t);
  const why = [t.note, errors && !t.note?.includes(errors.replace(/^step \d+: /, '')) ? errors : '']
    .filter(Boolean)
    .join('; ');
  if (why) parts.push(why);
  return parts.join('  ').trimEnd();
}

export function summaryLine(b: BatchRecord): string {
  const counts = BATCH_TARGET_STATUSES.filter((s) => b.counts[s] > 0).map((s) => `${b.counts[s]} ${s}`);
  return `batch ${b.id} ${b.status}: ${b.targets.length} device${b.targets.length === 1 ? '' : 's'}, ${counts.join(', ')}`;
}

/** 0 when every device completed; 1 otherwise (failed, refused, cancelled or offline-expired devices). */
export function exitCodeOf(b: BatchRecord): number {
  return b.status === 'completed' ? EXIT_OK : EXIT_FAILED;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints each device's line when its status (or note) changes, until the batch ends or Ctrl+C. */
async function follow(api: BatchApi, first: BatchRecord, write: (s: string) => void): Promise<BatchRecord | null> {
  const seen = new Map<string, string>();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    let b = first;
    for (;;) {
      const width = Math.max(...b.targets.map((t) => t.deviceName.length), 6);
      for (const t of b.targets) {
        const key = `${t.status}|${t.note ?? ''}`;
        if (seen.get(t.deviceId) === key) continue;
        seen.set(t.deviceId, key);
        write(progressLine(t, width) + '\n');
      }
      if (b.status !== 'running') return b;
      for (let waited = 0; waited < POLL_MS && !interrupted; waited += 100) await sleep(100);
      if (interrupted) return null;
      b = await api.get(b.id);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function showTable(b: BatchRecord, width: number | undefined): string {
  const rows = b.targets.map((t) => ({
    device: t.deviceName,
    status: t.status,
    duration: t.durationMs === undefined ? '' : formatDuration(t.durationMs),
    rows: t.rows,
    note: t.note ?? '',
    errors: stepErrors(t),
  }));
  return renderTable(rows, ['device', 'status', 'duration', 'rows', 'note', 'errors'], { maxWidth: width });
}

export function registerBatchCommands(program: Command, loadProfile: () => Profile): void {
  const api = () => new BatchApi(loadProfile());
  const out = (s: string) => process.stdout.write(s);
  const width = () => process.stdout.columns;
  const batch = program
    .command('batch')
    .description('one command line over many devices: run, list, show, cancel, results (docs/batch.md)');

  batch
    .command('run')
    .description(
      'runs command lines on a set of devices, each in its own session; waits and shows each device as it goes (exit 0: every device completed)',
    )
    .argument(
      '<lines...>',
      'console command lines, quoted, run in order on each device (a failing one stops the next ones)',
    )
    .option('--devices <names>', 'device names or ids, comma-separated')
    .option('--group <name>', "a device group's members")
    .option('--tag <tag>', 'devices with this tag')
    .option('--filter <criteria>', 'os=linux, name=web-* and/or online=true, comma-separated (a device must match all)')
    .option('--concurrency <n>', 'devices running at once (default 10)')
    .option(
      '--expires <duration>',
      'how long a device may wait (offline, or held by another analyst): 90m, 12h, 3d (default 3d)',
    )
    .option('--comment <text>', 'why (kept with the batch)')
    .option('--no-wait', 'print the batch id and return at once (the service runs it)')
    .option('--json', 'print the final batch record as JSON instead of progress lines')
    .action(
      serviceAction(async (lines: string[], o: RunOptions) => {
        const target = selectorOf(o);
        const concurrency = concurrencyOf(o.concurrency);
        const expiresInSec = expiryOf(o.expires);
        const a = api();
        const created = await a.create({
          commands: lines,
          target,
          ...(concurrency ? { concurrency } : {}),
          ...(expiresInSec ? { expiresInSec } : {}),
          ...(o.comment ? { comment: o.comment } : {}),
        });
        const log = o.json ? (s: string) => process.stderr.write(s) : out;
        log(
          `batch ${created.id}: ${created.targets.length} device${created.targets.length === 1 ? '' : 's'}, ${created.commands.map((c) => JSON.stringify(c)).join(' then ')}\n`,
        );
        if (!o.wait) {
          if (o.json) out(JSON.stringify(created, null, 2) + '\n');
          return;
        }
        const done = await follow(a, created, o.json ? () => undefined : out);
        if (!done) {
          process.stderr.write(
            `\nlr: stopped waiting; batch ${created.id} goes on in the service (lr batch show ${created.id} to follow it, lr batch cancel ${created.id} to stop it)\n`,
          );
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (o.json) out(JSON.stringify(done, null, 2) + '\n');
        else out(summaryLine(done) + '\n');
        process.exitCode = exitCodeOf(done);
      }),
    );

  batch
    .command('list')
    .description('the newest batches: id, status, who, when, commands, device counts')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'JSON output')
    .action(
      serviceAction(async (o: { limit: string; json?: boolean }) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new CliError('--limit: a whole number from 1 to 1000');
        const items = await api().list(limit);
        if (o.json) return void out(renderJson(items) + '\n');
        const rows = items.map((b) => ({
          id: b.id,
          status: b.status,
          createdBy: b.createdBy,
          createdAt: b.createdAt,
          devices: BATCH_TARGET_STATUSES.reduce((n, s) => n + b.counts[s], 0),
          progress: BATCH_TARGET_STATUSES.filter((s) => b.counts[s] > 0)
            .map((s) => `${b.counts[s]} ${s}`)
            .join(', '),
          commands: b.commands.join(' ; '),
        }));
        out(
          renderTable(rows, ['id', 'status', 'createdBy', 'createdAt', 'devices', 'progress', 'commands'], {
            maxWidth: width(),
          }) + '\n',
        );
      }),
    );

  batch
    .command('show')
    .description("a batch's devices: status, duration, rows, note (why it waits), step errors")
    .argument('<id>', 'batch id')
    .option('--json', 'JSON output (every field, steps and their command log ids included)')
    .action(
      serviceAction(async (id: string, o: { json?: boolean }) => {
        const b = await api().get(id);
        if (o.json) return void out(JSON.stringify(b, null, 2) + '\n');
        out(`${summaryLine(b)}\n`);
        out(
          `created by ${b.createdBy} at ${formatInstant(b.createdAt, 'UTC')}${b.comment ? ` (${b.comment})` : ''}; waits for devices until ${formatInstant(b.expiresAt, 'UTC')}; concurrency ${b.concurrency}${b.cancelledBy ? `; cancelled by ${b.cancelledBy}` : ''}\n`,
        );
        b.commands.forEach((c, i) => out(`step ${i + 1}: ${c}\n`));
        out(showTable(b, width()) + '\n');
      }),
    );

  batch
    .command('cancel')
    .description("stops every device's work: queued devices never start, running commands are cancelled")
    .argument('<id>', 'batch id')
    .action(
      serviceAction(async (id: string) => {
        const b = await api().cancel(id);
        out(summaryLine(b) + '\n');
      }),
    );

  batch
    .command('results')
    .description(
      'every device\'s records in one table with a "device" column; with --out, also the files pulled, checked against their SHA-256',
    )
    .argument('<id>', 'batch id')
    .option('--csv', 'CSV output')
    .option('--json', 'JSON output')
    .option('--device <name>', 'only this device (name or id)')
    .option('--out <dir>', 'write results.csv and results.json, and each pulled file under DIR/<device>/')
    .action(
      serviceAction(async (id: string, o: { csv?: boolean; json?: boolean; device?: string; out?: string }) => {
        if (o.csv && o.json) throw new CliError('--csv or --json, not both');
        const a = api();
        const r = await a.results(id, { device: o.device });
        if (o.out === undefined) {
          if (o.csv) out(await a.resultsCsv(id, { device: o.device }));
          else if (o.json) out(JSON.stringify(r, null, 2) + '\n');
          else out((r.rows.length ? renderTable(r.rows, r.columns, { maxWidth: width() }) : 'no records') + '\n');
          if (r.truncated.length)
            process.stderr.write(
              `lr: records cut at the service's limit for ${r.truncated.join(', ')} (the command log keeps their size and hash)\n`,
            );
          if (r.files.length)
            process.stderr.write(
              `lr: ${r.files.length} file${r.files.length === 1 ? '' : 's'} pulled: lr batch results ${id} --out DIR saves them, checked against their SHA-256\n`,
            );
          return;
        }
        const dir = resolve(o.out);
        mkdirSync(dir, { recursive: true });
        if (!o.json) {
          writeFileSync(join(dir, 'results.csv'), csvTable(r.columns, r.rows));
          out(`${join(dir, 'results.csv')}  ${r.rows.length} rows\n`);
        }
        if (!o.csv) {
          writeFileSync(join(dir, 'results.json'), JSON.stringify(r, null, 2) + '\n');
          out(`${join(dir, 'results.json')}  ${r.rows.length} rows\n`);
        }
        let bad = 0;
        for (const f of r.files) {
          const deviceDir = join(dir, localNameFor(f.device));
          mkdirSync(deviceDir, { recursive: true });
          const file = join(
            deviceDir,
            r.files.filter((g) => g.deviceId === f.deviceId).length > 1
              ? `${f.step + 1}-${localNameFor(f.name)}`
              : localNameFor(f.name),
          );
          try {
            // Checked against the hash the batch recorded (the service checked it against the agent's).
            const got = await a.downloadFile(id, f.deviceId, f.step, file, f.sha256);
            out(`${file}  ${got.size} bytes  sha256 ${got.sha256}\n`);
          } catch (e) {
            bad++;
            process.stderr.write(`lr: ${f.device} step ${f.step + 1}: ${describeError(e)}\n`);
          }
        }
        if (bad) throw new CliError(`${bad} of ${r.files.length} files could not be saved`, EXIT_FAILED);
      }),
    );
}
