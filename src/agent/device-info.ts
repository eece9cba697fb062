/** What the agent tells the service about its device. */
import { hostname, type as osType, release, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import type { DeviceInfo } from '../shared/wire/protocol.js';
import { AGENT_TARGETS, type AgentTarget } from '../shared/wire/agent-release.js';
import { AGENT_BUILD, AGENT_VERSION } from './version.js';

/** The build target this process is (`linux-x64`, `linux-arm64`, `win-x64`), or null on another OS/CPU. */
export function currentAgentTarget(
  platform: string = process.platform,
  arch: string = process.arch,
): AgentTarget | null {
  const target = `${platform === 'win32' ? 'win' : platform}-${arch}`;
  return (AGENT_TARGETS as readonly string[]).includes(target) ? (target as AgentTarget) : null;
}

/** `lr-agent --version`: `lr-agent <version> (build <commit>, <target>, node <version>)`. */
export function agentVersionLine(): string {
  return `lr-agent ${AGENT_VERSION} (build ${AGENT_BUILD}, ${currentAgentTarget() ?? `${process.platform}-${process.arch}`}, node ${process.versions.node})`;
}

function prettyOs(): string {
  if (platform() === 'linux') {
    try {
      const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
      if (m?.[1]) return `${m[1]} (${osType()} ${release()})`;
    } catch {
      /* fall through */
    }
  }
  return `${osType()} ${release()}`;
}

export function deviceInfo(name: string, isolated = false): DeviceInfo {
  const p = platform();
  const target = currentAgentTarget();
  return {
    name,
    hostname: hostname(),
    os: prettyOs(),
    platform: p === 'darwin' || p === 'win32' ? p : 'linux',
    agentVersion: AGENT_VERSION,
    ...(target ? { agentTarget: target } : {}),
    agentBuild: AGENT_BUILD.slice(0, 64),
    isolated,
  };
}
