/**
 * Linux pieces of the response actions: stopping processes, finding unit files and their enablement
 * links, cron lines, startup items (all under the sysroot), isolation rules (nftables table
 * `inet lr_isolation`, or an iptables chain `LR_ISOLATION` where nft is missing), and what the
 * investigation package copies. External programs (systemctl, nft, iptables) run with argv arrays, never
 * through a shell, and only where they act on the live root.
 */
import { execFile } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isIP } from 'node:net';
import { parseCrontab } from './crontab.js';
import { killTree, findTree } from './process-tree.js';
import { crontabFiles } from './scheduled-tasks.js';
import { listStartupItems } from './startup-items.js';
import type { Sysroot } from './sysroot.js';
import { protectedPaths } from '../../protected-paths.js';
import { SYSTEM_UNIT_DIRS } from './systemd-units.js';
import type { CollectionSource, IsolationBackend, IsolationPeer, StopResult, UnitLocation } from '../types.js';
import { describeError } from '../../../shared/errors.js';

const run = promisify(execFile);

export async function runTool(file: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(file, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)}: ${String(stderr).trim() || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

async function which(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, name);
    if (
      await fsp.access(p, 1).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return null;
}

/** Whether systemd manages the live root (the only case where systemctl may be used). */
async function liveSystemd(root: Sysroot): Promise<boolean> {
  if (!root.isRealRoot) return false;
  return fsp.stat('/run/systemd/system').then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function processImage(procRoot: string, pid: number): Promise<string | null> {
  try {
    return (await fsp.readlink(`${procRoot}/${pid}/exe`)).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(procRoot: string, pid: number): boolean {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function stopProcess(
  procRoot: string,
  pid: number,
  opts: { tree: boolean; graceMs?: number },
): Promise<StopResult> {
  const graceMs = opts.graceMs ?? 3_000;
  if (opts.tree) {
    const members = [...findTree(pid, { procRoot }).keys()];
    const survivors = await killTree(pid, { procRoot, graceMs });
    return { stopped: members.filter((p) => !survivors.includes(p)), survivors, killed: false };
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    throw new Error(
      `cannot signal pid ${pid}: ${(e as NodeJS.ErrnoException).code === 'EPERM' ? 'permission denied' : 'no such process'}`,
      { cause: e },
    );
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive(procRoot, pid)) await sleep(50);
  let killed = false;
  if (alive(procRoot, pid)) {
    killed = true;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    for (let i = 0; i < 40 && alive(procRoot, pid); i++) await sleep(50);
  }
  return alive(procRoot, pid) ? { stopped: [], survivors: [pid], killed } : { stopped: [pid], survivors: [], killed };
}

/** `x` -> `x.service`; names with a unit suffix are kept. */
function unitName(name: string): string {
  return /\.(service|timer|socket|path|target|mount)$/.test(name) ? name : `${name}.service`;
}

export async function locateUnit(root: Sysroot, target: string): Promise<UnitLocation | null> {
  let unitPath: string | null = null;
  let name: string;
  if (target.includes('/')) {
    unitPath = path.posix.normalize(target);
    name = path.posix.basename(unitPath);
    const st = await root.lstat(unitPath);
    if (!st?.isFile()) return null;
  } else {
    name = unitName(target);
    for (const dir of SYSTEM_UNIT_DIRS) {
      const p = path.posix.join(dir, name);
      const st = await root.lstat(p);
      if (st?.isFile()) {
        unitPath = p;
        break;
      }
    }
    if (!unitPath) return null;
  }
  // Enablement (*.wants/, *.requires/) and alias links in /etc/systemd/system that point at the unit.
  const links: UnitLocation['links'] = [];
  const etc = '/etc/systemd/system';
  const consider = async (p: string) => {
    const st = await root.lstat(p);
    if (!st?.isSymbolicLink()) return;
    const t = await fsp.readlink(root.host(p));
    if (path.posix.basename(t) === name || (path.posix.basename(p) === name && t !== '/dev/null'))
      links.push({ path: p, target: t });
  };
  for (const entry of await root.listQuiet(etc)) {
    if (entry.dirent.isDirectory() && /\.(wants|requires)$/.test(entry.name)) {
      for (const inner of await root.listQuiet(entry.path)) await consider(inner.path);
    } else if (entry.dirent.isSymbolicLink() && entry.path !== unitPath) {
      await consider(entry.path);
    }
  }
  return { name, path: unitPath, links };
}

export async function stopUnit(root: Sysroot, name: string): Promise<string> {
  if (!(await liveSystemd(root)))
    return `${name} not stopped: systemd does not run on this root (disabled by removing its links)`;
  try {
    await runTool('systemctl', ['stop', '--', unitName(name)]);
    return `${unitName(name)} stopped (systemctl stop)`;
  } catch (e) {
    return `${unitName(name)}: systemctl stop failed: ${describeError(e).split('\n')[0]}`;
  }
}

export async function reloadUnits(root: Sysroot): Promise<void> {
  if (await liveSystemd(root)) await runTool('systemctl', ['daemon-reload']).catch(() => undefined);
}

export async function locateCronLine(
  root: Sysroot,
  source: string,
  line: number,
): Promise<{ path: string; line: number; text: string } | null> {
  const file = (await crontabFiles(root)).find((f) => f.path === path.posix.normalize(source));
  if (!file || file.format === 'anacron') return null;
  const text = await root.readText(file.path);
  if (text === null) return null;
  if (!parseCrontab(text, file.format === 'system').some((entry) => entry.line === line)) return null;
  return { path: file.path, line, text: text.split('\n')[line - 1] as string };
}

export async function locateStartupItem(root: Sysroot, target: string): Promise<string | null> {
  const items = await listStartupItems(root);
  const byPath = items.find((i) => i.path === path.posix.normalize(target));
  if (byPath) return byPath.path;
  const byName = items.filter((i) => i.name === target || path.posix.basename(i.path) === target);
  return byName.length === 1 ? (byName[0] as { path: string }).path : null;
}

// ---------- isolation ----------

const NFT_TABLE = 'lr_isolation';
const CHAIN = 'LR_ISOLATION';

function nftRuleset(allow: readonly IsolationPeer[]): string {
  const out: string[] = [];
  const inp: string[] = [];
  for (const p of allow) {
    const fam = isIP(p.address) === 6 ? 'ip6' : 'ip';
    out.push(`    ${fam} daddr ${p.address} tcp dport ${p.port} accept`);
    inp.push(`    ${fam} saddr ${p.address} tcp sport ${p.port} ct state established,related accept`);
  }
  return [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy drop;',
    '    iif "lo" accept',
    ...inp,
    '  }',
    '  chain output {',
    '    type filter hook output priority -10; policy drop;',
    '    oif "lo" accept',
    ...out,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority -10; policy drop;',
    '  }',
    '}',
    '',
  ].join('\n');
}

async function iptables(tool: string, allow: readonly IsolationPeer[], family: 4 | 6): Promise<void> {
  await removeChain(tool);
  const t = (args: string[]) => runTool(tool, ['-w', ...args]);
  await t(['-N', CHAIN]);
  await t(['-A', CHAIN, '-i', 'lo', '-j', 'ACCEPT']);
  await t(['-A', CHAIN, '-o', 'lo', '-j', 'ACCEPT']);
  for (const p of allow.filter((a) => isIP(a.address) === family)) {
    await t(['-A', CHAIN, '-d', p.address, '-p', 'tcp', '--dport', String(p.port), '-j', 'ACCEPT']);
    await t([
      '-A',
      CHAIN,
      '-s',
      p.address,
      '-p',
      'tcp',
      '--sport',
      String(p.port),
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    ]);
  }
  await t(['-A', CHAIN, '-j', 'DROP']);
  for (const hook of ['INPUT', 'OUTPUT', 'FORWARD']) await t(['-I', hook, '1', '-j', CHAIN]);
}

async function removeChain(tool: string): Promise<void> {
  const t = (args: string[]) =>
    runTool(tool, ['-w', ...args]).then(
      () => true,
      () => false,
    );
  for (const hook of ['INPUT', 'OUTPUT', 'FORWARD']) while (await t(['-D', hook, '-j', CHAIN]));
  await t(['-F', CHAIN]);
  await t(['-X', CHAIN]);
}

export async function applyIsolation(allow: readonly IsolationPeer[]): Promise<IsolationBackend> {
  const nft = await which('nft');
  if (nft) {
    await runTool(nft, ['-f', '-'], nftRuleset(allow));
    return 'nftables';
  }
  const ipt = await which('iptables');
  if (!ipt) throw new Error('neither nft (nftables) nor iptables is installed');
  await iptables(ipt, allow, 4);
  const ip6 = await which('ip6tables');
  if (ip6) await iptables(ip6, allow, 6);
  return 'iptables';
}

export async function removeIsolation(backend: IsolationBackend): Promise<void> {
  if (backend === 'nftables') {
    const nft = await which('nft');
    if (!nft) throw new Error('nft is no longer installed: remove table inet lr_isolation by hand');
    await runTool(nft, ['-f', '-'], `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`);
    return;
  }
  for (const tool of ['iptables', 'ip6tables']) {
    const p = await which(tool);
    if (p) await removeChain(p);
  }
}

// ---------- investigation package ----------

export async function systemInfo(root: Sysroot, procRoot: string): Promise<Record<string, unknown>> {
  const text = async (p: string) => (await root.readText(p).catch(() => null))?.trim() ?? null;
  const uptime = await fsp.readFile(path.join(procRoot, 'uptime'), 'utf8').catch(() => null);
  return {
    hostname: os.hostname(),
    uname: { sysname: os.type(), release: os.release(), version: os.version(), machine: os.machine() },
    osRelease: await text('/etc/os-release'),
    uptimeSeconds: uptime ? Number(uptime.split(' ')[0]) : os.uptime(),
    bootId:
      (await fsp.readFile(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8').catch(() => '')).trim() || null,
    loadAverage: os.loadavg(),
    memoryBytes: { total: os.totalmem(), free: os.freemem() },
    cpus: os.cpus().length,
    collectedAt: new Date().toISOString(),
    sysroot: root.root,
  };
}

const LOG_TAIL = 4 * 1024 * 1024;
const HISTORIES = [
  '.bash_history',
  '.zsh_history',
  '.sh_history',
  '.ash_history',
  '.python_history',
  '.mysql_history',
  '.psql_history',
  '.lesshst',
  '.viminfo',
];

export async function collectionSources(
  root: Sysroot,
  procRoot: string,
): Promise<{ sources: CollectionSource[]; notes: string[] }> {
  const sources: CollectionSource[] = [];
  const notes: string[] = [];
  const add = async (member: string, p: string, tailBytes?: number, missingNote?: string) => {
    const st = await root.stat(p).catch(() => null);
    if (st?.isFile()) sources.push({ member, path: p, tailBytes });
    else if (missingNote) notes.push(missingNote);
  };
  for (const f of ['passwd', 'group', 'sudoers', 'login.defs']) await add(`users/${f}`, `/etc/${f}`);
  for (const f of ['syslog', 'auth.log', 'messages', 'secure', 'kern.log', 'cron', 'audit/audit.log'])
    await add(`logs/${f.replace('/', '_')}`, `/var/log/${f}`, LOG_TAIL);
  for (const home of await root.homes()) {
    for (const h of HISTORIES)
      await add(
        `histories/${home.user ?? path.posix.basename(home.path)}/${h}`,
        path.posix.join(home.path, h),
        LOG_TAIL,
      );
  }
  await add('packages/dpkg-status', '/var/lib/dpkg/status');
  const rpm = await root.stat('/var/lib/rpm').catch(() => null);
  if (rpm?.isDirectory())
    notes.push(
      'an rpm database exists in /var/lib/rpm: it is a binary database, not copied (query it with rpm -qa on the device)',
    );
  if (!sources.some((s) => s.member === 'packages/dpkg-status') && !rpm)
    notes.push('no package database found (/var/lib/dpkg/status, /var/lib/rpm)');
  for (const f of ['hosts', 'resolv.conf', 'hostname', 'nsswitch.conf', 'network/interfaces'])
    await add(`network/${f.replace('/', '_')}`, `/etc/${f}`);
  for (const f of ['route', 'ipv6_route', 'arp']) {
    const p = path.join(procRoot, 'net', f);
    if (
      await fsp.access(p).then(
        () => true,
        () => false,
      )
    )
      sources.push({ member: `network/proc-net-${f}`, path: p });
  }
  await add('system/os-release', '/etc/os-release');
  return { sources, notes };
}

/** wtmp (struct utmp, 384 bytes on Linux x86-64/aarch64): logins, logouts, boots. */
export async function loginRecords(root: Sysroot): Promise<Record<string, unknown>[] | null> {
  let buf: Buffer;
  const guarded = await protectedPaths.protectionOf(root.host('/var/log/wtmp'));
  if (guarded) throw new Error(`refused: /var/log/wtmp is in ${guarded.what}`);
  try {
    buf = await fsp.readFile(root.host('/var/log/wtmp'));
  } catch {
    return null;
  }
  const SIZE = 384;
  const types: Record<number, string> = {
    1: 'run-level',
    2: 'boot',
    3: 'new-time',
    4: 'old-time',
    5: 'init',
    6: 'login',
    7: 'user',
    8: 'dead',
  };
  const str = (b: Buffer) => {
    const z = b.indexOf(0);
    return b.toString('utf8', 0, z < 0 ? b.length : z);
  };
  const out: Record<string, unknown>[] = [];
  const start = Math.max(0, Math.floor(buf.length / SIZE) - 10_000) * SIZE; // the last 10 000 records
  for (let off = start; off + SIZE <= buf.length; off += SIZE) {
    const r = buf.subarray(off, off + SIZE);
    const type = r.readInt16LE(0);
    out.push({
      type: types[type] ?? String(type),
      pid: r.readInt32LE(4),
      line: str(r.subarray(8, 40)),
      user: str(r.subarray(44, 76)),
      host: str(r.subarray(76, 332)),
      time: new Date(r.readInt32LE(340) * 1000).toISOString(),
    });
  }
  return out;
}
