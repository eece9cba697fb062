/**
 * Real single-file agent builds for the self-update tests (Linux and Windows), and what those tests read
 * back from the service: the device's inventory row and its `agent-update` entries in the command log.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentFileName, type AgentTarget } from '../../src/shared/wire/agent-release.js';
import { ROOT, type World } from './harness.js';

const pexec = promisify(execFile);

/** `npm run package:agent` for one target and version into `dir/build-VERSION`; the file's path. */
export async function packageAgent(dir: string, target: AgentTarget, version: string): Promise<string> {
  const out = join(dir, `build-${version}`);
  await pexec(
    process.execPath,
    [join(ROOT, 'scripts/package-agent.mjs'), '--target', target, '--version', version, '--out', out],
    { cwd: ROOT, timeout: 300_000 },
  );
  return join(out, agentFileName(target));
}

/**
 * A copy of a real build whose embedded script is damaged (`process.umask(63)` made a SyntaxError): it keeps
 * the build's version marker and executable format, is signed like any release, and dies at start.
 */
export function brokenCopy(build: string, dir: string): string {
  const bytes = readFileSync(build);
  const at = bytes.indexOf('process.umask(63)');
  if (at < 0) throw new Error(`${build}: the statement to damage is not in the build`);
  bytes.write('process.umask)63(', at, 'latin1');
  mkdirSync(dir, { recursive: true });
  const broken = join(dir, build.split(/[\\/]/).pop()!);
  writeFileSync(broken, bytes, { mode: 0o755 });
  return broken;
}

export interface UpdateLogEntry {
  commandLine: string;
  name: string;
  status: string;
  deviceId: string | null;
}

/** The device's `agent-update VERSION STATE` entries in the command log. */
export async function updateLog(world: World, deviceId: string): Promise<UpdateLogEntry[]> {
  const r = await world.lr(['log', '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as UpdateLogEntry[]).filter((e) => e.name === 'agent-update' && e.deviceId === deviceId);
}

/** The device's row in the inventory (online, agent version). */
export async function deviceRow(world: World, deviceId: string): Promise<{ online: boolean; agentVersion: string }> {
  const d = (await world.devices()).find((x) => x.id === deviceId) as unknown as
    { online: boolean; agentVersion: string } | undefined;
  if (!d) throw new Error('device not listed');
  return d;
}
