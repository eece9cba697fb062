/**
 * The agent's version and build, stamped at build time: scripts/package-agent.mjs and scripts/build-node.mjs
 * define `__LR_AGENT_VERSION__` (package.json's version, or `--version V` for a test build) and
 * `__LR_AGENT_BUILD__` (the git commit). Run from source (tests under vitest), neither is defined.
 */
declare const __LR_AGENT_VERSION__: string | undefined;
declare const __LR_AGENT_BUILD__: string | undefined;

export const AGENT_VERSION: string = typeof __LR_AGENT_VERSION__ === 'string' ? __LR_AGENT_VERSION__ : '0.1.0';
export const AGENT_BUILD: string = typeof __LR_AGENT_BUILD__ === 'string' ? __LR_AGENT_BUILD__ : 'source';
