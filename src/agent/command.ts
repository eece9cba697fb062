/**
 * The contract of one agent console command. Each file in ./commands exports one AgentCommand whose
 * `spec` is its catalog entry (role, time limit, help: shared with the service and the clients), whose
 * `schema` validates the bound parameters (derived from that entry: command-params.ts), and whose `run` does the work
 * for real.
 */
import type { z } from 'zod';
import type { CommandSpec } from '../shared/commands/catalog.js';
import type { ParamsAgree, ParamsOfSpec } from '../shared/commands/command-params.js';
import type { PlatformLayer } from './platform/types.js';

export type JobRecord = Record<string, unknown>;

export type TraceLevel = 'off' | 'error' | 'warn' | 'info' | 'debug';

export interface JobContext {
  /** The session's current directory on the device (absolute). */
  cwd: string;
  /** Aborted on cancel, time limit or session close: long work must check it and stop. */
  signal: AbortSignal;
  /** Emits one structured record. Awaiting it applies backpressure (resolves when the link has room). */
  emit(record: JobRecord): Promise<void>;
  /**
   * Emits records in order: the same as emit() for each (same batches, same backpressure) without an
   * await per record, for listings of thousands of rows. Stops early when the job is aborted.
   */
  emitMany(records: readonly JobRecord[]): Promise<void>;
  /** Emits free text (script output, messages). Same backpressure. */
  text(chunk: string): Promise<void>;
  /**
   * Sends file bytes at `offset` as a binary data frame (file transfers). Resolves when the transfer
   * window has room: this is what keeps a 3 GB download out of memory on every hop.
   */
  sendData(offset: number, chunk: Buffer): Promise<void>;
  /** Trace line for this session (shown when `trace` is on). */
  trace(level: Exclude<TraceLevel, 'off'>, message: string): void;
  /** The OS layer: the only place that knows Linux/macOS/Windows. */
  platform: PlatformLayer;
  /** Resolves a device path against the session's cwd. */
  resolvePath(p: string): string;
  /** The agent's data folder (working folder for putfile, private temp folders for run). */
  dataDir?: string;
  /** The job's id (the command ID in the service's log): response actions record it. */
  jobId?: string;
  /**
   * How to reach the service for file downloads (putfile, run) and isolation: its URL(s), pinned CA and our device id.
   */
  service?: ServiceEndpoint;
}

export interface ServiceEndpoint {
  /** The primary service URL (the first node). */
  url: string;
  /** Every node of the service (a cluster shares one CA and one library), `url` first; absent means just `url`. */
  urls?: readonly string[];
  ca: string;
  deviceId: string;
  /** The node the agent is connected to now (null while offline): downloads go there when they can. */
  currentUrl?: () => string | null;
  /** Signs a one-time download token with the device key (base64): the service serves its file to this device only. */
  proveDownload?: (token: string) => string;
}

export interface CommandResult {
  /** New session cwd (cd). */
  cwd?: string;
}

/** A failure whose message is shown to the analyst as one line (no stack). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: string = 'failed',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface AgentCommand<S extends z.ZodType = z.ZodType> {
  spec: CommandSpec;
  schema: S;
  run(ctx: JobContext, params: z.infer<S>): Promise<CommandResult | void>;
}

/**
 * An agent command for its catalog entry (`commandSpec('dir')`). Its schema is `paramsSchema(spec)`,
 * extended where the command checks more: one whose parameters differ from the catalog's (a name, a type,
 * which are required) does not compile, so a parameter is added or changed in the catalog alone.
 */
export function defineCommand<const Spec extends CommandSpec, S extends z.ZodType>(cmd: {
  spec: Spec;
  schema: S &
    (ParamsAgree<z.infer<S>, ParamsOfSpec<Spec>> extends true ? unknown : ParamsAgree<z.infer<S>, ParamsOfSpec<Spec>>);
  run(ctx: JobContext, params: z.infer<S>): Promise<CommandResult | void>;
}): AgentCommand<S> {
  return cmd as AgentCommand<S>;
}
