// Runs a TypeScript script of this repo under Node 20 (which cannot strip types): bundles it with
// esbuild into a temporary file next to it (so node_modules resolve), runs it, removes the file.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const out = join(dirname(entry), `.${basename(entry, '.ts')}.${process.pid}.mjs`);
await build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __lrCreateRequire } from 'node:module'; const require = __lrCreateRequire(import.meta.url);",
  },
});
// Asynchronous, so a SIGTERM/SIGINT sent to us reaches the child and the bundle is still removed.
const child = spawn(process.execPath, [out, ...args], { stdio: 'inherit' });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  rmSync(out, { force: true });
  process.exitCode = code ?? (signal ? 1 : 0);
});
