/**
 * Detection engines the agent can run on a file: tenant hash indicators (the list comes from the service
 * with the job), YARA (the `yara` program with rule files fetched from the library), ClamAV
 * (`clamscan`, signatures from its default database or from LR_CLAMAV_DB). Programs are run with argv
 * arrays, never through a shell. Each engine answers whether it ran and why not. On Windows, YARA does
 * not run yet (no engine the agent can load without a native build) and ClamAV is clamscan.exe on PATH.
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

/** Where `findProgram` looks: PATH's folders (`;`-separated on Windows, where `.exe` is appended). Pure. */
export function programCandidates(name: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'win32') {
    const pathVar = Object.entries(env).find(([k]) => k.toUpperCase() === 'PATH')?.[1] ?? '';
    return pathVar
      .split(';')
      .map((d) => d.trim().replace(/^"(.*)"$/, '$1'))
      .filter((d) => /^[A-Za-z]:\\/.test(d)) // absolute folders only: never the current folder
      .map((d) => path.win32.join(d, `${name}.exe`));
  }
  return (env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .concat(['/usr/bin', '/usr/local/bin'])
    .filter((d) => d !== '')
    .map((d) => path.posix.join(d, name));
}

export async function findProgram(name: string): Promise<string | null> {
  for (const p of programCandidates(name, process.platform, process.env)) {
    if (
      await access(p, 1).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return null;
}

export function exec(
  file: string,
  args: string[],
  signal: AbortSignal,
  timeoutMs = 10 * 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { signal, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({
        code: err ? ((err as { code?: number }).code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** ClamAV's signature folder: LR_CLAMAV_DB when set (tests, offline deployments), else clamscan's default. */
export function clamavDbArgs(): string[] {
  const db = process.env.LR_CLAMAV_DB;
  return db ? ['-d', db] : [];
}

export function indicatorsEngine(
  sha256: string,
  indicators: readonly string[] | undefined,
  total: number | undefined,
): EngineResult {
  if (indicators === undefined)
    return { engine: 'indicators', ran: false, verdict: 'skipped', detail: 'the service sent no indicator list' };
  if (indicators.includes(sha256))
    return { engine: 'indicators', ran: true, verdict: 'malicious', detail: `sha256 ${sha256} is a tenant indicator` };
  const of =
    total !== undefined && total > indicators.length
      ? ` (checked the first ${indicators.length} of ${total}: list truncated)`
      : '';
  return {
    engine: 'indicators',
    ran: true,
    verdict: 'clean',
    detail: `no match among ${indicators.length} tenant indicators${of}`,
  };
}

/** Why YARA cannot run on this OS, or null. */
export function yaraUnavailable(platform: NodeJS.Platform): string | null {
  return platform === 'win32' ? 'no YARA engine on Windows yet' : null;
}

export async function yaraEngine(
  file: string,
  ruleFiles: readonly string[],
  signal: AbortSignal,
): Promise<EngineResult> {
  const unavailable = yaraUnavailable(process.platform);
  if (unavailable) return { engine: 'yara', ran: false, verdict: 'skipped', detail: unavailable };
  const yara = await findProgram('yara');
  if (!yara) return { engine: 'yara', ran: false, verdict: 'skipped', detail: 'yara is not installed on the device' };
  if (ruleFiles.length === 0)
    return { engine: 'yara', ran: false, verdict: 'skipped', detail: 'no YARA rules (.yar, .yara) in the library' };
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
  if (matched.length > 0)
    return {
      engine: 'yara',
      ran: true,
      verdict: 'malicious',
      detail: `matched ${matched.join(', ')}${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
    };
  if (errors.length === ruleFiles.length)
    return { engine: 'yara', ran: true, verdict: 'error', detail: errors.join('; ') };
  return {
    engine: 'yara',
    ran: true,
    verdict: 'clean',
    detail: `no match with ${ruleFiles.length - errors.length} rule file(s)${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
  };
}

export async function clamavEngine(file: string, signal: AbortSignal): Promise<EngineResult> {
  const clamscan = await findProgram('clamscan');
  if (!clamscan)
    return {
      engine: 'clamav',
      ran: false,
      verdict: 'skipped',
      detail: 'ClamAV (clamscan) is not installed on the device',
    };
  const r = await exec(clamscan, ['--no-summary', ...clamavDbArgs(), '--', file], signal);
  if (r.code === 0) return { engine: 'clamav', ran: true, verdict: 'clean', detail: 'no signature matched' };
  if (r.code === 1) {
    const sigs = [...r.stdout.matchAll(/: (.+) FOUND$/gm)].map((m) => m[1]);
    return { engine: 'clamav', ran: true, verdict: 'malicious', detail: `signature ${sigs.join(', ')}` };
  }
  const why =
    (r.stderr.trim() || r.stdout.trim()).split('\n').find((l) => /error|no supported database/i.test(l)) ??
    `exit ${r.code}`;
  return { engine: 'clamav', ran: true, verdict: 'error', detail: why.replace(/^LibClamAV Error: /, '') };
}

export function overall(results: readonly EngineResult[]): Verdict | 'unknown' {
  if (results.some((r) => r.verdict === 'malicious')) return 'malicious';
  if (results.some((r) => r.verdict === 'suspicious')) return 'suspicious';
  if (results.some((r) => r.verdict === 'clean')) return 'clean';
  return 'unknown';
}

export interface DefenderThreat {
  signature: string;
  /** The resources Defender names for the threat (`file : C:\...` lines), without their type. */
  paths: string[];
}

/**
 * The threats in MpCmdRun's `-Scan` output, and nothing else: its `Threat : NAME` lines and the `file : PATH`
 * resource lines under each. Only this part is read because MpCmdRun is the antivirus product's own
 * command-line interface (its exit code says the rest: 0 no threat, 2 threats found). Pure.
 */
export function parseDefenderThreats(output: string): DefenderThreat[] {
  const threats: DefenderThreat[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const threat = /^\s*Threat\s*:\s*(.+?)\s*$/.exec(raw);
    if (threat) {
      threats.push({ signature: threat[1]!, paths: [] });
      continue;
    }
    const file = /^\s*file\s*:\s*(.+?)\s*$/i.exec(raw);
    if (file && threats.length > 0) threats[threats.length - 1]!.paths.push(file[1]!);
  }
  return threats;
}

/** MpCmdRun's output as text: UTF-16LE when it wrote wide characters, else as is. Pure. */
export function defenderOutputText(bytes: Buffer): string {
  const nuls = bytes.subarray(0, 512).filter((b) => b === 0).length;
  return nuls > Math.min(bytes.length, 512) / 4
    ? bytes.toString('utf16le').replace(/^\uFEFF/, '')
    : bytes.toString('utf8');
}
