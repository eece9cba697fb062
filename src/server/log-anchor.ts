/**
 * The command log's anchor outside the database: DATA/log-chain.head, next to the chain key (mode 0600,
 * written atomically, HMAC'd with the log key). It keeps what an editor of the database must not be able
 * to roll back (log-chain.ts):
 * - `head`: the last entry chained (seq, id, chain). A log whose end was cut (last entries deleted and
 *   `sqlite_sequence` rewritten so that no gap shows) no longer reaches it.
 * - `live`: the seqs of the entries chained but not sealed yet (commands running). At the next start only
 *   these, and entries chained after `head` was written, are sealed `failed` as left by a crash: an
 *   entry whose seal an editor removed is not among them and is reported instead.
 * - the file itself marks the log as chained: a legacy log (written before the chain) is adopted at most
 *   once, when neither this file nor any chained entry exists; `adoptedLegacy` records how many entries.
 * - `incidents`: what a start found wrong (the end cut, this file altered); every verify reports them.
 *
 * It is rewritten after the transactions that change it, at most every ANCHOR_DELAY_MS and off the event
 * loop, without fsync: replacing a file by rename costs milliseconds on ext4 (the new data is flushed),
 * which the command's round trip must not wait for. After a crash or a power cut it may therefore be
 * behind the database (entries chained after it), never ahead, since it is written after the commit.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../shared/wire/command-signature.js';
import { writeSecretFile } from '../node/files.js';
import { describeError } from '../shared/errors.js';

export interface AnchorHead {
  seq: number;
  id: string;
  chain: string;
}

export interface AnchorIncident {
  at: string;
  seq: number;
  id: string;
  problem: 'modified' | 'deleted' | 'reordered';
  detail: string;
}

export interface AnchorState {
  head: AnchorHead | null;
  live: number[];
  adoptedLegacy: number;
  incidents: AnchorIncident[];
}

export type AnchorRead = { kind: 'absent' } | { kind: 'ok'; state: AnchorState } | { kind: 'bad'; detail: string };

/** How long changes gather before the anchor is rewritten (the end of the log is anchored this much later). */
export const ANCHOR_DELAY_MS = 100;

export function logAnchorPath(dataDir: string): string {
  return join(dataDir, 'log-chain.head');
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function parseState(v: Record<string, unknown>): AnchorState | null {
  const head = v.head as Record<string, unknown> | null;
  if (
    head !== null &&
    (typeof head !== 'object' || !isInt(head.seq) || typeof head.id !== 'string' || typeof head.chain !== 'string')
  )
    return null;
  if (!Array.isArray(v.live) || !v.live.every(isInt) || !isInt(v.adoptedLegacy) || !Array.isArray(v.incidents))
    return null;
  const incidents = v.incidents as AnchorIncident[];
  if (
    !incidents.every(
      (i) =>
        typeof i === 'object' &&
        i !== null &&
        isInt(i.seq) &&
        typeof i.id === 'string' &&
        typeof i.detail === 'string' &&
        typeof i.at === 'string' &&
        ['modified', 'deleted', 'reordered'].includes(i.problem),
    )
  )
    return null;
  return { head: head as AnchorHead | null, live: v.live as number[], adoptedLegacy: v.adoptedLegacy, incidents };
}

export class LogAnchor {
  constructor(
    readonly file: string,
    /** HMAC with the log key (LogChain.mac). */
    private readonly mac: (parts: string[]) => string,
  ) {}

  private macOf(state: AnchorState): string {
    return this.mac(['lr-log-head:v1', canonicalJson(state)]);
  }

  read(): AnchorRead {
    if (!existsSync(this.file)) return { kind: 'absent' };
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      return { kind: 'bad', detail: `unreadable (${describeError(e).split('\n')[0]})` };
    }
    const state = typeof v === 'object' && v !== null && v.v === 1 ? parseState(v) : null;
    if (!state) return { kind: 'bad', detail: 'not a v1 anchor' };
    if (v.mac !== this.macOf(state))
      return { kind: 'bad', detail: 'its MAC does not match (edited, or written with another key)' };
    return { kind: 'ok', state };
  }

  private content(state: AnchorState): string {
    return JSON.stringify({ v: 1, ...state, mac: this.macOf(state) }) + '\n';
  }

  write(state: AnchorState): void {
    writeSecretFile(this.file, this.content(state));
  }

  /** The same, without blocking the event loop (one at a time: LogChain never overlaps them). */
  async writeAsync(state: AnchorState): Promise<void> {
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, this.content(state), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }

  /** Keeps a bad anchor as evidence (DATA/log-chain.head.bad-<time>); answers its new name. */
  setAside(): string {
    const to = `${this.file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(this.file, to);
    return to;
  }
}
