/**
 * findfile: walks one file system from -path (default /) and streams every entry whose base name matches
 * the name or glob, as it is found. Never follows symlinks; skips /proc, /sys and /dev; folders it cannot
 * read are counted and reported at the end rather than failing the search.
 *
 * On Windows names match case-insensitively and, without -path, every fixed drive is walked in turn (C:\
 * first; removable, network and optical drives never), each drive as one file system. Under Wine the drive
 * that maps the host's `/` (Z:) is left out: it is the Linux host, not the Windows system (see volumes.ts).
 */
import fs from 'node:fs';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand, type JobContext } from '../command.js';
import { devicePath, isWindows } from '../fs/device-path.js';
import { fileTypeFromMode, fileTypeOfEntry } from '../fs/file-mode.js';
import { fsReason } from '../fs/fs-errors.js';
import { PatternError, compileNamePattern, type NameMatcher } from '../fs/glob.js';
import { childPath, walkTree, windowsChildPath } from '../fs/walk.js';
import { listFixedDrives } from '../platform/windows/volumes.js';

/** Pseudo file systems that are never searched (they are their own file systems on Linux anyway). */
const SKIPPED = new Set(['/proc', '/sys', '/dev']);
const NOTHING_SKIPPED: ReadonlySet<string> = new Set();

interface Match {
  path: string;
  type: string;
  size: number | null;
  mtime: string | null;
}

/** The folders to walk: -path, or every fixed drive on Windows, or `/`. */
async function searchRoots(ctx: JobContext, path: string | undefined): Promise<string[]> {
  if (path !== undefined) return [devicePath(ctx, 'findfile', path)];
  if (!isWindows(ctx)) return [ctx.resolvePath('/')];
  const drives = listFixedDrives();
  for (const root of drives.hostRoot) {
    await ctx.text(
      `findfile: ${root} not searched: under Wine it is the host's own root file system (give -path ${root} to search it)\n`,
    );
  }
  if (drives.roots.length === 0) throw new CommandError('findfile: no fixed drive found on this device');
  return drives.roots;
}

export const findfileCommand = defineCommand({
  spec: commandSpec('findfile'),
  schema: paramsSchema(commandSpec('findfile')),
  async run(ctx, params) {
    const windows = isWindows(ctx);
    const roots = await searchRoots(ctx, params.path);
    for (const root of roots) {
      let rootStat: fs.Stats;
      try {
        rootStat = await fs.promises.stat(root);
      } catch (err) {
        throw new CommandError(`findfile: ${root}: ${fsReason(err)}`);
      }
      if (!rootStat.isDirectory()) throw new CommandError(`findfile: ${root}: not a directory`);
    }
    let matches: NameMatcher;
    try {
      matches = compileNamePattern(params.name, { ignoreCase: windows });
    } catch (err) {
      if (err instanceof PatternError) throw new CommandError(`findfile: ${err.message}`);
      throw err;
    }
    const join = windows ? windowsChildPath : childPath;
    let unreadable = 0;
    for (const root of roots) {
      const summary = await walkTree<Match>({
        root,
        skip: windows ? NOTHING_SKIPPED : SKIPPED,
        signal: ctx.signal,
        join,
        visit(dir, entry) {
          if (!matches(entry.name)) return undefined;
          const p = join(dir, entry.name);
          // Only matches are stat()ed: the walk itself needs nothing but readdir's entry types.
          let st: fs.Stats | undefined;
          try {
            st = fs.lstatSync(p, { throwIfNoEntry: false });
            if (!st) return undefined; // deleted since readdir
          } catch {
            // A folder readable but not searchable (mode r--): the name is known, its metadata is not.
            return { path: p, type: fileTypeOfEntry(entry), size: null, mtime: null };
          }
          return { path: p, type: fileTypeFromMode(st.mode), size: st.size, mtime: st.mtime.toISOString() };
        },
        async flush(found) {
          for (const m of found) await ctx.emit({ ...m });
        },
      });
      ctx.trace(
        'debug',
        `searched ${summary.directories} folders under ${root}; ${summary.otherFileSystems} mount points not crossed`,
      );
      unreadable += summary.unreadable;
    }
    if (unreadable > 0) {
      const n = unreadable;
      await ctx.text(`findfile: ${n} ${n === 1 ? 'directory' : 'directories'} could not be read\n`);
    }
  },
});
