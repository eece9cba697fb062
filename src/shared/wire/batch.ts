/**
 * Batch runs: one command line (or a short sequence) over a set of devices, each device in its own session
 * under the normal limits, queued while a device is offline (up to an expiry), results merged with a
 * `device` column. The REST contract of `/api/v1/batches` (the service, `lr batch`, the workstation), and of
 * the vendor-shaped machine actions built on the same engine. Pure data and schemas.
 */
import { z } from 'zod';
import { JOB_STATUSES } from './protocol.js';

/** The vendor's default: queued work waits three days for an offline device. */
export const DEFAULT_BATCH_EXPIRY_SEC = 3 * 24 * 3600;
export const MAX_BATCH_EXPIRY_SEC = 30 * 24 * 3600;
export const DEFAULT_BATCH_CONCURRENCY = 10;
export const MAX_BATCH_CONCURRENCY = 100;
export const MAX_BATCH_STEPS = 20;
export const MAX_BATCH_DEVICES = 10_000;
/** Records kept per device and step for the merged table (the command log keeps its own bounded copy). */
export const MAX_BATCH_RESULT_BYTES = 64 * 1024 * 1024;

/** Where a device's work stands. `queued`: waiting for the device to be online and free (see `note`). */
export const BATCH_TARGET_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'refused',
  'cancelled',
  'offline-expired',
] as const;
export type BatchTargetStatus = (typeof BATCH_TARGET_STATUSES)[number];
export const FINAL_TARGET_STATUSES: readonly BatchTargetStatus[] = [
  'completed',
  'failed',
  'refused',
  'cancelled',
  'offline-expired',
];

/** A batch is `running` until every device's work is final; then `completed` only if every device completed. */
export const BATCH_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** `batch`: `lr batch`, the workstation, `/api/v1/batches`; `machineaction`: the vendor-shaped `runliveresponse`. */
export const BATCH_KINDS = ['batch', 'machineaction'] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

const name = z.string().min(1).max(128);

/** Which devices: named ones, or every device matching all the criteria given. At least one criterion. */
export const batchSelector = z
  .object({
    /** Device names or ids; an unknown one refuses the whole batch (nothing starts). */
    devices: z.array(name).min(1).max(MAX_BATCH_DEVICES).optional(),
    /** A device group's name (its members, by hand or by rule). */
    group: name.optional(),
    tag: name.optional(),
    /** `linux`, `win32`… (the platform) or a substring of the OS description. */
    os: z.string().min(1).max(64).optional(),
    /** A name pattern with `*` and `?` (case-insensitive). */
    name: z.string().min(1).max(128).optional(),
    /** Only devices online when the batch is created (no offline queue for the others). */
    online: z.boolean().optional(),
  })
  .strict()
  .refine((s) => Object.values(s).some((v) => v !== undefined), {
    message: 'choose the devices: devices, group, tag, os, name or online',
  });
export type BatchSelector = z.infer<typeof batchSelector>;

export const batchCreateRequest = z
  .object({
    /** Console command lines run in order on each device; a failing one stops the ones after it. */
    commands: z
      .array(
        z
          .string()
          .min(1)
          .max(16 * 1024),
      )
      .min(1)
      .max(MAX_BATCH_STEPS),
    target: batchSelector,
    concurrency: z.number().int().min(1).max(MAX_BATCH_CONCURRENCY).default(DEFAULT_BATCH_CONCURRENCY),
    /** How long a device's work may wait (offline, or held by another analyst) before `offline-expired`. */
    expiresInSec: z.number().int().min(1).max(MAX_BATCH_EXPIRY_SEC).default(DEFAULT_BATCH_EXPIRY_SEC),
    comment: z.string().max(1000).optional(),
  })
  .strict();
export type BatchCreateRequest = z.input<typeof batchCreateRequest>;
export type BatchCreate = z.output<typeof batchCreateRequest>;

/** A file a step pulled from the device (getfile, collect), kept by the service per device. */
export const batchFileRecord = z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: z.string() });
export type BatchFileRecord = z.infer<typeof batchFileRecord>;

/** `not-run`: an earlier step failed (see `error`), or the device's work was cancelled or expired first. */
export const BATCH_STEP_STATUSES = [...JOB_STATUSES, 'not-run'] as const;
export type BatchStepStatus = (typeof BATCH_STEP_STATUSES)[number];

export const batchStepRecord = z.object({
  index: z.number().int().nonnegative(),
  line: z.string(),
  /** The command log entry of this step on this device (absent until it starts). */
  commandId: z.string().optional(),
  status: z.enum(BATCH_STEP_STATUSES),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
  /** Records the step returned (kept for the merged table up to MAX_BATCH_RESULT_BYTES). */
  rows: z.number().int().nonnegative(),
  /** Text output kept, in bytes (scripts, text commands). */
  textBytes: z.number().int().nonnegative(),
  truncated: z.boolean(),
  file: batchFileRecord.optional(),
});
export type BatchStepRecord = z.infer<typeof batchStepRecord>;

export const batchTargetRecord = z.object({
  deviceId: z.string(),
  deviceName: z.string(),
  status: z.enum(BATCH_TARGET_STATUSES),
  /** Why it waits or how it ended, in one line (e.g. `offline since …`, `held by alice's session`). */
  note: z.string().optional(),
  sessionId: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** Records over every step. */
  rows: z.number().int().nonnegative(),
  steps: z.array(batchStepRecord),
});
export type BatchTargetRecord = z.infer<typeof batchTargetRecord>;

export const batchCounts = z.object(
  Object.fromEntries(BATCH_TARGET_STATUSES.map((s) => [s, z.number().int().nonnegative()])) as Record<
    BatchTargetStatus,
    z.ZodNumber
  >,
);
export type BatchCounts = Record<BatchTargetStatus, number>;

export const batchSummary = z.object({
  id: z.string(),
  kind: z.enum(BATCH_KINDS),
  status: z.enum(BATCH_STATUSES),
  createdBy: z.string(),
  createdAt: z.string(),
  endedAt: z.string().optional(),
  cancelledBy: z.string().optional(),
  comment: z.string().optional(),
  commands: z.array(z.string()),
  target: z.record(z.string(), z.unknown()),
  concurrency: z.number().int(),
  expiresAt: z.string(),
  counts: batchCounts,
});
export type BatchSummary = z.infer<typeof batchSummary>;

export const batchRecord = batchSummary.extend({ targets: z.array(batchTargetRecord) });
export type BatchRecord = z.infer<typeof batchRecord>;

export const batchList = z.object({ items: z.array(batchSummary) });

/** `GET /api/v1/batches/{id}/results` (JSON): every device's records in one table. */
export const batchResults = z.object({
  batchId: z.string(),
  /** `device` and `step` first, then the records' fields in order of first appearance. */
  columns: z.array(z.string()),
  /**
   * Checked for shape only (a JSON object each), like the wire's records: a per-key walk of a 20 000-row
   * table cost four times what serialising it does, and says nothing more (JSON keys are always strings).
   */
  rows: z.array(
    z.custom<Record<string, unknown>>(
      (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
      'expected a JSON object',
    ),
  ),
  /** Devices whose records were cut at MAX_BATCH_RESULT_BYTES (the command log has the size and hash). */
  truncated: z.array(z.string()),
  files: z.array(batchFileRecord.extend({ device: z.string(), deviceId: z.string(), step: z.number().int() })),
});
export type BatchResults = z.infer<typeof batchResults>;

/** `POST /api/v1/devices/{device}/commands`: one console command line on one device (a batch of one). */
export const deviceCommandRequest = z
  .object({
    line: z
      .string()
      .min(1)
      .max(16 * 1024)
      .describe('One console command line'),
    waitSec: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .describe('How long to wait for the end before answering 202 with the batch to poll (0: at once)'),
    expiresInSec: z
      .number()
      .int()
      .min(1)
      .max(MAX_BATCH_EXPIRY_SEC)
      .optional()
      .describe('How long it may wait for an offline or busy device (default 3 days)'),
    comment: z.string().max(1000).optional(),
  })
  .strict();

/** `POST /api/v1/devices/{device}/commands`: 200 with the results once final, 202 with the batch to poll. */
export const deviceCommandAnswer = z.object({ batch: batchRecord, results: batchResults.optional() });
export type DeviceCommandAnswer = z.infer<typeof deviceCommandAnswer>;

export function isFinalTarget(s: BatchTargetStatus): boolean {
  return FINAL_TARGET_STATUSES.includes(s);
}

/** The batch's status from its devices'. */
export function batchStatusOf(counts: BatchCounts, cancelled: boolean): BatchStatus {
  const open = counts.queued + counts.running;
  if (open > 0) return 'running';
  if (cancelled) return 'cancelled';
  const total = BATCH_TARGET_STATUSES.reduce((n, s) => n + counts[s], 0);
  return counts.completed === total ? 'completed' : 'failed';
}

export function emptyCounts(): BatchCounts {
  return Object.fromEntries(BATCH_TARGET_STATUSES.map((s) => [s, 0])) as BatchCounts;
}
