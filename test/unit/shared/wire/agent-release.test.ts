// Self-update's contract: the version order that decides "newer" (no downgrade), and the
// signed payload: every field is covered, and it is domain-separated from command signatures.
import { describe, expect, it } from 'vitest';
import {
  AGENT_RELEASE_SIGNATURE_DOMAIN,
  agentReleasePayload,
  compareAgentVersions,
} from '../../../../src/shared/wire/agent-release.js';

describe('compareAgentVersions', () => {
  it('orders numerically, part by part, a pre-release before its release', () => {
    const sorted = ['0.10.0', '0.2.0', '1.0.0', '0.2.0-rc.1', '0.2.1', '0.9.9'].sort(compareAgentVersions);
    expect(sorted).toEqual(['0.2.0-rc.1', '0.2.0', '0.2.1', '0.9.9', '0.10.0', '1.0.0']);
    expect(compareAgentVersions('0.3.0', '0.3.0')).toBe(0);
    expect(compareAgentVersions('0.3.0', '0.2.9')).toBe(1);
    expect(compareAgentVersions('2.0.0', '10.0.0')).toBe(-1); // not a string comparison
  });
});

describe('agentReleasePayload', () => {
  const r = { target: 'linux-x64' as const, version: '0.3.0', sha256: 'a'.repeat(64), size: 1234 };
  const text = (x: typeof r) => new TextDecoder().decode(agentReleasePayload(x));

  it('starts with its own domain and changes with every signed field', () => {
    expect(text(r).startsWith(AGENT_RELEASE_SIGNATURE_DOMAIN)).toBe(true);
    const variants = [
      { ...r, target: 'linux-arm64' as const },
      { ...r, version: '0.3.1' },
      { ...r, sha256: 'b'.repeat(64) },
      { ...r, size: 1235 },
    ];
    for (const v of variants) expect(text(v as typeof r)).not.toBe(text(r));
  });

  it('does not depend on the order of the fields', () => {
    expect(text({ size: 1234, sha256: 'a'.repeat(64), version: '0.3.0', target: 'linux-x64' })).toBe(text(r));
  });
});
