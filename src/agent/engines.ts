/**
 * Detection engines the agent can run on a file: tenant hash indicators (the list comes from the service
 * with the job), YARA (the `yara` program with rule files fetched from the library), ClamAV
 * (`clamscan`, signatures from its default database or from LR_CLAMAV_DB). Programs are run with argv
 * arrays, never through a shell. Each engine answers whether it ran and why not.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';

export type Verdict = 'clean' | 'malicious' | 'suspicious' | 'error' | 'skipped';

export interface EngineResult {
  engine: 'indicators' | 'yara' | 'clamav';
  ran: boolean;
  verdict: Verdict;
  detail: string;
}

export async function findProgram(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (await access(p, 1).then(() => true, () => false)) return p;
  }
  return null;
}

export function exec(file: string, args: string[], signal: AbortSignal, timeoutMs = 10 * 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { signal, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** ClamAV's signature folder: LR_CLAMAV_DB when set (tests, offline deployments), else clamscan's default. */
export function clamavDbArgs(): string[] {
  const db = process.env.LR_CLAMAV_DB;
  return db ? ['-d', db] : [];
}

export function indicatorsEngine(sha256: string, indicators: readonly string[] | undefined, total: number | undefined): EngineResult {
  if (indicators === undefined) return { engine: 'indicators', ran: false, verdict: 'skipped', detail: 'the service sent no indicator list' };
  if (indicators.includes(sha256)) return { engine: 'indicators', ran: true, verdict: 'malicious', detail: `sha256 ${sha256} is a tenant indicator` };
  const of = total !== undefined && total > indicators.length ? ` (checked the first ${indicators.length} of ${total}: list truncated)` : '';
  return { engine: 'indicators', ran: true, verdict: 'clean', detail: `no match among ${indicators.length} tenant indicators${of}` };
}

export async function yaraEngine(file: string, ruleFiles: readonly string[], signal: AbortSignal): Promise<EngineResult> {
  const yara = await findProgram('yara');
  if (!yara) return { engine: 'yara', ran: false, verdict: 'skipped', detail: 'yara is not installed on the device' };
  if (ruleFiles.length === 0) return { engine: 'yara', ran: false, verdict: 'skipped', detail: 'no YARA rules (.yar, .yara) in the library' };
  const matched: string[] = [];
  const errors: string[] = [];
  for (const rules of ruleFiles) {
    const r = await exec(yara, ['-w', rules, file], signal); // yara 4 takes no '--': both paths are absolute
    if (r.code !== 0) {
      errors.push(`${path.basename(rules)}: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`);
      continue;
    }
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+)\s/.exec(line);
      if (m) matched.push(`${m[1]} (${path.basename(rules)})`);
    }
  }
  if (matched.length > 0) return { engine: 'yara', ran: true, verdict: 'malicious', detail: `matched ${matched.join(', ')}${errors.length ? `; errors: ${errors.join('; ')}` : ''}` };
  if (errors.length === ruleFiles.length) return { engine: 'yara', ran: true, verdict: 'error', detail: errors.join('; ') };
  return { engine: 'yara', ran: true, verdict: 'clean', detail: `no match with ${ruleFiles.length - errors.length} rule file(s)${errors.length ? `; errors: ${errors.join('; ')}` : ''}` };
}

export async function clamavEngine(file: string, signal: AbortSignal): Promise<EngineResult> {
  const clamscan = await findProgram('clamscan');
  if (!clamscan) return { engine: 'clamav', ran: false, verdict: 'skipped', detail: 'ClamAV (clamscan) is not installed on the device' };
  const r = await exec(clamscan, ['--no-summary', ...clamavDbArgs(), '--', file], signal);
  if (r.code === 0) return { engine: 'clamav', ran: true, verdict: 'clean', detail: 'no signature matched' };
  if (r.code === 1) {
    const sigs = [...r.stdout.matchAll(/: (.+) FOUND$/gm)].map((m) => m[1]);
    return { engine: 'clamav', ran: true, verdict: 'malicious', detail: `signature ${sigs.join(', ')}` };
  }
  const why = (r.stderr.trim() || r.stdout.trim()).split('\n').find((l) => /error|no supported database/i.test(l)) ?? `exit ${r.code}`;
  return { engine: 'clamav', ran: true, verdict: 'error', detail: why.replace(/^LibClamAV Error: /, '') };
}

export function overall(results: readonly EngineResult[]): Verdict | 'unknown' {
  if (results.some((r) => r.verdict === 'malicious')) return 'malicious';
  if (results.some((r) => r.verdict === 'suspicious')) return 'suspicious';
  if (results.some((r) => r.verdict === 'clean')) return 'clean';
  return 'unknown';
}
