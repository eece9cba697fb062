/**
 * analyze file|process TARGET: a verdict from several engines, with one record per engine (ran or not,
 * verdict, what it found or why it did not run) and an overall record.
 * - indicators: the service passes the tenant's SHA-256 indicators with the job (`_indicators`, comma
 *   separated, bounded; `_indicatorsTotal` tells when the list was cut) and the agent compares the hash
 *   it computes itself, so the verdict is about the bytes on the device at analysis time.
 * - yara: the library's .yar/.yara files (`_yara`: JSON list of {name, sha256, size, url} with one-time
 *   download URLs), fetched into a private temp folder, verified, run with `yara`, removed.
 * - clamav: `clamscan` with its database (LR_CLAMAV_DB overrides the folder).
 * On Windows the same engines and records: indicators as above, yara reports ran:false (no YARA engine for
 * Windows yet), clamav runs ClamAV for Windows' clamscan.exe when it is on PATH.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import { clamavEngine, indicatorsEngine, overall, yaraEngine, type EngineResult } from '../engines.js';
import { fsReason } from '../fs/fs-errors.js';
import { NotSupportedError } from '../platform/types.js';
import { refuseProtected } from '../protected-paths.js';
import { downloadFromService } from '../service-download.js';
import { describeError } from '../../shared/errors.js';

const yaraFile = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  url: z.string(),
});

function sha256File(p: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(p, { signal })
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

export const analyzeCommand = defineCommand({
  spec: commandSpec('analyze'),
  schema: paramsSchema(commandSpec('analyze')).extend({
    _indicators: z.string().optional(),
    _indicatorsTotal: z.coerce.number().int().nonnegative().optional(),
    _yara: z.string().optional(),
  }),
  async run(ctx, params) {
    let file: string;
    if (params.type === 'process') {
      if (!/^\d+$/.test(params.target)) throw new CommandError(`analyze: process: ${params.target} is not a pid`);
      const image = await ctx.platform.processImage(Number(params.target)).catch((e: unknown) => {
        // a platform that cannot find a process's image yet answers in one line, naming what works instead
        if (e instanceof NotSupportedError)
          throw new CommandError(
            `analyze: process ${params.target}: finding a process's image is not supported on this platform yet (analyze file PATH works)`,
          );
        throw e;
      });
      if (!image)
        throw new CommandError(`analyze: process ${params.target}: no such process, or its image is unreadable`);
      file = image;
    } else {
      file = ctx.resolvePath(params.target);
    }
    // Library YARA rules could tell the bytes of a key bit by bit: protected files are never analysed.
    await refuseProtected(ctx, 'analyze', file);
    const st = await fsp.stat(file).catch((e: unknown) => {
      throw new CommandError(`analyze: ${file}: ${fsReason(e)}`);
    });
    if (!st.isFile()) throw new CommandError(`analyze: ${file}: not a regular file`);
    const sha256 = await sha256File(file, ctx.signal).catch((e: unknown) => {
      throw new CommandError(`analyze: ${file}: ${fsReason(e)}`);
    });
    const results: EngineResult[] = [];
    const indicators =
      params._indicators === undefined
        ? undefined
        : params._indicators.split(',').filter((s) => /^[0-9a-f]{64}$/.test(s));
    results.push(indicatorsEngine(sha256, indicators, params._indicatorsTotal));

    // YARA rules from the library, fetched for this job only.
    let ruleFiles: string[] = [];
    let tmp: string | null = null;
    let fetchError: string | null = null;
    try {
      const list = params._yara ? z.array(yaraFile).parse(JSON.parse(params._yara)) : [];
      if (list.length > 0 && ctx.dataDir && ctx.service) {
        tmp = await fsp.mkdtemp(path.join(ctx.dataDir, 'analyze-'));
        for (const r of list) {
          const dest = path.join(tmp, r.name);
          const got = await downloadFromService(r.url, dest, {
            service: ctx.service,
            size: r.size,
            signal: ctx.signal,
            command: 'analyze',
            what: r.name,
          });
          if (got.sha256 !== r.sha256) throw new Error(`${r.name}: SHA-256 differs from the library's`);
          ruleFiles.push(dest);
        }
      }
    } catch (e) {
      fetchError = describeError(e);
      ruleFiles = [];
    }
    try {
      if (fetchError)
        results.push({ engine: 'yara', ran: false, verdict: 'error', detail: `rules not fetched: ${fetchError}` });
      else results.push(await yaraEngine(file, ruleFiles, ctx.signal));
    } finally {
      if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
    }
    results.push(await clamavEngine(file, ctx.signal));
    for (const r of results) await ctx.emit({ ...r, path: file, sha256 });
    // An engine that errored gave no verdict: it is not counted as run.
    const ran = results.filter((r) => r.ran && r.verdict !== 'error').map((r) => r.engine);
    const errored = results.filter((r) => r.verdict === 'error').map((r) => r.engine);
    const detail = `${ran.length > 0 ? `engines run: ${ran.join(', ')}` : 'no engine could run'}${errored.length > 0 ? `; failed: ${errored.join(', ')}` : ''}`;
    await ctx.emit({ engine: 'overall', ran: ran.length > 0, verdict: overall(results), detail, path: file, sha256 });
  },
});
