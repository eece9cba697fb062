/**
 * The agent in the foreground, as `lr-agent start` runs it (also as the child of the self-update supervisor,
 * `lr-agent service`), with `status.json` in its data folder kept up to date for `lr-agent status`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '../run-agent.js';
import { AGENT_STATUS_FILE, type AgentRunStatus } from './linux-unit.js';

const STATUS_POLL_MS = 1_000;

/**
 * `lr-agent start` (and the child the supervisor `lr-agent service` runs): the agent in the foreground until
 * SIGINT/SIGTERM,
 * keeping `status.json` in its data folder up to date (pid, connected or not, since when) for
 * `lr-agent status`.
 */
export async function runAgentInForeground(
  o: { dataDir: string; sysroot?: string },
  say: (line: string) => void,
): Promise<void> {
  const agent = await startAgent({ dataDir: o.dataDir, sysroot: o.sysroot });
  say(`lr-agent ${agent.state.name} (${agent.state.deviceId}) started`);
  const file = join(o.dataDir, AGENT_STATUS_FILE);
  let status: AgentRunStatus = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    connected: false,
    url: null,
    lastConnectedAt: null,
    updatedAt: new Date().toISOString(),
  };
  const write = (next: AgentRunStatus) => {
    status = next;
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(status, null, 2) + '\n', { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    } catch {
      // a full disk must not stop the agent
    }
  };
  write(status);
  const timer = setInterval(() => {
    const connected = agent.connected();
    const url = agent.currentUrl();
    if (connected === status.connected && (url ?? status.url) === status.url) return;
    const now = new Date().toISOString();
    write({ ...status, connected, url: url ?? status.url, lastConnectedAt: now, updatedAt: now });
  }, STATUS_POLL_MS);
  const stop = () => {
    clearInterval(timer);
    // A failure to stop is a crash: it reaches the program's crash handler (logged, exit code 1).
    void agent.stop().then(() => {
      const now = new Date().toISOString();
      write({
        ...status,
        connected: false,
        lastConnectedAt: status.connected ? now : status.lastConnectedAt,
        updatedAt: now,
        stoppedAt: now,
      });
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
