/**
 * Where self-update keeps its state in the agent's data folder (all private to the agent, mode 0700/0600):
 *
 *   builds/<version>/lr-agent   a verified build (0700; `lr-agent.exe` on Windows); at most the current one
 *                               and the one before it. Each version has its own folder: a running file is
 *                               never overwritten (Windows would refuse it anyway)
 *   builds/current.json         the build the supervisor runs, with its signed release facts (absent: the
 *                               installed file itself)
 *   builds/pending.json         an update on trial: the new build, the one to go back to, and whether the
 *                               supervisor already started it (a supervisor that dies during the trial finds
 *                               it at its next start and rolls back: nothing is lost across a crash)
 *   builds/rolled-back.json     the releases rolled back here (the last 32 ids): refused if offered again,
 *                               since the service may offer again before it has the rolled_back report
 *   builds/outbox.json          update.status reports the supervisor wrote for the service (rolled_back,
 *                               applied): the running build sends them once it is online, then clears them
 *
 * The records carry what the service signed (target, version, sha256, size, sig): the supervisor verifies a
 * build again against them, with the pinned key, before each start.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AGENT_TARGETS, AGENT_VERSION_PATTERN } from '../../shared/wire/agent-release.js';
import { writeFileAtomic } from '../../node/files.js';

export const releaseRecord = z.object({
  releaseId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
  target: z.enum(AGENT_TARGETS),
  version: z.string().max(64).regex(AGENT_VERSION_PATTERN),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().positive(),
  sig: z.string().max(256),
});
export type ReleaseRecord = z.infer<typeof releaseRecord>;

const pendingRecord = z.object({
  next: releaseRecord,
  /** The build to go back to; null: the installed file. */
  previous: releaseRecord.nullable(),
  /** `staged`: verified, not started yet; `trying`: the supervisor started it and waits for "connected". */
  phase: z.enum(['staged', 'trying']),
});
export type PendingUpdate = z.infer<typeof pendingRecord>;

const report = z.object({
  releaseId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
  version: z.string().max(64).regex(AGENT_VERSION_PATTERN),
  state: z.enum(['applied', 'rolled_back', 'failed']),
  message: z.string().max(4096).optional(),
});
export type UpdateReport = z.infer<typeof report>;

/** Exit code of a build that staged an update and asks its supervisor to start it (EX_TEMPFAIL). */
export const UPDATE_EXIT_CODE = 75;
/** Set by the supervisor in the environment of the build it runs. */
export const SUPERVISED_ENV = 'LR_AGENT_SUPERVISED';

export function buildsDir(dataDir: string): string {
  return join(dataDir, 'builds');
}

/** The name of a staged build's file: Windows runs only an `.exe`. */
export function buildFileName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'lr-agent.exe' : 'lr-agent';
}

export function buildPath(dataDir: string, version: string): string {
  return join(buildsDir(dataDir), version, buildFileName());
}

const file = (dataDir: string, name: string) => join(buildsDir(dataDir), name);

function readRecord<T>(path: string, schema: z.ZodType<T>): T | null {
  if (!existsSync(path)) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // unreadable: as if absent (the supervisor then runs the installed file)
  }
}

function writeRecord(dataDir: string, name: string, value: unknown): void {
  mkdirSync(buildsDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomic(file(dataDir, name), JSON.stringify(value, null, 2) + '\n');
}

export const readCurrent = (dataDir: string) => readRecord(file(dataDir, 'current.json'), releaseRecord);
export function writeCurrent(dataDir: string, r: ReleaseRecord | null): void {
  if (r) writeRecord(dataDir, 'current.json', r);
  else rmSync(file(dataDir, 'current.json'), { force: true });
}

export const readPending = (dataDir: string) => readRecord(file(dataDir, 'pending.json'), pendingRecord);
export function writePending(dataDir: string, p: PendingUpdate | null): void {
  if (p) writeRecord(dataDir, 'pending.json', p);
  else rmSync(file(dataDir, 'pending.json'), { force: true });
}

export function readOutbox(dataDir: string): UpdateReport[] {
  return readRecord(file(dataDir, 'outbox.json'), z.array(report).max(64)) ?? [];
}
export function addToOutbox(dataDir: string, r: UpdateReport): void {
  writeRecord(dataDir, 'outbox.json', [...readOutbox(dataDir), r].slice(-64));
}
export function clearOutbox(dataDir: string): void {
  rmSync(file(dataDir, 'outbox.json'), { force: true });
}

const rolledBackList = z.array(z.string().max(64)).max(32);
export function readRolledBack(dataDir: string): string[] {
  return readRecord(file(dataDir, 'rolled-back.json'), rolledBackList) ?? [];
}
export function addRolledBack(dataDir: string, releaseId: string): void {
  writeRecord(
    dataDir,
    'rolled-back.json',
    [...readRolledBack(dataDir).filter((id) => id !== releaseId), releaseId].slice(-32),
  );
}
