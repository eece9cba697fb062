/**
 * The agent's quarantine (DATA/quarantine, mode 0700): what `remediate` took away, kept so that `undo`
 * can put it back byte-exact. One folder per entry: `entry.json` (type, target, what was done, when, by
 * which job, every file with its original path, size, SHA-256, mode, owner and times; removed cron lines
 * with their line number; removed enablement symlinks) and the files' bytes (`0.bin`, `1.bin`, ...).
 * A file is renamed into the quarantine when it is on the same file system, else copied (verified) and
 * then removed: nothing is ever deleted without a copy. Quarantined bytes are made read-only for the
 * owner only; their original mode is in the entry.
 * Nothing is ever taken from, or restored into, a protected folder (./protected-paths.ts: the agent's own
 * data folder, a service's): every host path is checked, links and `..` resolved, before it is touched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomicAsync } from '../node/files.js';
import { CommandError } from './command.js';
import { protectedPaths } from './protected-paths.js';
import { describeError } from '../shared/errors.js';

const fileSchema = z.object({
  path: z.string(),
  host: z.string(),
  blob: z.string(),
  size: z.number(),
  sha256: z.string(),
  mode: z.number(),
  uid: z.number(),
  gid: z.number(),
  atimeMs: z.number(),
  mtimeMs: z.number(),
  /** Windows: what undo puts back besides bytes, mtime and atime (see commands/support/remediate-windows-files.ts). */
  windows: z
    .object({
      attributes: z.number(),
      birthtimeMs: z.number(),
      /** The security descriptor as SDDL, when it could be read. */
      sddl: z.string().nullable(),
    })
    .optional(),
});
const lineSchema = z.object({ path: z.string(), host: z.string(), line: z.number(), text: z.string() });
const linkSchema = z.object({ path: z.string(), host: z.string(), target: z.string() });
/**
 * Windows: a registry value taken away (persistence), with its exact type and bytes
 * (commands/support/remediate-windows-config.ts).
 */
const registryValueSchema = z.object({ key: z.string(), name: z.string(), type: z.number(), dataHex: z.string() });
/** Windows: a service's configuration before it was disabled, so that undo restores start type and state. */
const serviceStateSchema = z.object({
  name: z.string(),
  startType: z.number(),
  delayedAutoStart: z.boolean(),
  wasRunning: z.boolean(),
});

export const entrySchema = z.object({
  id: z.string(),
  type: z.enum(['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry']),
  target: z.string(),
  createdAt: z.string(),
  jobId: z.string().nullable(),
  actions: z.array(z.string()),
  files: z.array(fileSchema),
  lines: z.array(lineSchema),
  links: z.array(linkSchema),
  registryValues: z.array(registryValueSchema).default([]),
  services: z.array(serviceStateSchema).default([]),
  restoredAt: z.string().nullable(),
  restoredByJob: z.string().nullable(),
  restoreNotes: z.array(z.string()),
});
export type QuarantineEntry = z.infer<typeof entrySchema>;
export type QuarantineType = QuarantineEntry['type'];
type QFile = z.infer<typeof fileSchema>;

function sha256File(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(p)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

const exists = (p: string) =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

/** Moves `from` to `to`: rename on the same file system, else copy + verify + unlink. */
async function move(from: string, to: string, sha256: string): Promise<void> {
  try {
    await fsp.rename(from, to);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  await fsp.copyFile(from, to, fsp.constants.COPYFILE_EXCL);
  if ((await sha256File(to)) !== sha256) {
    await fsp.rm(to, { force: true });
    throw new Error(`copy of ${from} does not verify`);
  }
  await fsp.unlink(from);
}

export class Quarantine {
  readonly dir: string;

  constructor(
    dataDir: string,
    /** The command using it (`remediate`, `undo`): refusals start with it. */
    private readonly command = 'remediate',
  ) {
    this.dir = path.join(dataDir, 'quarantine');
    protectedPaths.addAgentDataDir(dataDir);
  }

  static of(ctx: { dataDir?: string }, command: string): Quarantine {
    if (!ctx.dataDir) throw new CommandError(`${command}: the agent has no data folder for its quarantine`);
    return new Quarantine(ctx.dataDir, command);
  }

  /** Throws the one-line refusal when a host path is in a protected folder. */
  async refuseProtected(host: string): Promise<void> {
    await protectedPaths.refuse(this.command, host);
  }

  async newEntry(type: QuarantineType, target: string, jobId: string | undefined): Promise<QuarantineEntry> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.dir, 0o700);
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18)}-${randomBytes(4).toString('hex')}`;
    await fsp.mkdir(path.join(this.dir, id), { mode: 0o700 });
    return {
      id,
      type,
      target,
      createdAt: new Date().toISOString(),
      jobId: jobId ?? null,
      actions: [],
      files: [],
      lines: [],
      links: [],
      registryValues: [],
      services: [],
      restoredAt: null,
      restoredByJob: null,
      restoreNotes: [],
    };
  }

  async save(entry: QuarantineEntry): Promise<void> {
    const file = path.join(this.dir, entry.id, 'entry.json');
    await writeFileAtomicAsync(file, JSON.stringify(entry, null, 2));
  }

  /** Drops an entry that holds nothing (the remediation failed before taking anything). */
  async discard(entry: QuarantineEntry): Promise<void> {
    if (entry.files.length === 0 && entry.lines.length === 0 && entry.links.length === 0)
      await fsp.rm(path.join(this.dir, entry.id), { recursive: true, force: true });
    else await this.save(entry);
  }

  async list(): Promise<QuarantineEntry[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: QuarantineEntry[] = [];
    for (const n of names.sort()) {
      const text = await fsp.readFile(path.join(this.dir, n, 'entry.json'), 'utf8').catch(() => null);
      if (text === null) continue;
      const parsed = entrySchema.safeParse(JSON.parse(text));
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  /** Moves a regular file (host path `host`, device path `devicePath`) into the entry. */
  async takeFile(entry: QuarantineEntry, devicePath: string, host: string): Promise<QFile> {
    await this.refuseProtected(host);
    const st = await fsp.lstat(host);
    if (st.isSymbolicLink())
      throw new Error(`${devicePath} is a symbolic link (to ${await fsp.readlink(host)}): remediate its target`);
    if (!st.isFile()) throw new Error(`${devicePath} is not a regular file`);
    const sha256 = await sha256File(host);
    const blob = `${entry.files.length}.bin`;
    const dest = path.join(this.dir, entry.id, blob);
    await move(host, dest, sha256);
    await fsp.chmod(dest, 0o400).catch(() => undefined);
    const f: QFile = {
      path: devicePath,
      host,
      blob,
      size: st.size,
      sha256,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      atimeMs: st.atimeMs,
      mtimeMs: st.mtimeMs,
    };
    entry.files.push(f);
    entry.actions.push(`${devicePath} quarantined (${st.size} bytes, sha256 ${sha256})`);
    await this.save(entry);
    return f;
  }

  /** Removes line `line` (1-based) of a text file, which must still read `text`. */
  async takeLine(entry: QuarantineEntry, devicePath: string, host: string, line: number, text: string): Promise<void> {
    await this.refuseProtected(host);
    const content = await fsp.readFile(host, 'utf8');
    const lines = content.split('\n');
    if (lines[line - 1] !== text) throw new Error(`${devicePath} changed: line ${line} is no longer the cron entry`);
    lines.splice(line - 1, 1);
    await fsp.writeFile(host, lines.join('\n')); // in place: the file keeps its inode, mode and owner
    entry.lines.push({ path: devicePath, host, line, text });
    entry.actions.push(`line ${line} removed from ${devicePath}: ${text}`);
    await this.save(entry);
  }

  async takeLink(entry: QuarantineEntry, devicePath: string, host: string): Promise<void> {
    await this.refuseProtected(host);
    const target = await fsp.readlink(host);
    await fsp.unlink(host);
    entry.links.push({ path: devicePath, host, target });
    entry.actions.push(`link ${devicePath} -> ${target} removed`);
    await this.save(entry);
  }

  /**
   * Puts everything of the entry back: files byte-exact with mode, owner and times, cron lines at their
   * line number, links. Checks first that nothing is in the way, so a refusal changes nothing.
   */
  async restore(entry: QuarantineEntry, jobId: string | undefined, command: string): Promise<string[]> {
    for (const h of [...entry.files, ...entry.links, ...entry.lines].map((x) => x.host)) await this.refuseProtected(h);
    for (const f of entry.files) {
      if (await exists(f.host))
        throw new CommandError(
          `${command}: ${f.path} exists again on the device: move it away first (nothing was restored)`,
        );
      if (!(await exists(path.dirname(f.host))))
        throw new CommandError(`${command}: the folder of ${f.path} no longer exists (nothing was restored)`);
    }
    for (const l of entry.links) {
      if (await exists(l.host))
        throw new CommandError(`${command}: ${l.path} exists again on the device (nothing was restored)`);
    }
    for (const l of entry.lines) {
      if (!(await exists(l.host)))
        throw new CommandError(`${command}: ${l.path} no longer exists (nothing was restored)`);
    }
    const notes: string[] = [];
    for (const f of entry.files) {
      const blob = path.join(this.dir, entry.id, f.blob);
      await move(blob, f.host, f.sha256);
      try {
        await fsp.chown(f.host, f.uid, f.gid);
      } catch (e) {
        notes.push(
          `owner ${f.uid}:${f.gid} of ${f.path} not restored: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`,
        );
      }
      await fsp.chmod(f.host, f.mode); // after chown, which clears setuid/setgid bits
      await fsp.utimes(f.host, f.atimeMs / 1000, f.mtimeMs / 1000);
      if ((await sha256File(f.host)) !== f.sha256)
        throw new CommandError(`${command}: ${f.path} restored but its SHA-256 differs from the quarantined one`);
      notes.push(`${f.path} restored (${f.size} bytes, sha256 ${f.sha256})`);
    }
    // Lines are re-inserted in reverse order of removal, so earlier line numbers stay right.
    for (const l of [...entry.lines].reverse()) {
      const lines = (await fsp.readFile(l.host, 'utf8')).split('\n');
      const at = Math.min(l.line - 1, lines.length);
      lines.splice(at, 0, l.text);
      await fsp.writeFile(l.host, lines.join('\n'));
      notes.push(`line ${at + 1} of ${l.path} restored: ${l.text}`);
    }
    for (const l of entry.links) {
      await fsp.symlink(l.target, l.host);
      notes.push(`link ${l.path} -> ${l.target} restored`);
    }
    entry.restoredAt = new Date().toISOString();
    entry.restoredByJob = jobId ?? null;
    entry.restoreNotes = notes;
    await this.save(entry);
    return notes;
  }
}

/** One record of an entry, as `remediate`, `remediate list` and `undo` show it. */
export function entryRecord(entry: QuarantineEntry): Record<string, unknown> {
  return {
    id: entry.id,
    type: entry.type,
    target: entry.target,
    state: entry.restoredAt ? 'restored' : 'remediated',
    paths: [
      ...entry.files.map((f) => f.path),
      ...entry.lines.map((l) => `${l.path}:${l.line}`),
      ...entry.links.map((l) => l.path),
    ],
    actions: entry.actions,
    createdAt: entry.createdAt,
    jobId: entry.jobId,
    restoredAt: entry.restoredAt,
    restoreNotes: entry.restoreNotes,
  };
}
