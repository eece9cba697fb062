/**
 * The agent's version and build, stamped at build time: scripts/package-agent.mjs and scripts/build-node.mjs
 * define `__LR_AGENT_RELEASE_INFO__` as one string literal, `lr-agent-release-info:{"version":…,"build":…}`
 * (package.json's version or `--version V` for a test build; the git commit). It is one literal on purpose:
 * the service reads a build's version from the file itself (`lr-server agent-release add`, by looking for
 * AGENT_RELEASE_INFO_MARKER), never by running it. Run from source (tests under vitest), nothing is defined.
 */
import { AGENT_RELEASE_INFO_MARKER } from '../shared/wire/agent-release.js';

declare const __LR_AGENT_RELEASE_INFO__: string | undefined;

const stamped = typeof __LR_AGENT_RELEASE_INFO__ === 'string' ? __LR_AGENT_RELEASE_INFO__ : null;
const info = stamped?.startsWith(AGENT_RELEASE_INFO_MARKER)
  ? (JSON.parse(stamped.slice(AGENT_RELEASE_INFO_MARKER.length)) as { version?: unknown; build?: unknown })
  : {};

export const AGENT_VERSION: string = typeof info.version === 'string' ? info.version : '0.1.0';
export const AGENT_BUILD: string = typeof info.build === 'string' ? info.build : 'source';
