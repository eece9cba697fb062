/**
 * The checks a build passes before it is staged and again before every start: its size and SHA-256 are the
 * ones the service signed, and the signature (Ed25519 over agentReleasePayload, domain-separated from
 * command signatures) verifies with the service key this agent pinned at enrollment. A build for another
 * target is refused too. Each failure is one line; null means the build may run.
 */
import { createPublicKey, verify } from 'node:crypto';
import { agentReleasePayload, type AgentTarget, type SignedRelease } from '../../shared/wire/agent-release.js';
import { digestFile } from '../../node/digest-stream.js';
import { describeError } from '../../shared/errors.js';

export function releaseSignatureProblem(
  release: SignedRelease,
  sig: string,
  publicKeyPem: string | undefined,
): string | null {
  if (!publicKeyPem) return 'no service signing key is pinned on this device (re-enroll the agent)';
  let ok = false;
  try {
    const key = createPublicKey(publicKeyPem);
    ok =
      key.asymmetricKeyType === 'ed25519' &&
      verify(null, agentReleasePayload(release), key, Buffer.from(sig, 'base64'));
  } catch {
    ok = false;
  }
  return ok
    ? null
    : 'bad release signature (not signed by the service this agent is enrolled with, or for another build)';
}

/** Why the file at `path` is not the signed build `release` for `target`, or null. */
export async function buildProblem(
  path: string,
  release: SignedRelease,
  sig: string,
  publicKeyPem: string | undefined,
  target: AgentTarget,
): Promise<string | null> {
  if (release.target !== target) return `a build for ${release.target}, this device runs ${target}`;
  const signature = releaseSignatureProblem(release, sig, publicKeyPem);
  if (signature) return signature;
  let actual: { sha256: string; size: number };
  try {
    actual = await digestFile(path);
  } catch (e) {
    return `cannot read the build: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`;
  }
  if (actual.size !== release.size) return `the build has ${actual.size} bytes, the release says ${release.size}`;
  if (actual.sha256 !== release.sha256)
    return `the build's SHA-256 ${actual.sha256} is not the signed ${release.sha256}`;
  return null;
}

/** The target this process runs as (null: a platform no agent build exists for). */
export function ownTarget(): AgentTarget | null {
  if (process.platform === 'linux' && process.arch === 'x64') return 'linux-x64';
  if (process.platform === 'linux' && process.arch === 'arm64') return 'linux-arm64';
  if (process.platform === 'win32' && process.arch === 'x64') return 'win-x64';
  return null;
}
