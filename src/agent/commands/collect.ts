/**
 * collect: builds an investigation package in the agent's working folder — system info, users and
 * logins, processes, connections, services, persistence, scheduled tasks, startup items (JSON from the
 * platform layer), recent logs (tails), shell histories, installed packages, network configuration —
 * as a zip whose manifest.json lists every member's size and SHA-256 (and what could not be collected,
 * and why). Then streams it to the analyst exactly as getfile does (a `file` record, binary data, a
 * `file-end` record with the SHA-256) and deletes it. A source that is (or links) into a protected folder
 * (../protected-paths.ts: the agent's own data, a service's) is left out, with a note saying why.
 *
 * On Windows the package holds, besides the same listings: the event logs (.evtx, whole), the task store's
 * definitions, the Startup folders' items and the hosts file (platform/windows/collect-files.ts), registry
 * exports (Run/RunOnce, services, IFEO) and the installed programs as JSON, read with the agent's own registry
 * readers (platform/windows/collect-registry.ts), and the prefetch folder's listing. A file that is locked or
 * denied is named in the manifest's notes with that reason.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { DATA_CHUNK_BYTES } from '../../shared/wire/protocol.js';
import { CommandError, defineCommand, type JobContext } from '../command.js';
import { AccountNames } from '../fs/accounts.js';
import { modeString } from '../fs/file-mode.js';
import { errorCode, fsReason } from '../fs/fs-errors.js';
import { refuseProtected, refuseProtectedOpen } from '../protected-paths.js';
import type { CollectionSource } from '../platform/types.js';
import { channelOfLogFile, exportEventLog } from '../platform/windows/collect-evtx-export.js';
import { MAX_EVTX_BYTES, prefetchListing, windowsReadReason } from '../platform/windows/collect-files.js';
import { exportIfeo, exportRunKeys, exportServices, installedPrograms } from '../platform/windows/collect-registry.js';
import { contentReadProblem, fileAttributesOrNull, windowsMode } from '../platform/windows/file-attributes.js';
import { fileOwner } from '../platform/windows/file-owner.js';
import { ZipWriter } from '../zip-writer.js';
import { describeError } from '../../shared/errors.js';

interface Member {
  name: string;
  size: number;
  sha256: string;
  source?: string;
  truncated?: boolean;
  /** Windows: a live event log, exported through the Event Log API because its file is locked. */
  exported?: boolean;
}

async function readTail(
  file: string,
  tailBytes: number | undefined,
  checkOpened: (fd: number) => Promise<void>,
): Promise<{ data: Buffer; truncated: boolean }> {
  const h = await fsp.open(file, 'r');
  try {
    await checkOpened(h.fd);
    const st = await h.stat();
    const size = st.size > 0 ? st.size : 0;
    const limit = tailBytes ?? 64 * 1024 * 1024;
    if (size === 0 && !st.isFile()) return { data: Buffer.alloc(0), truncated: false };
    if (size === 0) {
      // procfs files report size 0: read them until EOF.
      return { data: await h.readFile(), truncated: false };
    }
    const start = Math.max(0, size - limit);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await h.read(buf, 0, buf.length, start);
    return { data: buf.subarray(0, bytesRead), truncated: start > 0 };
  } finally {
    await h.close();
  }
}

/** Exports a locked event log's channel into the work folder and adds it; null when done, else why not. */
async function exportLocked(
  dataDir: string,
  s: CollectionSource,
  add: (name: string, data: Buffer, extra?: Partial<Member>) => Promise<void>,
): Promise<string | null> {
  const tmp = await fsp.mkdtemp(path.join(dataDir, 'work', 'evtx-'));
  try {
    const target = path.join(tmp, 'export.evtx');
    try {
      exportEventLog(channelOfLogFile(path.basename(s.path)), target);
    } catch (e) {
      return describeError(e);
    }
    const st = await fsp.stat(target);
    if (st.size > MAX_EVTX_BYTES) return `the export is ${st.size} bytes, larger than ${MAX_EVTX_BYTES}`;
    await add(s.member, await fsp.readFile(target), { source: s.path, exported: true });
    return null;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function build(ctx: JobContext, zip: ZipWriter): Promise<{ members: Member[]; notes: string[] }> {
  const members: Member[] = [];
  const notes: string[] = [];
  const add = async (name: string, data: Buffer, extra: Partial<Member> = {}) => {
    ctx.signal.throwIfAborted();
    await zip.add(name, data);
    members.push({ name, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), ...extra });
  };
  const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2) + '\n');
  const listing = async (name: string, what: string, fn: () => Promise<unknown>) => {
    try {
      await add(name, json(await fn()));
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      notes.push(`${what}: not collected: ${describeError(e)}`);
    }
  };
  const p = ctx.platform;
  const windows = p.name === 'win32';
  await listing('system/info.json', 'system info', () => p.systemInfo());
  await listing('processes.json', 'processes', () => p.listProcesses(ctx.signal));
  await listing('connections.json', 'connections', () => p.listConnections(ctx.signal));
  await listing('services.json', 'services', () => p.listServices(ctx.signal));
  await listing('persistence.json', 'persistence', () => p.listPersistence(ctx.signal));
  await listing('scheduledtasks.json', 'scheduled tasks', () => p.listScheduledTasks(ctx.signal));
  await listing('startupfolders.json', 'startup items', () => p.listStartupItems(ctx.signal));
  await listing('drivers.json', 'kernel modules', () => p.listDrivers(ctx.signal));
  await listing('users/logins.json', 'logins', async () => {
    const r = await p.loginRecords();
    if (r === null)
      notes.push(
        windows
          ? 'logins: Windows keeps them in the Security event log (logs/evtx/Security.evtx)'
          : 'logins: no /var/log/wtmp on this device',
      );
    return r ?? [];
  });
  await listing('network/interfaces.json', 'network interfaces', async () => os.networkInterfaces());
  if (windows) {
    await listing('registry/run-keys.json', 'Run/RunOnce keys', () => exportRunKeys(ctx.signal));
    await listing('registry/services.json', 'services keys', () => exportServices(ctx.signal));
    await listing('registry/ifeo.json', 'Image File Execution Options', () => exportIfeo(ctx.signal));
    await listing('installed-programs.json', 'installed programs', () => installedPrograms(ctx.signal));
    await listing('prefetch.json', 'prefetch', () => prefetchListing(ctx.signal));
  }
  const { sources, notes: sourceNotes } = await p.collectionSources();
  notes.push(...sourceNotes);
  for (const s of sources) {
    // procfs sources are live paths; every other source is a device path under the sysroot.
    const host = s.path.startsWith(`${p.options.procRoot ?? '/proc'}/`) ? s.path : p.hostPath(s.path);
    try {
      await refuseProtected(ctx, 'collect', host);
      // a cloud placeholder would be fetched from its provider by reading it
      const elsewhere = windows ? contentReadProblem(fileAttributesOrNull(host)) : null;
      if (elsewhere) throw new CommandError(`collect: ${elsewhere}`);
      const { data, truncated } = await readTail(host, s.tailBytes, (fd) =>
        refuseProtectedOpen(ctx, 'collect', fd, host),
      );
      await add(s.member, data, { source: s.path, ...(truncated ? { truncated } : {}) });
      if (truncated) notes.push(`${s.path}: only its last ${data.length} bytes`);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const why =
        e instanceof CommandError ? e.message.replace(/^collect: /, '') : windows ? windowsReadReason(e) : fsReason(e);
      if (windows && errorCode(e) === 'EBUSY' && s.member.startsWith('logs/evtx/') && ctx.dataDir) {
        // a live event log: the service holds it unshared, the Event Log API exports it
        const exported = await exportLocked(ctx.dataDir, s, add);
        notes.push(
          exported === null
            ? `${s.path}: ${why}: exported through the Event Log API (EvtExportLog)`
            : `${s.path}: not collected: ${why}; its export failed too: ${exported}`,
        );
        continue;
      }
      notes.push(`${s.path}: not collected: ${why}`);
    }
  }
  return { members, notes };
}

export const collectCommand = defineCommand({
  spec: commandSpec('collect'),
  schema: paramsSchema(commandSpec('collect')),
  async run(ctx) {
    if (!ctx.dataDir) throw new CommandError('collect: the agent has no data folder to build the package in');
    const work = path.join(ctx.dataDir, 'work');
    await fsp.mkdir(work, { recursive: true, mode: 0o700 });
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const file = path.join(work, `collect-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.zip`);
    const handle = await fsp.open(file, 'wx+', 0o600);
    try {
      const zip = new ZipWriter(handle);
      ctx.trace('info', `building ${file}`);
      const { members, notes } = await build(ctx, zip);
      const manifest = {
        kind: 'lr-collect',
        version: 1,
        createdAt: new Date().toISOString(),
        hostname: os.hostname(),
        jobId: ctx.jobId ?? null,
        members,
        notes,
      };
      await zip.add('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
      await zip.finish();
      await handle.sync();
      const st = await handle.stat();
      const windows = ctx.platform.name === 'win32';
      const accounts = windows ? null : await AccountNames.load(ctx.platform.options.sysroot);
      await ctx.emit({
        type: 'file',
        path: file,
        size: st.size,
        mode: windows ? windowsMode(file, st) : modeString(st.mode),
        owner: accounts ? accounts.user(st.uid) : fileOwner(file),
        mtime: st.mtime.toISOString(),
        atime: st.atime.toISOString(),
        ctime: st.ctime.toISOString(),
        offset: 0,
        members: members.length + 1,
      });
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(DATA_CHUNK_BYTES);
      for (let pos = 0; pos < st.size;) {
        if (ctx.signal.aborted) return;
        const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, st.size - pos), pos);
        if (bytesRead === 0) throw new CommandError('collect: the package shrank while it was sent');
        const chunk = Buffer.from(buf.subarray(0, bytesRead));
        hash.update(chunk);
        await ctx.sendData(pos, chunk);
        pos += bytesRead;
      }
      await ctx.emit({
        type: 'file-end',
        path: file,
        size: st.size,
        sha256: hash.digest('hex'),
        members: members.length + 1,
      });
    } finally {
      await handle.close();
      await fsp.rm(file, { force: true });
    }
  },
});
