/** `lr-agent enroll`: makes the device's Ed25519 key pair and registers it with a one-time token. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { HttpError, httpsJson } from '../node/https-json.js';
import { bundleSchema, httpsBase, serviceUrls, type Bundle } from '../node/profile.js';
import { writeDataMarker } from '../node/data-marker.js';
import { readJsonFile } from '../node/files.js';
import { deviceInfo } from './device-info.js';
import { saveAgentState, type AgentState } from './config.js';
import { describeError } from '../shared/errors.js';

/** The enrolled agent; `requestedName` when the service gave the device another name (the asked one was taken). */
export async function enroll(
  bundlePath: string,
  dataDir: string,
  name?: string,
): Promise<AgentState & { requestedName?: string }> {
  const bundle = readJsonFile(bundlePath, bundleSchema, 'enrollment bundle');
  if (Date.parse(bundle.expiresAt) < Date.now())
    throw new Error(`enrollment bundle ${bundlePath} expired at ${bundle.expiresAt}`);
  // Checked before anything is sent: a bundle without it cannot vouch for the key the service will send.
  if (!bundle.commandKey)
    throw new Error(
      `enrollment bundle ${bundlePath} has no command-signing key (written by an older lr-server?): make a new one with lr-server enroll-token`,
    );
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const requested = name ?? hostname();
  const r = await enrollAtAnyNode(bundle, {
    token: bundle.token,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    info: deviceInfo(requested),
  });
  // The command-signing key comes in the bundle and in the answer (over the pinned TLS): both must agree.
  const commandKey = pinnedCommandKey(bundle.commandKey, r.commandKey);
  // The service fixes the name (unique per tenant): a taken one comes back suffixed.
  const deviceName = r.name ?? requested;
  const state: AgentState = {
    kind: 'lr-agent',
    url: bundle.url,
    ...(bundle.urls ? { urls: serviceUrls(bundle) } : {}),
    ca: bundle.ca,
    deviceId: r.deviceId,
    name: deviceName,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    commandKey,
  };
  saveAgentState(dataDir, state);
  writeDataMarker(dataDir, 'agent');
  return deviceName === requested ? state : { ...state, requestedName: requested };
}

const enrollAnswer = z.object({
  deviceId: z.string().min(1).max(64),
  name: z.string().min(1).max(128).optional(),
  commandKey: z.string().max(4096).optional(),
});
type EnrollAnswer = z.infer<typeof enrollAnswer>;

/**
 * Tries the bundle's nodes in order until one answers. A node that cannot be reached (refused, timed
 * out, TLS failure) or cannot serve (HTTP 5xx) sends us to the next one; a refusal (HTTP 4xx: token
 * used, expired…) would be the same on every node, so it ends the enrollment with its message.
 */
async function enrollAtAnyNode(bundle: Bundle, body: unknown): Promise<EnrollAnswer> {
  const failures: string[] = [];
  for (const url of serviceUrls(bundle)) {
    let answer: unknown;
    try {
      answer = await httpsJson<unknown>(`${httpsBase(url)}/api/v1/enroll`, { method: 'POST', ca: bundle.ca, body });
    } catch (e) {
      if (e instanceof HttpError && e.status < 500) throw e;
      failures.push(describeError(e));
      continue;
    }
    const parsed = enrollAnswer.safeParse(answer);
    if (!parsed.success)
      throw new Error(`the service at ${new URL(url).host} answered the enrollment in an unexpected form`);
    return parsed.data;
  }
  throw new Error(failures.length === 1 ? failures.join('') : `no service node answered: ${failures.join('; ')}`);
}

function normalisedKey(pem: string, where: string): string {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (e) {
    throw new Error(`the command-signing key in ${where} is invalid: ${describeError(e)}`, { cause: e });
  }
}

function pinnedCommandKey(fromBundle: string | undefined, fromService: string | undefined): string {
  const a = fromBundle ? normalisedKey(fromBundle, 'the enrollment bundle') : undefined;
  const b = fromService ? normalisedKey(fromService, "the service's answer") : undefined;
  if (a && b && a !== b)
    throw new Error(
      "the service's command-signing key differs from the one in the enrollment bundle: refusing to enroll",
    );
  const key = a ?? b;
  if (!key) throw new Error('the service sent no command-signing key (service too old?): refusing to enroll');
  return key;
}
