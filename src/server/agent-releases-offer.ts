/**
 * Which release, if any, a connected agent is offered (pure): the newest release of its target that is
 * newer than the version its hello announced (never a downgrade, never the same version), meant for all
 * devices or for a group the device is in, and not one the device refused or rolled back.
 */
import { AGENT_VERSION_PATTERN, compareAgentVersions, type AgentTarget } from '../shared/wire/agent-release.js';
import type { AgentRelease } from './agent-releases.js';

export interface OfferDevice {
  agentVersion: string;
  /** From the hello; agents before self-update do not send it (see deviceTarget). */
  agentTarget: AgentTarget | undefined;
  platform: string;
  /** The device group the device is in (groups.ts: assigned, by rule, or the default group). */
  group: string;
  /** Releases it reported `refused` or `rolled_back` for. */
  refused: ReadonlySet<string>;
}

/**
 * The target of a device. Agents that predate `agentTarget` in the hello are taken as linux-x64 (Linux) and
 * win-x64 (Windows), the only builds there were; an agent of another architecture refuses an offer for a
 * target that is not its own (update/updater.ts), so a wrong guess costs one refused offer, never a run.
 */
export function deviceTarget(d: Pick<OfferDevice, 'agentTarget' | 'platform'>): AgentTarget | null {
  if (d.agentTarget) return d.agentTarget;
  if (d.platform === 'linux') return 'linux-x64';
  if (d.platform === 'win32') return 'win-x64';
  return null;
}

export function chooseOffer(device: OfferDevice, releases: readonly AgentRelease[]): AgentRelease | null {
  const target = deviceTarget(device);
  if (!target || !AGENT_VERSION_PATTERN.test(device.agentVersion)) return null;
  let best: AgentRelease | null = null;
  for (const r of releases) {
    if (r.target !== target) continue;
    if (r.group !== null && r.group !== device.group) continue;
    if (device.refused.has(r.id)) continue;
    if (compareAgentVersions(r.version, device.agentVersion) <= 0) continue;
    if (!best || compareAgentVersions(r.version, best.version) > 0) best = r;
  }
  return best;
}
