/**
 * Benchmark helpers: a private OpenSSH server on loopback for the peer measurements, a private LR world
 * (service + agent) built from out/bin, timing and statistics. Everything binds to 127.0.0.1 and is
 * stopped at the end.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createWorld, freePort, type World } from '../test/integration/harness.js';

export { createWorld, type World };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

/** Installs Debian packages the peers need when they are missing (the bench runs as root on our machines). */
export function ensurePackages(pkgs: string[], bins: string[]): void {
  if (bins.every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0)) return;
  if (process.getuid?.() !== 0) throw new Error(`missing ${bins.join(', ')}: install ${pkgs.join(' ')} (needs root)`);
  console.error(`bench: installing ${pkgs.join(' ')}`);
  execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

export interface PrivateSshd {
  port: number;
  /** ssh/scp options that reach it with its own key, no host key prompts, no rc files. */
  clientArgs: string[];
  stop(): void;
}

/** A private sshd on 127.0.0.1 with its own host key and one authorized key (no PAM, no password logins). */
export async function startSshd(): Promise<PrivateSshd> {
  ensurePackages(['openssh-server', 'openssh-client'], ['/usr/sbin/sshd', 'scp']);
  const dir = mkdtempSync(join(tmpdir(), 'lr-bench-sshd-'));
  const port = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  execFileSync('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin yes',
      'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      'AcceptEnv SHLVL',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true });
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  const clientArgs = [
    '-P',
    String(port),
    '-i',
    join(dir, 'client_key'),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'SetEnv=SHLVL=1',
    '-o',
    `ControlPath=${join(dir, 'cm-%r@%h:%p')}`,
  ];
  // Wait until it accepts a connection.
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('ssh', [
      '-p',
      String(port),
      ...clientArgs.slice(2),
      `${userInfo().username}@127.0.0.1`,
      'true',
    ]);
    if (r.status === 0) break;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  return { port, clientArgs, stop: () => sshd.kill('SIGTERM') };
}

export function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export type Child = ChildProcess;

/**
 * Seeds `n` devices, each with a fresh Ed25519 key pair, straight into a service database (enrollment is
 * not what the capacity benchmarks measure); returns their ids and private keys for bench/fake-agents.ts.
 */
export function seedFakeDevices(dbFile: string, n: number): { id: string; key: string }[] {
  const devices: { id: string; key: string }[] = [];
  const db = new Database(dbFile);
  const insert = db.prepare(
    "INSERT INTO devices (id, name, hostname, os, platform, agent_version, public_key, enrolled_at) VALUES (?, ?, 'fake', 'Linux', 'linux', 'bench', ?, ?)",
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const id = `bench${String(i).padStart(7, '0')}`;
      insert.run(id, `fake-${i}`, publicKey.export({ type: 'spki', format: 'pem' }), new Date().toISOString());
      devices.push({ id, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    }
  })();
  db.close();
  return devices;
}

/**
 * An ssh session kept open, as an analyst's terminal is: one `ssh … bash` process, each command written to
 * its stdin and its output read up to an end marker. The honest peer of a command in an open console
 * session (no process start, no new channel per command).
 */
export interface OpenSshSession {
  run(command: string): Promise<string>;
  close(): void;
}

export function openSshSession(sshArgs: string[], userAtHost: string): OpenSshSession {
  const child = spawn('ssh', [...sshArgs, userAtHost, 'bash --noprofile --norc'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buffer = '';
  let waiting: { marker: string; resolve: (out: string) => void } | null = null;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    if (!waiting) return;
    const at = buffer.indexOf(waiting.marker);
    if (at < 0) return;
    const out = buffer.slice(0, at);
    buffer = buffer.slice(at + waiting.marker.length + 1);
    const w = waiting;
    waiting = null;
    w.resolve(out);
  });
  let n = 0;
  return {
    run(command: string): Promise<string> {
      const marker = `__lr_bench_end_${++n}__`;
      return new Promise((resolve) => {
        waiting = { marker, resolve };
        child.stdin.write(`${command}; echo ${marker}\n`);
      });
    },
    close() {
      child.stdin.end();
      child.kill('SIGTERM');
    },
  };
}
