/**
 * Agent builds the service hands out (issue: deploying the agent to a fleet): which targets exist, what an
 * admin's signature over a build covers, how versions compare. Pure data, shared by the service (signer,
 * release store), the agent (verifier before it runs a new build) and the packaging script.
 */
import { canonicalJson } from './command-signature.js';

/** One executable per target; the file names are `lr-agent-<target>` (`.exe` on Windows). */
export const AGENT_TARGETS = ['linux-x64', 'linux-arm64', 'win-x64'] as const;
export type AgentTarget = (typeof AGENT_TARGETS)[number];

export function agentFileName(target: AgentTarget): string {
  return target.startsWith('win-') ? `lr-agent-${target}.exe` : `lr-agent-${target}`;
}

/**
 * Every build carries `lr-agent-release-info:{"version":"…","build":"…"}` (compact JSON, version then build)
 * as one literal: the service reads a file's version from it without running the file.
 */
export const AGENT_RELEASE_INFO_MARKER = 'lr-agent-release-info:';

export function agentReleaseInfoLiteral(version: string, build: string): string {
  return AGENT_RELEASE_INFO_MARKER + JSON.stringify({ version, build });
}

/** Domain separation: a release signature can never be read as a command signature, nor the reverse. */
export const AGENT_RELEASE_SIGNATURE_DOMAIN = 'lr-agent-release:v1\n';

/** What the service signs (Ed25519, its command-signing key) when an admin adds a build. */
export interface SignedRelease {
  target: AgentTarget;
  /** `MAJOR.MINOR.PATCH` with an optional `-suffix`. */
  version: string;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  size: number;
}

/** The exact bytes signed. */
export function agentReleasePayload(r: SignedRelease): Uint8Array {
  const { target, version, sha256, size } = r;
  return new TextEncoder().encode(AGENT_RELEASE_SIGNATURE_DOMAIN + canonicalJson({ target, version, sha256, size }));
}

export const AGENT_VERSION_PATTERN = /^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,32})?$/;

/** Compares two versions of AGENT_VERSION_PATTERN: numeric parts first; a `-suffix` sorts before none. */
export function compareAgentVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = '', suffix] = v.split(/-(.*)/s, 2);
    return { nums: core.split('.').map((n) => Number(n)), suffix };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.suffix === y.suffix) return 0;
  if (x.suffix === undefined) return 1;
  if (y.suffix === undefined) return -1;
  return x.suffix < y.suffix ? -1 : 1;
}
