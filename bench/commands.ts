/**
 * In-session command benchmarks against the tools an analyst would use instead, measured in one run:
 *  - dir round trip (1 000 times in one session) vs `ls -la` typed into an already open ssh session (one
 *    `ssh host bash`, commands written to its stdin, output read to a marker), and vs `ssh host ls -la` per
 *    command over an open ControlMaster connection;
 *  - processes with 1 000 extra processes vs `ps -eo pid,ppid,user,args`;
 *  - connections with 5 000 open sockets vs `ss -tunap`;
 *  - findfile over a generated tree of 500 000 files vs `find ROOT -name`.
 * Our figures are round trips through the real service and agent (TLS, parse, authorize, log, agent
 * work, records back), timed from the client; the peers' figures include their process start, which is
 * how an analyst runs them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConsoleClient } from '../src/client/console-client.js';
import { profileSchema } from '../src/node/profile.js';
import { createWorld, median, openSshSession, percentile, startSshd, timeAsync, timeIt } from './lib.js';

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

interface Row {
  what: string;
  ours: number[];
  peer: number[];
  peerName: string;
  /** The bar of the issue, or null for a row shown for reference only. */
  goal: number | null;
}

function row(r: Row): string {
  const o50 = median(r.ours);
  const p50 = median(r.peer);
  const ratio = o50 / p50;
  const goal = r.goal === null ? '—' : `≤ ${r.goal}× ${ratio <= r.goal ? '✅' : '❌'}`;
  return `| ${r.what} | ${fmt(o50)} / ${fmt(percentile(r.ours, 99))} | ${r.peerName}: ${fmt(p50)} / ${fmt(percentile(r.peer, 99))} | **${ratio.toFixed(2)}×** | ${goal} |`;
}

/** Runs one command line in the session and resolves with the number of records. */
async function runOnce(c: ConsoleClient, sessionId: string, line: string): Promise<number> {
  let n = 0;
  const o = await c.run(sessionId, line, { onRecords: (r) => (n += r.length) }).outcome;
  if (o.status !== 'completed') throw new Error(`${line}: ${o.status} ${o.error ?? ''}`);
  return n;
}

function makeTree(root: string, files: number): void {
  // 500 folders of 1 000 files: the shape of a real /usr more or less, cheap to create.
  const perDir = 1000;
  for (let d = 0; d * perDir < files; d++) {
    const dir = join(root, `d${Math.floor(d / 25)}`, `sub${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perDir && d * perDir + i < files; i++) writeFileSync(join(dir, `file-${i}.dat`), '');
  }
  const last = Math.ceil(files / perDir) - 1;
  writeFileSync(join(root, `d${Math.floor(last / 25)}`, `sub${last}`, 'needle.txt'), 'x');
}

export async function benchCommands(): Promise<string> {
  const rounds = Number(process.env.BENCH_DIR_ROUNDS ?? 1000);
  const reps = Number(process.env.BENCH_REPS ?? 7);
  const w = await createWorld();
  await w.addAgent('bench');
  const sshd = await startSshd();
  const c = await ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8'))));
  const session = await c.openSession('bench');
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-cmd-'));
  const rows: Row[] = [];
  const extra: ChildProcess[] = [];
  const user = `${userInfo().username}@127.0.0.1`;
  const sshArgs = [
    '-p',
    String(sshd.port),
    ...sshd.clientArgs.slice(2),
    '-o',
    'ControlMaster=auto',
    '-o',
    'ControlPersist=60',
  ];
  const ssh = (cmd: string) => {
    const r = spawnSync('ssh', [...sshArgs, user, cmd], { maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`ssh ${cmd}: ${r.stderr}`);
  };
  try {
    // 1. dir round trip.
    const small = join(work, 'small');
    mkdirSync(small);
    for (let i = 0; i < 20; i++) writeFileSync(join(small, `f${i}.txt`), 'x');
    ssh('true'); // opens the master connection
    const open = openSshSession(sshArgs, user);
    await open.run('true');
    const ours: number[] = [];
    const inSession: number[] = [];
    const perCommand: number[] = [];
    for (let i = 0; i < rounds; i++) {
      ours.push(await timeAsync(() => runOnce(c, session.id, `dir "${small}"`)));
      inSession.push(await timeAsync(() => open.run(`ls -la ${small}`)));
      perCommand.push(timeIt(() => ssh(`ls -la ${small}`)));
    }
    open.close();
    rows.push({
      what: `\`dir\` of a 20-file folder, ${rounds}× in one session`,
      ours,
      peer: inSession,
      peerName: '`ls -la` in an open ssh session (`ssh host bash`, stdin)',
      goal: 1.0,
    });
    rows.push({
      what: 'same',
      ours,
      peer: perCommand,
      peerName: '`ssh host ls -la` per command (ControlMaster)',
      goal: null,
    });

    // 2. processes with 1 000 extra processes.
    for (let i = 0; i < 1000; i++) extra.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    const po: number[] = [];
    const pp: number[] = [];
    for (let i = 0; i < reps; i++) {
      po.push(await timeAsync(() => runOnce(c, session.id, 'processes -output json')));
      pp.push(timeIt(() => spawnSync('ps', ['-eo', 'pid,ppid,user,args'], { maxBuffer: 64 << 20 })));
    }
    rows.push({
      what: '`processes` with 1 000 extra processes',
      ours: po,
      peer: pp,
      peerName: '`ps -eo pid,ppid,user,args`',
      goal: 1.0,
    });
    for (const p of extra.splice(0)) p.kill('SIGKILL');

    // 3. connections with 5 000 open sockets (2 500 loopback pairs held by one helper process).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `
      const net = require('net'); const socks = [];
      const srv = net.createServer((s) => socks.push(s)).listen(0, '127.0.0.1', () => {
        let n = 0; const port = srv.address().port;
        const next = () => { if (n++ >= 2500) { console.log('ready'); return; } const s = net.connect(port, '127.0.0.1', next); socks.push(s); };
        next();
      });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    extra.push(holder);
    await new Promise<void>((r) => holder.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && r()));
    const co: number[] = [];
    const cp: number[] = [];
    for (let i = 0; i < reps; i++) {
      co.push(await timeAsync(() => runOnce(c, session.id, 'connections -output json')));
      cp.push(timeIt(() => spawnSync('ss', ['-tunap'], { maxBuffer: 64 << 20 })));
    }
    rows.push({
      what: '`connections` with 5 000 open sockets',
      ours: co,
      peer: cp,
      peerName: '`ss -tunap`',
      goal: 1.0,
    });
    holder.kill('SIGKILL');

    // 4. findfile over 500 000 files.
    const tree = join(work, 'tree');
    makeTree(tree, Number(process.env.BENCH_TREE_FILES ?? 500_000));
    spawnSync('find', [tree, '-name', 'warm-the-cache']);
    const fo: number[] = [];
    const fp: number[] = [];
    for (let i = 0; i < Math.min(reps, 5); i++) {
      fo.push(await timeAsync(() => runOnce(c, session.id, `findfile needle.txt -path "${tree}"`)));
      fp.push(timeIt(() => spawnSync('find', [tree, '-name', 'needle.txt'])));
    }
    rows.push({
      what: '`findfile` by name over 500 000 files',
      ours: fo,
      peer: fp,
      peerName: '`find ROOT -name`',
      goal: 1.2,
    });
  } finally {
    for (const p of extra) p.kill('SIGKILL');
    c.close();
    sshd.stop();
    await w.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  return [
    '### Commands in one session vs the usual tools (ms, p50 / p99)',
    '',
    '| measurement | ours p50 / p99 | peer p50 / p99 | ratio (p50) | goal |',
    '|---|---|---|---|---|',
    ...rows.map(row),
    '',
  ].join('\n');
}
