/**
 * putfile: copies a library file into the agent's working folder. The service sends a one-time HTTPS
 * URL with the file's SHA-256 and size; the bytes stream to a partial file, are verified, then renamed
 * into place. Without -keep the file is removed at the device's next boot (see work-folder.ts).
 * The working folder is the one place of the agent's (protected) data folder that commands write into:
 * it must really be DATA/work (not a link elsewhere), and the name is a library name (no `/`, no `..`,
 * no leading dot), so a put file never lands on the agent's key, journal or quarantine.
 *
 * On Windows the file goes to the session's current folder, as the reference console puts it (`cd
 * C:\Temp` then `putfile tool.exe`), and stays there (-keep is implied: only the working folder is cleaned
 * at boot). The folder and name are judged like any Windows path (no device name, no stream) and a
 * protected folder (the agent's own data folder, a service's) is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { libraryNameProblem } from '../../shared/commands/library-rules.js';
import { CommandError, defineCommand, type JobContext } from '../command.js';
import { agentPaths } from '../config.js';
import { downloadFromService } from '../service-download.js';
import { devicePath, isWindows } from '../fs/device-path.js';
import { windowsPathProblem } from '../platform/windows/paths.js';
import { realPath, refuseProtected } from '../protected-paths.js';
import { PART_SUFFIX, recordPut } from '../work-folder.js';

export const libraryFileParams = {
  _sha256: z.string().regex(/^[0-9a-f]{64}$/),
  _size: z.number().int().nonnegative(),
  _url: z.string().url(),
};

/** The agent's data folder and the service: both are set by lr-agent; without them there is no library. */
export function fileEnvironment(
  ctx: JobContext,
  command: string,
): { dataDir: string; service: NonNullable<JobContext['service']> } {
  if (!ctx.dataDir || !ctx.service)
    throw new CommandError(`${command}: this agent was started without a data folder or service link`);
  return { dataDir: ctx.dataDir, service: ctx.service };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export const putfileCommand = defineCommand({
  spec: commandSpec('putfile'),
  schema: paramsSchema(commandSpec('putfile')).extend({
    name: z.string().refine((n) => libraryNameProblem(n) === null, 'not a library file name'),
    ...libraryFileParams,
  }),
  async run(ctx, params) {
    if (isWindows(ctx)) return putIntoCurrentFolder(ctx, params);
    const { dataDir, service } = fileEnvironment(ctx, 'putfile');
    const workDir = agentPaths(dataDir).work;
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const target = join(workDir, params.name);
    // Resolved, not taken as written: a working folder swapped for a link must not redirect the write.
    const expected = join(await realPath(dataDir), 'work', params.name);
    const real = await realPath(target);
    if (real !== expected) {
      throw new CommandError(`putfile: refused: ${target} resolves to ${real}, outside the agent's working folder`);
    }
    if (!params.overwrite && (await exists(target))) {
      throw new CommandError(`putfile: ${params.name} is already in the working folder (add -overwrite to replace it)`);
    }
    const bootId = await ctx.platform.bootId();
    const part = join(workDir, `.${params.name}.${randomBytes(6).toString('hex')}${PART_SUFFIX}`);
    const got = await downloadFromService(params._url, part, {
      service,
      size: params._size,
      signal: ctx.signal,
      command: 'putfile',
      what: params.name,
    });
    if (got.size !== params._size || got.sha256 !== params._sha256) {
      await rm(part, { force: true });
      throw new CommandError(
        `putfile: ${params.name}: the downloaded file does not match the library (size ${got.size}, sha256 ${got.sha256}; expected ${params._size}, ${params._sha256})`,
      );
    }
    if (ctx.signal.aborted) {
      await rm(part, { force: true });
      return;
    }
    // Checked again: another putfile of the same name may have finished meanwhile.
    if (!params.overwrite && (await exists(target))) {
      await rm(part, { force: true });
      throw new CommandError(`putfile: ${params.name} is already in the working folder (add -overwrite to replace it)`);
    }
    await rename(part, target);
    const keep = params.keep === true;
    await recordPut(workDir, params.name, keep, bootId);
    ctx.trace('info', `${params.name} (${got.size} bytes) put into ${workDir}${keep ? '' : ', removed at next boot'}`);
    await ctx.emit({ name: params.name, path: target, size: got.size, sha256: got.sha256, keep });
  },
});

interface PutParams {
  name: string;
  overwrite?: boolean;
  _sha256: string;
  _size: number;
  _url: string;
}

/** Windows: the library file into the session's folder, through a partial file verified then renamed. */
async function putIntoCurrentFolder(ctx: JobContext, params: PutParams): Promise<void> {
  const { service } = fileEnvironment(ctx, 'putfile');
  const folder = devicePath(ctx, 'putfile', '.');
  const target = win32.join(folder, params.name);
  const problem = windowsPathProblem(target);
  if (problem) throw new CommandError(`putfile: ${target}: ${problem}`, 'refused');
  await refuseProtected(ctx, 'putfile', target);
  const taken = (): Promise<CommandError | null> =>
    exists(target).then((yes) =>
      yes && !params.overwrite
        ? new CommandError(`putfile: ${target} already exists (add -overwrite to replace it)`)
        : null,
    );
  const before = await taken();
  if (before) throw before;
  const part = win32.join(folder, `.${params.name}.${randomBytes(6).toString('hex')}${PART_SUFFIX}`);
  const got = await downloadFromService(params._url, part, {
    service,
    size: params._size,
    signal: ctx.signal,
    command: 'putfile',
    what: params.name,
  });
  if (got.size !== params._size || got.sha256 !== params._sha256) {
    await rm(part, { force: true });
    throw new CommandError(
      `putfile: ${params.name}: the downloaded file does not match the library (size ${got.size}, sha256 ${got.sha256}; expected ${params._size}, ${params._sha256})`,
    );
  }
  const after = ctx.signal.aborted ? null : await taken();
  if (ctx.signal.aborted || after) {
    await rm(part, { force: true });
    if (after) throw after;
    return;
  }
  await rename(part, target);
  ctx.trace('info', `${params.name} (${got.size} bytes) put into ${folder}`);
  await ctx.emit({ name: params.name, path: target, size: got.size, sha256: got.sha256, keep: true });
}
