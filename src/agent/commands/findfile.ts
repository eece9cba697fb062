/**
 * findfile: walks one file system from -path (default /) and streams every entry whose base name matches
 * the name or glob, as it is found. Never follows symlinks; skips /proc, /sys and /dev; folders it cannot
 * read are counted and reported at the end rather than failing the search.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { CommandError, defineCommand } from '../command.js';
import { fileTypeFromMode, fileTypeOfEntry } from '../fs/file-mode.js';
import { fsReason } from '../fs/fs-errors.js';
import { PatternError, compileNamePattern, type NameMatcher } from '../fs/glob.js';
import { childPath, walkTree } from '../fs/walk.js';

/** Pseudo file systems that are never searched (they are their own file systems on Linux anyway). */
const SKIPPED = new Set(['/proc', '/sys', '/dev']);

interface Match {
  path: string;
  type: string;
  size: number | null;
  mtime: string | null;
}

export const findfileCommand = defineCommand({
  spec: findCommand('findfile')!,
  schema: z.object({ name: z.string().min(1), path: z.string().min(1).optional() }),
  async run(ctx, params) {
    const root = ctx.resolvePath(params.path ?? '/');
    let rootStat: fs.Stats;
    try {
      rootStat = await fs.promises.stat(root);
    } catch (err) {
      throw new CommandError(`findfile: ${root}: ${fsReason(err)}`);
    }
    if (!rootStat.isDirectory()) throw new CommandError(`findfile: ${root}: not a directory`);
    let matches: NameMatcher;
    try {
      matches = compileNamePattern(params.name);
    } catch (err) {
      if (err instanceof PatternError) throw new CommandError(`findfile: ${err.message}`);
      throw err;
    }
    const summary = await walkTree<Match>({
      root,
      skip: SKIPPED,
      signal: ctx.signal,
      visit(dir, entry) {
        if (!matches(entry.name)) return undefined;
        const p = childPath(dir, entry.name);
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
    ctx.trace('debug', `searched ${summary.directories} folders; ${summary.otherFileSystems} mount points not crossed`);
    if (summary.unreadable > 0) {
      const n = summary.unreadable;
      await ctx.text(`findfile: ${n} ${n === 1 ? 'directory' : 'directories'} could not be read\n`);
    }
  },
});
