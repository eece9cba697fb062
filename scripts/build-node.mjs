// Builds the three Node programs (lr-server, lr-agent, lr) into out/bin with esbuild: one ESM file each,
// dependencies left in node_modules (better-sqlite3 is native), a shebang so package.json `bin` works.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const programs = ['lr-server', 'lr-agent', 'lr'];
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
  logLevel: 'warning',
});
for (const p of programs) chmodSync(`out/bin/${p}.js`, 0o755);
console.log(`built ${programs.map((p) => `out/bin/${p}.js`).join(', ')}`);
