/** What the agent tells the service about its device. */
import { hostname, type as osType, release, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import type { DeviceInfo } from '../shared/protocol.js';
import { AGENT_VERSION } from './version.js';

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
  return {
    name,
    hostname: hostname(),
    os: prettyOs(),
    platform: p === 'darwin' || p === 'win32' ? p : 'linux',
    agentVersion: AGENT_VERSION,
    isolated,
  };
}
