// Builds the three Node programs (lr-server, lr-agent, lr) into out/bin with esbuild: one ESM file each,
// dependencies left in node_modules (better-sqlite3 is native), a shebang so package.json `bin` works.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const programs = ['lr-server', 'lr-agent', 'lr'];
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  /* not a git checkout: the build says so */
}
await build({
  entryPoints: Object.fromEntries(programs.map((p) => [p, `src/cli/${p}.ts`])),
  outdir: 'out/bin',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  // src/agent/version.ts
  define: {
    __LR_AGENT_RELEASE_INFO__: JSON.stringify(`lr-agent-release-info:${JSON.stringify({ version, build: commit })}`),
  },
  logLevel: 'warning',
});
for (const p of programs) chmodSync(`out/bin/${p}.js`, 0o755);
console.log(`built ${programs.map((p) => `out/bin/${p}.js`).join(', ')}`);
