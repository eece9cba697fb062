/**
 * The service's command-signing key (Ed25519, DATA/command-signing.key, mode 0600): made at `init` (or at
 * the first `start` of a data folder made before), its public key travels in enrollment bundles and the
 * enrollment answer, and every job.start is signed with it (see shared/wire/command-signature.ts). The agent
 * verifies before executing, so a relay between the service and the agent cannot forge, replay, redirect
 * or escalate a command.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../node/files.js';
import { commandSignaturePayload, COMMAND_EXPIRY_MARGIN_MS } from '../shared/wire/command-signature.js';
import type { Role } from '../shared/commands/catalog.js';
import { agentReleasePayload, type SignedRelease } from '../shared/wire/agent-release.js';
import type { ToAgent } from '../shared/wire/protocol.js';

export function commandKeyPath(dataDir: string): string {
  return join(dataDir, 'command-signing.key');
}

/** Creates the key when missing (mode 0600); answers whether it was created. */
export function ensureCommandKey(dataDir: string): boolean {
  const file = commandKeyPath(dataDir);
  if (existsSync(file)) return false;
  const { privateKey } = generateKeyPairSync('ed25519');
  writeSecretFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return true;
}

export type JobStart = Extract<ToAgent, { t: 'job.start' }>;

export class CommandSigner {
  readonly publicKeyPem: string;

  private constructor(private readonly key: KeyObject) {
    this.publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** Loads DATA/command-signing.key, creating it first when the data folder predates it. */
  static load(dataDir: string): CommandSigner {
    ensureCommandKey(dataDir);
    const key = createPrivateKey(readFileSync(commandKeyPath(dataDir), 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519')
      throw new Error(`${commandKeyPath(dataDir)} is not an Ed25519 private key`);
    return new CommandSigner(key);
  }

  /** Public key of a data folder (for enrollment bundles written offline). */
  static publicKeyOf(dataDir: string): string {
    return CommandSigner.load(dataDir).publicKeyPem;
  }

  /** Signs an agent build (agent-releases.ts); the agents verify it with the key they pinned for commands. */
  signRelease(release: SignedRelease): string {
    return sign(null, agentReleasePayload(release), this.key).toString('base64');
  }

  /** Adds role, expiry and signature to a job.start for `deviceId`. */
  sign(frame: JobStart, deviceId: string, role: Role, now = Date.now()): JobStart {
    const expiresAt = now + frame.timeLimitMs + COMMAND_EXPIRY_MARGIN_MS;
    const payload = commandSignaturePayload({
      jobId: frame.jobId,
      sessionId: frame.sessionId,
      deviceId,
      command: frame.command,
      params: frame.params,
      cwd: frame.cwd,
      role,
      expiresAt,
      timeLimitMs: frame.timeLimitMs,
    });
    return { ...frame, role, expiresAt, sig: sign(null, payload, this.key).toString('base64') };
  }
}
