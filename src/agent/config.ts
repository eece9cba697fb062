/**
 * The agent's data folder: its identity (device id, private key, pinned CA, service URL(s)), quarantine and work dirs.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeSecretJson } from '../node/files.js';

export const agentStateSchema = z.object({
  kind: z.literal('lr-agent'),
  url: z.string().url(),
  /** Every node of the service (cluster), `url` first; absent for a single node. The link rotates over them. */
  urls: z.array(z.string().url()).min(1).max(16).optional(),
  ca: z.string().min(50),
  deviceId: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  privateKey: z.string().min(50),
  /** The service's command-signing public key (PEM), pinned at enrollment: jobs must be signed with it. */
  commandKey: z.string().min(40).max(4096).optional(),
});
export type AgentState = z.infer<typeof agentStateSchema>;

export function agentPaths(dir: string) {
  return {
    state: join(dir, 'agent.json'),
    work: join(dir, 'work'),
    quarantine: join(dir, 'quarantine'),
    /** Job ids received and not yet expired (replay protection across restarts, see command-verifier.ts). */
    receivedJobs: join(dir, 'received-jobs.log'),
  };
}

export function loadAgentState(dir: string): AgentState {
  return readJsonFile(agentPaths(dir).state, agentStateSchema, 'agent state');
}

export function saveAgentState(dir: string, state: AgentState): void {
  writeSecretJson(agentPaths(dir).state, state);
}

/**
 * Points an enrolled agent at another address of its service (the workstation's embedded service gets a new
 * port at every run). False, and nothing written, when the agent has no pinned command-signing key: it must
 * be enrolled again.
 */
export function pointAgentAt(dir: string, url: string): boolean {
  const state = loadAgentState(dir);
  if (!state.commandKey) return false;
  saveAgentState(dir, { ...state, url });
  return true;
}
