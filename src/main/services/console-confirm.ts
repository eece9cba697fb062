/**
 * The workstation's y/N before a response action: `remediate` (not `remediate list`), `isolate` and
 * `release` typed in a console first show their target as the device sees it, then ask. A file shows its
 * path, size and SHA-256 (`fileinfo`), a process its pid, name, user and command line (`processes`), isolate
 * and release the device and what happens to its network. Only `y` or `yes` runs the command as typed;
 * anything else, Enter or Ctrl+C answers no, and the console says nothing was done.
 *
 * The look-ups are real commands run quietly in the session (they appear in the command log, as the `dir`
 * of path completion does); the action itself runs only after the answer. The renderer shows the question
 * as its prompt (ConsoleItem `question`) and sends the next line typed as the answer (`lr:sessions.run`),
 * Enter alone and Ctrl+C as a cancel (`lr:sessions.cancel`). The `lr` CLI does not ask: scripts keep
 * `-force` as their only switch.
 */
import type { ConsoleClient } from '../../client/index.js';
import { bindParams } from '../../shared/commands/bind.js';
import { findCommand } from '../../shared/commands/catalog.js';
import { formatBytes } from '../../shared/commands/format.js';
import { parseLine, quoteArg } from '../../shared/commands/grammar.js';
import type { ConsoleItem } from '../../shared/workstation/ipc-contract.js';
import { quietRecords } from './quiet-command.js';
import { describeError } from '../../shared/errors.js';

/** How long the device has to describe the target before the question is asked without it. */
const DESCRIBE_TIMEOUT_MS = 30_000;
/** At most this many processes are listed when a Windows image name matches several. */
const MAX_PROCESSES_SHOWN = 5;

export interface ConfirmHost {
  readonly sessionId: string;
  readonly deviceName: string;
  readonly client: ConsoleClient;
  add(item: ConsoleItem): void;
  /** Runs the confirmed line as if it had been typed (without asking again). */
  run(line: string): void;
}

/** What the analyst is asked about: the command as typed, its target's kind and value. */
export interface ConfirmTarget {
  line: string;
  command: 'remediate' | 'isolate' | 'release';
  type?: string;
  target?: string;
  /** The file's SHA-256 as shown in the question: `y` runs the line pinned to it (`-sha256`). */
  sha256?: string;
}

/**
 * The line `y` runs: for a file, pinned to the SHA-256 the analyst was shown, so a file swapped between the
 * question and the answer is refused by the agent. A line with a redirect or `&` (rare for remediate) runs
 * as typed: appending to it could land inside them.
 */
export function pinnedLine(t: ConfirmTarget): string {
  if (t.type !== 'file' || t.sha256 === undefined || /(^|\s)-sha256(\s|$)/.test(t.line) || />|&\s*$/.test(t.line))
    return t.line;
  return `${t.line.trimEnd()} -sha256 ${t.sha256}`;
}

/** Whether `line` is a response action the workstation asks about first, and its target; null otherwise. */
export function confirmTarget(line: string): ConfirmTarget | null {
  try {
    const parsed = parseLine(line);
    if (parsed.name !== 'isolate' && parsed.name !== 'release' && parsed.name !== 'remediate') return null;
    const spec = findCommand(parsed.name);
    if (!spec) return null;
    // A line the service would refuse anyway (bad parameters) is left to it: nothing to confirm.
    const bound = bindParams(spec, parsed);
    if (parsed.name !== 'remediate') return { line, command: parsed.name };
    if (bound.type === 'list' || typeof bound.target !== 'string') return null;
    return { line, command: 'remediate', type: String(bound.type), target: bound.target };
  } catch {
    return null;
  }
}

/** Only `y` and `yes` (any case, spaces around) mean yes. */
export function isYes(answer: string): boolean {
  return /^\s*(y|yes)\s*$/i.test(answer);
}

/** The lines of the question that describe a file, from its `fileinfo` record. */
export function describeFile(target: string, record: Record<string, unknown> | undefined, problem?: string): string[] {
  if (!record) return [`  path     ${target}`, `  size     ? (${problem ?? 'the device did not describe it'})`];
  const size = typeof record.size === 'number' ? record.size : undefined;
  return [
    `  path     ${typeof record.path === 'string' ? record.path : target}`,
    `  size     ${size === undefined ? '?' : `${size} bytes${size >= 1024 ? ` (${formatBytes(size)})` : ''}`}${typeof record.type === 'string' && record.type !== 'file' ? `, ${record.type}` : ''}`,
    `  sha256   ${typeof record.sha256 === 'string' && record.sha256 !== '' ? record.sha256 : '?'}`,
  ];
}

/** The lines of the question that describe the processes a `remediate process` target names. */
export function describeProcesses(
  target: string,
  records: readonly Record<string, unknown>[],
  problem?: string,
): string[] {
  if (records.length === 0) return [`  process  ${target}: ${problem ?? 'no such process on the device now'}`];
  const out: string[] = [];
  for (const p of records.slice(0, MAX_PROCESSES_SHOWN)) {
    const cmdline = Array.isArray(p.cmdline)
      ? p.cmdline.map(String).join(' ')
      : typeof p.cmdline === 'string'
        ? p.cmdline
        : '';
    out.push(
      `  pid      ${String(p.pid)}  ${String(p.name ?? '?')}${typeof p.user === 'string' ? ` (user ${p.user})` : ''}`,
    );
    out.push(`  command  ${cmdline || (typeof p.path === 'string' ? p.path : '?')}`);
  }
  if (records.length > MAX_PROCESSES_SHOWN)
    out.push(`  ... and ${records.length - MAX_PROCESSES_SHOWN} more processes named ${target}`);
  return out;
}

/** What the command does, in the analyst's words, for the line under the target. */
function consequence(t: ConfirmTarget, device: string): string {
  if (t.command === 'isolate')
    return `  network  ${device} is cut off the network: every connection except to the live response service is dropped until release`;
  if (t.command === 'release')
    return `  network  ${device} is released from isolation: its firewall rules are removed and it reaches every host again`;
  const undo = `undo ${t.type ?? ''} ${quoteArg(t.target ?? '')} puts it back`;
  switch (t.type) {
    case 'file':
      return `  action   the file is moved into the agent's quarantine (${undo})`;
    case 'process':
      return `  action   the process is stopped and its image quarantined unless it is a system binary (-auto: its whole tree)`;
    default:
      return `  action   ${t.type ?? ''} ${t.target ?? ''} is disabled and what defines it quarantined (${undo})`;
  }
}

interface Pending {
  target: ConfirmTarget;
  phase: 'reading' | 'asking';
}

export class ConsoleConfirm {
  private pending: Pending | undefined;

  constructor(private readonly host: ConfirmHost) {}

  /** Whether a question is being prepared or waits for its answer. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Takes `line` when it is the answer to the question, or a response action to ask about (the look-up
   * starts); returns false for any other line, which the console runs as usual.
   */
  intercept(line: string): boolean {
    const pending = this.pending;
    if (pending?.phase === 'asking') {
      this.pending = undefined;
      if (isYes(line)) this.host.run(pinnedLine(pending.target));
      else this.declined(pending.target, `answered ${JSON.stringify(line.trim())}`);
      return true;
    }
    if (pending) throw new Error('a command is running: Ctrl+C cancels it, Ctrl+Z sends it to the background');
    const target = confirmTarget(line);
    if (!target) return false;
    const next: Pending = { target, phase: 'reading' };
    this.pending = next;
    void this.ask(next);
    return true;
  }

  /** Ctrl+C, or Enter alone, while preparing or asking: no. Returns false when there was no question. */
  cancel(): boolean {
    const pending = this.pending;
    if (!pending) return false;
    this.pending = undefined;
    this.declined(pending.target, pending.phase === 'reading' ? 'cancelled' : 'answered no');
    return true;
  }

  /** The session ended: a question left open is forgotten (the console says the session is closed). */
  reset(): void {
    this.pending = undefined;
  }

  private declined(t: ConfirmTarget, how: string): void {
    this.host.add({
      type: 'end',
      status: 'cancelled',
      error: `${how}: ${t.line} was not run, nothing was done on ${this.host.deviceName}`,
      durationMs: 0,
      background: false,
    });
  }

  private async ask(pending: Pending): Promise<void> {
    const t = pending.target;
    const lines = [
      `${t.line} on ${this.host.deviceName}:`,
      ...(await this.describe(t)),
      consequence(t, this.host.deviceName),
    ];
    if (this.pending !== pending) return; // cancelled meanwhile
    pending.phase = 'asking';
    this.host.add({ type: 'question', lines, prompt: `run it? [y/N] ` });
  }

  private async describe(t: ConfirmTarget): Promise<string[]> {
    if (t.command !== 'remediate') return [`  device   ${this.host.deviceName}`];
    const target = t.target ?? '';
    if (t.type === 'file') {
      try {
        const record = (await this.records(`fileinfo ${quoteArg(target)} -output json`))[0];
        if (typeof record?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(record.sha256)) t.sha256 = record.sha256;
        return describeFile(target, record);
      } catch (e) {
        return describeFile(target, undefined, describeError(e));
      }
    }
    if (t.type === 'process') {
      const query = /^\d+$/.test(target)
        ? `processes -pid ${target} -output json`
        : `processes -name ${quoteArg(target)} -output json`;
      try {
        return describeProcesses(target, await this.records(query));
      } catch (e) {
        return describeProcesses(target, [], describeError(e));
      }
    }
    return [`  ${(t.type ?? '').padEnd(8)} ${target}`];
  }

  /** Runs a look-up command quietly; resolves with its records, or rejects with its one-line error. */
  private records(line: string): Promise<Record<string, unknown>[]> {
    return quietRecords(this.host.client, this.host.sessionId, line, {
      timeoutMs: DESCRIBE_TIMEOUT_MS,
      timeoutMessage: `the device did not answer ${line.split(' ')[0] ?? ''} within ${DESCRIBE_TIMEOUT_MS / 1000} s`,
    });
  }
}
