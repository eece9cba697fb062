/**
 * Where the REST log routes read, verify and export the command log: this node's own (the store and its hash
 * chain), or, in a cluster, every node's (cluster/log-verify.ts implements it over the LR_LOG stream and the
 * mirrored read model). The core defines what it needs here; the composition root picks the implementation.
 */
import type { ServerResponse } from 'node:http';
import type { CommandLogView } from './command-log-view.js';
import type { LogChain, LogVerifyReport } from './log-chain.js';

export type CommandLogReader = Pick<CommandLogView, 'getCommand' | 'listCommands' | 'queryCommands' | 'commandFacets'>;

export interface CommandLogSource {
  /** The entries as `lr log` and the log viewer read them. */
  readonly view: CommandLogReader;
  /** Resolves when the view holds this node's latest writes (bounded: read-your-writes for `lr log`). */
  ready(): Promise<void>;
  /** `lr log verify`: in a cluster the report lists every node too. */
  verify(): Promise<LogVerifyReport & { nodes?: unknown[] }>;
  /** The SIEM export as JSON lines, entries after `afterSeq`. */
  exportJsonl(res: ServerResponse, afterSeq: number): Promise<void>;
}

/** A single node: the store's own log, verified and exported by its chain; always current. */
export function nodeCommandLog(view: CommandLogReader, chain: LogChain): CommandLogSource {
  return {
    view,
    ready: () => Promise.resolve(),
    verify: () => Promise.resolve(chain.verify()),
    exportJsonl: (res, afterSeq) => chain.exportJsonl(res, afterSeq),
  };
}
