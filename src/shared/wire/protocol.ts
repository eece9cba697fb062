/**
 * Wire protocol between the service and its peers, validated with zod at every boundary.
 * Agent link: WebSocket /api/v1/agent. Analyst console: WebSocket /api/v1/console. JSON text frames.
 * Every schema is strict about sizes so a hostile peer cannot make either side allocate without bound.
 *
 * Which key names a message's kind, and why each stays as it is:
 * - `t`: the frames of this file (agent link, analyst console). Old agents and consoles talk to new
 *   services, so these frames stay byte-identical; a rename here would need a new protocol version.
 * - `k`: the NATS header naming an output message's kind between cluster nodes (cluster/agent-router.ts);
 *   nodes of two versions meet during a rolling upgrade.
 * - `kind`: files on disk (connection profile, enrollment bundle, agent config): files written by
 *   older versions must still load.
 * - `type`: everything in one process or one build: workstation events (LrEvent), console items and
 *   replay entries (ipc-contract.ts), a job's output between the agent hub and the cluster router
 *   (RemoteOutput); also the Defender-compatible machine actions, whose format is not ours.
 * New in-process unions use `type`.
 */
import { z } from 'zod';
import { MAX_LINE_UTF16 } from '../commands/grammar.js';
import { AGENT_TARGETS, AGENT_VERSION_PATTERN } from './agent-release.js';

/** Largest WebSocket message either side accepts (ws maxPayload). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest records batch or text chunk an agent sends in one frame. */
export const MAX_CHUNK_CHARS = 256 * 1024;
/** Agent pauses a job when this many bytes are sent but not yet acknowledged by the service. */
export const JOB_WINDOW_BYTES = 1024 * 1024;

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
const shortText = z.string().max(4096);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const agentTarget = z.enum(AGENT_TARGETS);
const agentVersion = z.string().max(64).regex(AGENT_VERSION_PATTERN);
/**
 * One structured record: a plain JSON object. Checked for shape only (not key by key): records come in
 * batches of thousands and a per-key schema walk cost more than the command itself. Sizes are bounded by
 * the frame size limit.
 */
const record = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'expected a JSON object',
);
const boundParams = z.record(z.string().max(64), z.union([z.string().max(8192), z.number(), z.boolean()]));

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out', 'refused'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'timed_out',
  'refused',
]);

export const traceLevel = z.enum(['off', 'error', 'warn', 'info', 'debug']);

export const deviceInfo = z.object({
  name: z.string().min(1).max(128),
  hostname: z.string().max(255),
  os: z.string().max(255),
  platform: z.enum(['linux', 'darwin', 'win32']),
  agentVersion: z.string().max(64),
  /** Which build runs (agent self-update picks the file for it); absent from agents before self-update. */
  agentTarget: agentTarget.optional(),
  /** The build's commit (`lr-agent --version`). */
  agentBuild: z.string().max(64).optional(),
  isolated: z.boolean().optional(),
});
export type DeviceInfo = z.infer<typeof deviceInfo>;

// ---------- service -> agent ----------
export const toAgent = z.discriminatedUnion('t', [
  z.object({ t: z.literal('challenge'), nonce: z.string().max(128) }),
  z.object({ t: z.literal('welcome'), deviceId: id }),
  z.object({
    t: z.literal('job.start'),
    jobId: id,
    sessionId: id,
    command: z.string().min(1).max(64),
    params: boundParams,
    cwd: z.string().max(4096),
    timeLimitMs: z.number().int().positive(),
    /**
     * The service's Ed25519 signature over (jobId, sessionId, deviceId, command, params, cwd, role,
     * expiresAt, timeLimitMs), see shared/wire/command-signature.ts. Optional in the schema so that an unsigned frame
     * reaches
     * the agent's verifier and is refused in one line (job.end failed), not dropped as malformed.
     */
    role: z.enum(['basic', 'advanced', 'admin']).optional(),
    expiresAt: z.number().int().nonnegative().optional(),
    sig: z.string().max(256).optional(),
  }),
  z.object({ t: z.literal('job.cancel'), jobId: id, reason: z.enum(['cancelled', 'timed_out', 'session_closed']) }),
  z.object({ t: z.literal('job.ack'), jobId: id, bytes: z.number().int().nonnegative() }),
  z.object({ t: z.literal('trace.level'), sessionId: id, level: traceLevel }),
  /**
   * A new agent build for this device's target (shared/wire/agent-release.ts): the agent downloads it from `url`
   * (a one-time link on the service it is enrolled with), checks size, SHA-256 and the release signature
   * `sig` (the service's Ed25519 key, over agentReleasePayload), then swaps builds and rolls back by itself
   * when the new one does not connect within 60 s.
   */
  z.object({
    t: z.literal('update.offer'),
    releaseId: id,
    target: agentTarget,
    version: agentVersion,
    sha256: sha256Hex,
    size: z.number().int().positive(),
    sig: z.string().max(256),
    url: z.string().max(2048),
  }),
  z.object({ t: z.literal('error'), message: shortText }),
]);
export type ToAgent = z.infer<typeof toAgent>;

// ---------- agent -> service ----------
export const fromAgent = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), deviceId: id, signature: z.string().max(512), info: deviceInfo }),
  z.object({ t: z.literal('job.records'), jobId: id, records: z.array(record).max(10_000) }),
  z.object({ t: z.literal('job.text'), jobId: id, text: z.string().max(MAX_CHUNK_CHARS) }),
  z.object({
    t: z.literal('job.end'),
    jobId: id,
    /** `refused`: the agent would not do it (e.g. a file over the getfile limit); nothing was done. */
    status: z.enum(['completed', 'failed', 'cancelled', 'timed_out', 'refused']),
    error: shortText.optional(),
    cwd: z.string().max(4096).optional(),
  }),
  z.object({
    t: z.literal('trace'),
    sessionId: id,
    level: traceLevel.exclude(['off']),
    message: shortText,
    time: z.string().max(64),
  }),
  /**
   * Where an update.offer went: `refused` (bad signature, hash or size: nothing run), `failed` (download or
   * disk), `staged` (verified, about to restart into it), `applied` (the new build is connected: sent by it),
   * `rolled_back` (the new build did not connect in time: sent by the previous build, back online).
   */
  z.object({
    t: z.literal('update.status'),
    releaseId: id,
    version: agentVersion,
    state: z.enum(['refused', 'failed', 'staged', 'applied', 'rolled_back']),
    message: shortText.optional(),
  }),
  z.object({ t: z.literal('error'), message: shortText }),
]);
export type FromAgent = z.infer<typeof fromAgent>;

// ---------- analyst client -> service ----------
export const fromClient = z.discriminatedUnion('t', [
  z.object({ t: z.literal('session.open'), reqId: z.number().int(), device: z.string().min(1).max(128) }),
  z.object({ t: z.literal('session.close'), reqId: z.number().int(), sessionId: id }),
  // The line's length in characters is the grammar's to refuse (in the command log, answering reqId).
  // `internal`: a probe the console runs for itself (path completion's `dir … -output json`): logged, flagged, not in
  // `jobs`.
  z.object({
    t: z.literal('command'),
    reqId: z.number().int(),
    sessionId: id,
    line: z.string().max(MAX_LINE_UTF16),
    internal: z.literal(true).optional(),
  }),
  z.object({ t: z.literal('cancel'), commandId: id }),
  /** Ctrl+Z: the command goes on in the background; the client stops receiving its output. */
  z.object({ t: z.literal('detach'), commandId: id }),
]);
export type FromClient = z.infer<typeof fromClient>;

export const sessionInfo = z.object({
  id,
  deviceId: id,
  deviceName: z.string(),
  platform: z.string(),
  createdBy: z.string(),
  startedAt: z.string(),
  cwd: z.string(),
});
export type SessionInfo = z.infer<typeof sessionInfo>;

// ---------- service -> analyst client ----------
export const toClient = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), user: z.string(), role: z.string() }),
  z.object({ t: z.literal('session.opened'), reqId: z.number().int(), session: sessionInfo }),
  z.object({ t: z.literal('session.closed'), sessionId: id, reason: shortText }),
  z.object({ t: z.literal('error'), reqId: z.number().int().optional(), code: z.string().max(64), message: shortText }),
  z.object({
    t: z.literal('command.started'),
    reqId: z.number().int().optional(),
    commandId: id,
    name: z.string(),
    background: z.boolean(),
    output: z.enum(['json', 'table']).optional(),
    redirect: z.string().optional(),
    fields: z.array(z.string()).optional(),
    tableFields: z.array(z.string()).optional(),
  }),
  z.object({ t: z.literal('command.records'), commandId: id, records: z.array(record) }),
  z.object({ t: z.literal('command.text'), commandId: id, text: z.string() }),
  z.object({
    t: z.literal('command.end'),
    commandId: id,
    status: z.enum(JOB_STATUSES),
    error: shortText.optional(),
    durationMs: z.number(),
    cwd: z.string().optional(),
    background: z.boolean().optional(),
  }),
  z.object({ t: z.literal('trace'), sessionId: id, level: z.string(), message: shortText, time: z.string() }),
  z.object({ t: z.literal('device.state'), deviceId: id, online: z.boolean() }),
]);
export type ToClient = z.infer<typeof toClient>;

/** Parses one text frame with a schema; returns a one-line error instead of throwing. */
export function parseFrame<T>(
  schema: z.ZodType<T>,
  raw: string,
): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'malformed frame: not JSON' };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, error: frameError(r.error) };
  return { ok: true, value: r.data };
}

/** One line naming the first problem of a frame. */
function frameError(error: z.ZodError): string {
  const first = error.issues[0];
  const where = first && first.path.length ? `${first.path.join('.')}: ` : '';
  return `malformed frame: ${where}${first?.message ?? 'invalid'}`.replace(/\s+/g, ' ').slice(0, 300);
}

/** What could still be read of a client frame that failed validation: enough to answer and log its request. */
export interface RejectedClientFrame {
  error: string;
  t?: FromClient['t'];
  reqId?: number;
  sessionId?: string;
  /** A command frame's line, whatever its length (bounded by the frame size). */
  line?: string;
}

const clientFrameType = z.enum(['session.open', 'session.close', 'command', 'cancel', 'detach']);
const lenientFields = {
  t: clientFrameType,
  reqId: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  sessionId: id,
  line: z.string(),
};

/**
 * An analyst client's frame. When it is invalid, each envelope field that is valid on its own is still
 * returned, so the service can answer the request id and log the refusal instead of dropping the frame (a
 * client waiting on that id would otherwise wait forever).
 */
export function parseClientFrame(raw: string): { ok: true; value: FromClient } | ({ ok: false } & RejectedClientFrame) {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'malformed frame: not JSON' };
  }
  const r = fromClient.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const rejected: { ok: false } & RejectedClientFrame = { ok: false, error: frameError(r.error) };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return rejected;
  const fields = json as Record<string, unknown>;
  for (const key of ['t', 'reqId', 'sessionId', 'line'] as const) {
    const v = lenientFields[key].safeParse(fields[key]);
    if (v.success) Object.assign(rejected, { [key]: v.data });
  }
  return rejected;
}

/** REST bodies. */
export const enrollRequest = z.object({
  token: z.string().min(10).max(256),
  publicKey: z.string().min(10).max(4096),
  info: deviceInfo,
});
export type EnrollRequest = z.infer<typeof enrollRequest>;

/** A device as the service lists it (REST, the workstation's Devices page). */
export const deviceRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  hostname: z.string(),
  os: z.string(),
  platform: z.string(),
  agentVersion: z.string(),
  online: z.boolean(),
  lastSeen: z.string().nullable(),
  isolated: z.boolean(),
  enrolledAt: z.string(),
  /** In a cluster of service nodes: the node the device's agent is connected to (absent on a single node). */
  node: z.string().optional(),
});
export type DeviceRecord = z.infer<typeof deviceRecordSchema>;

export const commandLogRecordSchema = z.object({
  id: z.string(),
  seq: z.number(),
  sessionId: z.string().nullable(),
  user: z.string(),
  deviceId: z.string().nullable(),
  deviceName: z.string().nullable(),
  commandLine: z.string(),
  name: z.string(),
  status: z.enum(JOB_STATUSES),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  output: z.string(),
  outputSize: z.number(),
  outputSha256: z.string().nullable(),
  outputTruncated: z.boolean(),
  background: z.boolean(),
  /** Run by the console for itself (path completion), not typed by the analyst; absent when false. */
  internal: z.boolean().optional(),
});
export type CommandLogRecord = z.infer<typeof commandLogRecordSchema>;

/** A command log entry without its output (lists of the log viewer; `GET /api/v1/log/:id` has the output). */
export const commandLogSummarySchema = commandLogRecordSchema.omit({ output: true });
export type CommandLogSummary = z.infer<typeof commandLogSummarySchema>;

/** Filters of `GET /api/v1/log/query` (all optional; `text` is a case-insensitive substring). */
export interface CommandLogQuery {
  deviceId?: string;
  user?: string;
  status?: JobStatus;
  /** ISO date-times, on the command's start. */
  since?: string;
  until?: string;
  text?: string;
  offset?: number;
  limit?: number;
}

/**
 * What an agent signs with its device key to download a library file with a one-time token (header
 * `x-lr-device-proof`): the token is bound to the device it was issued for, and only that device's key
 * can produce this, so a token seen by anyone else (a relay, another enrolled device) is worthless.
 */
export function agentFileProofPayload(token: string, deviceId: string): string {
  return `lr-agent-file:v1:${token}:${deviceId}`;
}

/** What an agent signs with its device key to answer the service's challenge (domain-separated). */
export function agentAuthPayload(nonce: string, deviceId: string): string {
  return `lr-agent-auth:${nonce}:${deviceId}`;
}

// ---------- binary data frames (file transfers) ----------
// Layout: [0] kind = 1 (job data) · [1] n = length of the job id · [2..2+n) job id (ASCII) ·
// 8 bytes big-endian offset in the file · payload. The service forwards agent frames to the
// analyst unchanged (the job id is the command id), so nothing is re-encoded on the way.

export const DATA_FRAME_KIND = 1;
/** Payload size of one data frame. */
export const DATA_CHUNK_BYTES = 256 * 1024;
/** Longest data frame header: kind, id length, a job id of at most 64 characters, the 8-byte offset. */
export const DATA_HEADER_MAX_BYTES = 2 + 64 + 8;
/** Unacknowledged bytes a transfer may have in flight between agent and service. */
export const TRANSFER_WINDOW_BYTES = 8 * 1024 * 1024;

export interface DataFrame {
  jobId: string;
  offset: number;
  payload: Uint8Array;
}

export function encodeDataFrame(jobId: string, offset: number, payload: Uint8Array): Uint8Array {
  const n = jobId.length;
  const out = new Uint8Array(2 + n + 8 + payload.length);
  out[0] = DATA_FRAME_KIND;
  out[1] = n;
  for (let i = 0; i < n; i++) out[2 + i] = jobId.charCodeAt(i) & 0x7f;
  new DataView(out.buffer, out.byteOffset + 2 + n, 8).setBigUint64(0, BigInt(offset));
  out.set(payload, 2 + n + 8);
  return out;
}

/** Header size of a data frame for this job id (to send header and payload without copying). */
export function dataFrameHeader(jobId: string, offset: number): Uint8Array {
  return encodeDataFrame(jobId, offset, new Uint8Array(0));
}

export function decodeDataFrame(frame: Uint8Array): DataFrame | { error: string } {
  if (frame.length < 2 || frame[0] !== DATA_FRAME_KIND) return { error: 'malformed data frame: unknown kind' };
  const n = frame[1] as number;
  if (n < 1 || n > 64 || frame.length < 2 + n + 8) return { error: 'malformed data frame: bad header' };
  let jobId = '';
  for (let i = 0; i < n; i++) jobId += String.fromCharCode(frame[2 + i] as number);
  if (!/^[A-Za-z0-9_-]+$/.test(jobId)) return { error: 'malformed data frame: bad job id' };
  const big = new DataView(frame.buffer, frame.byteOffset + 2 + n, 8).getBigUint64(0);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return { error: 'malformed data frame: offset out of range' };
  return { jobId, offset: Number(big), payload: frame.subarray(2 + n + 8) };
}
