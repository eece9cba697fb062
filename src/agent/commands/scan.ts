/**
 * scan [quick|full] [-path P]: an antivirus scan with ClamAV's clamscan (argv, never a shell), findings
 * streamed as records as clamscan reports them. quick: the usual drop folders (/tmp, /var/tmp, /dev/shm,
 * /home, /root); full: / without crossing file systems; -path: that path. Signatures from clamscan's
 * database, or from LR_CLAMAV_DB.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { CommandError, defineCommand } from '../command.js';
import { clamavDbArgs, findProgram } from '../engines.js';
import { refuseProtected } from '../protected-paths.js';

const QUICK = ['/tmp', '/var/tmp', '/dev/shm', '/home', '/root'];

export const scanCommand = defineCommand({
  spec: findCommand('scan')!,
  schema: z.object({ mode: z.enum(['quick', 'full']).optional(), path: z.string().min(1).optional() }),
  async run(ctx, params) {
    // A protected folder (the agent's own data, a service's: ../protected-paths.ts) is never scanned by name.
    if (params.path) await refuseProtected(ctx, 'scan', ctx.resolvePath(params.path));
    const clamscan = await findProgram('clamscan');
    if (!clamscan) throw new CommandError("scan: no antivirus engine installed (ClamAV's clamscan not found)");
    const mode = params.mode ?? 'quick';
    let paths: string[];
    if (params.path) paths = [ctx.resolvePath(params.path)];
    else if (mode === 'full') paths = ['/'];
    else {
      paths = [];
      for (const p of QUICK) if (await access(p).then(() => true, () => false)) paths.push(p);
    }
    const args = ['-r', '--no-summary', '--infected', ...clamavDbArgs(), ...(mode === 'full' ? ['--cross-fs=no'] : []), '--', ...paths];
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
        if (errors <= 100) await ctx.emit({ type: 'error', path: err[1], signature: null, detail: err[2], engine: 'clamav' });
      }
    }
    const code = await exited;
    if (ctx.signal.aborted) return;
    if (code === 2 && findings === 0) {
      const why = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.trim().split('\n')[0] ?? 'exit 2';
      throw new CommandError(`scan: clamscan failed: ${why.replace(/^LibClamAV Error: /, '')}`);
    }
    await ctx.emit({ type: 'summary', path: paths.join(' '), signature: null, detail: `${findings} finding(s), ${errors} error(s); mode ${params.path ? 'path' : mode}`, engine: 'clamav' });
  },
});
