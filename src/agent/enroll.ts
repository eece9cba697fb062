/** `lr-agent enroll`: makes the device's Ed25519 key pair and registers it with a one-time token. */
import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { httpsJson } from '../node/https-json.js';
import { bundleSchema, httpsBase } from '../node/profile.js';
import { readJsonFile } from '../node/files.js';
import { deviceInfo } from './device-info.js';
import { saveAgentState, type AgentState } from './config.js';

export async function enroll(bundlePath: string, dataDir: string, name?: string): Promise<AgentState> {
  const bundle = readJsonFile(bundlePath, bundleSchema, 'enrollment bundle');
  if (Date.parse(bundle.expiresAt) < Date.now()) throw new Error(`enrollment bundle ${bundlePath} expired at ${bundle.expiresAt}`);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const deviceName = name ?? hostname();
  const r = await httpsJson<{ deviceId: string }>(`${httpsBase(bundle.url)}/api/v1/enroll`, {
    method: 'POST',
    ca: bundle.ca,
    body: { token: bundle.token, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), info: deviceInfo(deviceName) },
  });
  const state: AgentState = {
    kind: 'lr-agent',
    url: bundle.url,
    ca: bundle.ca,
    deviceId: r.deviceId,
    name: deviceName,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  saveAgentState(dataDir, state);
  return state;
}
