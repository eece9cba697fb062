/**
 * scan [quick|full] [-path P]: an antivirus scan with ClamAV's clamscan (argv, never a shell), findings
 * streamed as records as clamscan reports them. quick: the usual drop folders (/tmp, /var/tmp, /dev/shm,
 * /home, /root); full: / without crossing file systems; -path: that path. Signatures from clamscan's
 * database, or from LR_CLAMAV_DB.
 *
 * On Windows: Microsoft Defender's command-line scanner (`%ProgramFiles%\Windows Defender\MpCmdRun.exe -Scan
 * -ScanType 1|2|3 [-File P] -DisableRemediation`: quick, full, a path; Defender reports and removes nothing),
 * refused in one line where it is not present. Of its output only the threat lines are read (the product's
 * own interface; see parseDefenderThreats), with its exit code.
 */
import { execFile, spawn } from 'node:child_process';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import type { JobContext } from '../command.js';
import { clamavDbArgs, defenderOutputText, findProgram, parseDefenderThreats } from '../engines.js';
import { refuseProtected } from '../protected-paths.js';

const QUICK = ['/tmp', '/var/tmp', '/dev/shm', '/home', '/root'];

export const scanCommand = defineCommand({
  spec: commandSpec('scan'),
  schema: paramsSchema(commandSpec('scan')),
  async run(ctx, params) {
    // A protected folder (the agent's own data, a service's: ../protected-paths.ts) is never scanned by name.
    if (params.path) await refuseProtected(ctx, 'scan', ctx.resolvePath(params.path));
    if (ctx.platform.name === 'win32')
      return scanWithDefender(ctx, params.mode ?? 'quick', params.path ? ctx.resolvePath(params.path) : null);
    const clamscan = await findProgram('clamscan');
    if (!clamscan) throw new CommandError("scan: no antivirus engine installed (ClamAV's clamscan not found)");
    const mode = params.mode ?? 'quick';
    let paths: string[];
    if (params.path) paths = [ctx.resolvePath(params.path)];
    else if (mode === 'full') paths = ['/'];
    else {
      paths = [];
      for (const p of QUICK)
        if (
          await access(p).then(
            () => true,
            () => false,
          )
        )
          paths.push(p);
    }
    const args = [
      '-r',
      '--no-summary',
      '--infected',
      ...clamavDbArgs(),
      ...(mode === 'full' ? ['--cross-fs=no'] : []),
      '--',
      ...paths,
    ];
    ctx.trace('info', `clamscan ${args.join(' ')}`);
    const child = spawn(clamscan, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.signal });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    child.on('error', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let findings = 0;
    let errors = 0;
    for await (const line of createInterface({ input: child.stdout })) {
      const found = /^(.*): (.+) FOUND$/.exec(line);
      if (found) {
        findings++;
        await ctx.emit({ type: 'finding', path: found[1], signature: found[2], engine: 'clamav' });
        continue;
      }
      const err = /^(.*): (.+) ERROR$/.exec(line);
      if (err) {
        errors++;
        if (errors <= 100)
          await ctx.emit({ type: 'error', path: err[1], signature: null, detail: err[2], engine: 'clamav' });
      }
    }
    const code = await exited;
    if (ctx.signal.aborted) return;
    if (code === 2 && findings === 0) {
      const why = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.trim().split('\n')[0] ?? 'exit 2';
      throw new CommandError(`scan: clamscan failed: ${why.replace(/^LibClamAV Error: /, '')}`);
    }
    await ctx.emit({
      type: 'summary',
      path: paths.join(' '),
      signature: null,
      detail: `${findings} finding(s), ${errors} error(s); mode ${params.path ? 'path' : mode}`,
      engine: 'clamav',
    });
  },
});

/** Where Defender keeps its command-line scanner. Pure. */
export function defenderScanner(env: NodeJS.ProcessEnv): string {
  const programFiles = env.ProgramFiles ?? env.PROGRAMFILES ?? 'C:\\Program Files';
  return path.win32.join(programFiles, 'Windows Defender', 'MpCmdRun.exe');
}

/** MpCmdRun's arguments: -ScanType 1 quick, 2 full, 3 with -File for one path. Pure. */
export function defenderArgs(mode: 'quick' | 'full', target: string | null): string[] {
  if (target) return ['-Scan', '-ScanType', '3', '-File', target, '-DisableRemediation'];
  return ['-Scan', '-ScanType', mode === 'full' ? '2' : '1', '-DisableRemediation'];
}

async function scanWithDefender(ctx: JobContext, mode: 'quick' | 'full', target: string | null): Promise<void> {
  const scanner = defenderScanner(process.env);
  if (
    !(await stat(scanner).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    throw new CommandError(
      `scan: no antivirus engine: Microsoft Defender's command-line scanner is not present (${scanner})`,
    );
  const args = defenderArgs(mode, target);
  ctx.trace('info', `${scanner} ${args.join(' ')}`);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    // a full scan takes hours: no timeout, the job's signal stops it
    execFile(
      scanner,
      args,
      { signal: ctx.signal, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (err, stdout) => {
        const exit = err ? (err as { code?: unknown }).code : 0;
        if (err && typeof exit !== 'number')
          return reject(new CommandError(`scan: MpCmdRun could not run: ${err.message.split('\n')[0]}`));
        resolve({ code: exit as number, output: defenderOutputText(stdout) });
      },
    );
  });
  if (ctx.signal.aborted) return;
  const threats = parseDefenderThreats(output);
  let findings = 0;
  for (const t of threats) {
    for (const p of t.paths.length > 0 ? t.paths : [null]) {
      findings++;
      await ctx.emit({ type: 'finding', path: p, signature: t.signature, engine: 'defender' });
    }
  }
  if (code !== 0 && code !== 2)
    throw new CommandError(`scan: MpCmdRun failed (exit ${code})${findings ? ` after ${findings} finding(s)` : ''}`);
  await ctx.emit({
    type: 'summary',
    path: target ?? '',
    signature: null,
    detail: `${findings} finding(s); mode ${target ? 'path' : mode}; Microsoft Defender (nothing remediated)`,
    engine: 'defender',
  });
}
