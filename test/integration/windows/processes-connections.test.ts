// processes and connections of a Windows agent under Wine, read through the Win32 API (Toolhelp, the process
// calls, IP Helper's owner tables): a planted node.exe (child of another, with a marker on its command line,
// a listening TCP socket, a UDP socket and a TCP connection to itself) is found with its fields, and so is
// the agent's own connection to the service.
//
// What Wine gives and real Windows gives differently (asserted as Wine gives it):
// - listening TCP sockets have no owner (pid 0: Wine attributes a socket through the Unix fds of its processes,
//   and a listening socket's fd stays in wineserver); connected TCP and bound UDP sockets have theirs;
// - the host's own sockets (from /proc/net) are listed too, without owner: the service's listening port here.
// - ProcessCommandLineInformation (NtQueryInformationProcess class 60) is not implemented: the command line
//   comes from the PEB.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorld, ROOT, waitFor, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  winPath,
  WINE64,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

const MARKER = 'lr-marker-4242';

/** The planted child: listens, binds UDP, connects to itself, then says where (a file: no pipes under Wine). */
const CHILD = `
const net = require('net'), dgram = require('dgram'), fs = require('fs');
const ready = process.argv[3];
const server = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
  const tcpPort = server.address().port;
  const udp = dgram.createSocket('udp4');
  udp.bind(0, '127.0.0.1', () => {
    const client = net.connect(tcpPort, '127.0.0.1', () => {
      fs.writeFileSync(ready, JSON.stringify({ pid: process.pid, ppid: process.ppid, tcpPort, udpPort: udp.address().port, clientPort: client.localPort }));
    });
  });
});
setInterval(() => {}, 1e9);
`;

/**
 * A process nobody may open: it gives its own process object an empty DACL (through koffi, loaded from this
 * repository), then binds a UDP socket. Toolhelp and IP Helper still show it; the process calls are denied.
 */
const DENIED = `
const koffi = require(process.argv[2]);
const setSecurityInfo = koffi.load('advapi32.dll').func('uint32 __stdcall SetSecurityInfo(void *h, int type, uint32 info, void *owner, void *group, uint8_t *dacl, void *sacl)');
const self = koffi.load('kernel32.dll').func('void * __stdcall GetCurrentProcess()')();
// SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION; an ACL header without any ACE.
const code = setSecurityInfo(self, 6, 4, null, null, Buffer.from([2, 0, 8, 0, 0, 0, 0, 0]), null);
const udp = require('dgram').createSocket('udp4');
udp.bind(0, '127.0.0.1', () => require('fs').writeFileSync(process.argv[3], JSON.stringify({ code, pid: process.pid, udpPort: udp.address().port })));
setInterval(() => {}, 1e9);
`;

/** Its parent, so that the child has a parent Windows knows: starts it and stays. */
const PARENT = `
const { spawn } = require('child_process');
const [child, marker, ready] = process.argv.slice(2);
spawn(process.execPath, [child, marker, ready], { stdio: 'ignore' });
setInterval(() => {}, 1e9);
`;

interface Planted {
  pid: number;
  ppid: number;
  tcpPort: number;
  udpPort: number;
  clientPort: number;
}

interface Denied {
  code: number;
  pid: number;
  udpPort: number;
}

type Row = Record<string, unknown>;

/** Starts node.exe on a script under Wine in the background (output to a file: node.exe cannot write to a pipe). */
function startNodeScript(prefix: WinePrefix, nodeExe: string, script: string, args: string[]): void {
  spawn('sh', ['-c', '"$0" "$@" >"$LR_OUT" 2>&1 </dev/null', WINE64, winPath(nodeExe), winPath(script), ...args], {
    env: { ...process.env, ...prefix.env, LR_OUT: `${script}.out` },
    stdio: 'ignore',
  });
}

/** The JSON a planted process writes once ready (with the output of `script` when it never comes). */
function readyFile<T>(file: string, script: string): Promise<T> {
  return waitFor(
    `${file}`,
    async () => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as T;
      } catch {
        return undefined;
      }
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${readFileSync(`${script}.out`, 'utf8')}`);
  });
}

describeNeeds(wineProblem())('processes and connections of a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let nodeExe: string;
  let planted: Planted;
  let denied: Denied;
  let plantedAt: number;

  const json = async (command: string): Promise<Row[]> => {
    const r = await w.lr(['exec', 'windev', `${command} -output json`], undefined, { timeoutMs: 60_000 });
    expect(r.stderr, command).toBe('');
    return JSON.parse(r.stdout) as Row[];
  };

  beforeAll(async () => {
    nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
    for (const [file, text] of [
      ['child.cjs', CHILD],
      ['parent.cjs', PARENT],
      ['denied.cjs', DENIED],
    ] as const)
      writeFileSync(join(w.dir, file), text);
    plantedAt = Date.now();
    startNodeScript(prefix, nodeExe, join(w.dir, 'parent.cjs'), [
      winPath(join(w.dir, 'child.cjs')),
      MARKER,
      winPath(join(w.dir, 'planted.json')),
    ]);
    startNodeScript(prefix, nodeExe, join(w.dir, 'denied.cjs'), [
      winPath(join(ROOT, 'node_modules', 'koffi')),
      winPath(join(w.dir, 'denied.json')),
    ]);
    planted = await readyFile<Planted>(join(w.dir, 'planted.json'), join(w.dir, 'parent.cjs'));
    denied = await readyFile<Denied>(join(w.dir, 'denied.json'), join(w.dir, 'denied.cjs'));
    expect(denied.code).toBe(0); // SetSecurityInfo succeeded
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('lists the planted process with its parent, image, command line, user, session, start time and memory', async () => {
    const list = await json('processes');
    const p = list.find((x) => x.pid === planted.pid);
    expect(p, JSON.stringify(list)).toBeDefined();
    expect(p).toMatchObject({ ppid: planted.ppid, name: 'node.exe', uid: null, state: 'running' });
    expect(list.find((x) => x.pid === planted.ppid)?.cmdline).toContain('parent.cjs'); // the parent is listed too
    expect(String(p!.path).toLowerCase()).toBe(winPath(nodeExe).toLowerCase());
    expect(p!.cmdline).toContain(winPath(join(w.dir, 'child.cjs')));
    expect(p!.cmdline).toContain(MARKER);
    expect(p!.user).toMatch(new RegExp(`^[^\\\\]+\\\\${os.userInfo().username}$`)); // DOMAIN\name of the token owner
    expect(p!.sessionId).toEqual(expect.any(Number));
    const started = Date.parse(String(p!.startTime));
    expect(started).toBeGreaterThanOrEqual(plantedAt - 2_000);
    expect(started).toBeLessThanOrEqual(Date.now());
    expect(p!.rssBytes).toBeGreaterThan(1 << 20);
    expect(p!.cpuTimeMs).toEqual(expect.any(Number));
    // The agent itself, with its own command line.
    expect(
      list.some(
        (x) => x.name === 'node.exe' && String(x.cmdline).includes('lr-agent') && String(x.cmdline).includes('start'),
      ),
    ).toBe(true);
  }, 60_000);

  it('lists a process it may not open with what Toolhelp gives, null elsewhere', async () => {
    const [p] = await json(`processes -pid ${denied.pid}`);
    expect(p).toEqual({
      pid: denied.pid,
      ppid: 0,
      name: 'node.exe',
      user: null,
      uid: null,
      state: 'running',
      sessionId: null,
      startTime: null,
      cmdline: null,
      path: null,
      rssBytes: null,
      cpuTimeMs: null,
    });
  }, 60_000);

  it('filters -name (any case, with or without .exe) and -pid; an unknown pid is an empty table and the agent goes on', async () => {
    for (const name of ['node', 'NODE.EXE']) {
      const byName = await json(`processes -name ${name}`);
      expect(byName.map((x) => x.pid)).toEqual(expect.arrayContaining([planted.pid, planted.ppid]));
      expect(byName.every((x) => x.name === 'node.exe')).toBe(true);
    }
    const byPid = await json(`processes -pid ${planted.pid}`);
    expect(byPid.map((x) => x.pid)).toEqual([planted.pid]);
    expect(byPid[0]!.cmdline).toContain(MARKER);
    expect(await json('processes -pid 999999')).toEqual([]);
    const none = await w.lr(['exec', 'windev', 'processes -name no-such-image']);
    expect(none.stderr).toMatch(/no process named no-such-image/);
    expect((await json(`processes -pid ${planted.pid}`)).length).toBe(1); // still serving
  }, 90_000);

  it("lists the planted sockets and the agent's own connection to the service with the owning pid", async () => {
    const rows = await json('connections');
    const agentPid = (await json('processes -name node')).find((x) => String(x.cmdline).includes('lr-agent'))?.pid;
    expect(agentPid).toEqual(expect.any(Number));
    const show = JSON.stringify(rows);
    // The acceptance point: the agent's TCP connection to the service's port, owned by the agent. (Under Wine the
    // connections of host processes to the service, such as this lr CLI's, are listed too, without owner.)
    const toService = rows.filter(
      (r) =>
        r.protocol === 'tcp' && r.state === 'ESTABLISHED' && r.remotePort === w.port && r.remoteAddress === '127.0.0.1',
    );
    expect(
      toService.filter((r) => r.pid !== null),
      show,
    ).toEqual([
      expect.objectContaining({
        localAddress: '127.0.0.1',
        pid: agentPid,
        processName: 'node.exe',
        inode: null,
        uid: null,
      }),
    ]);
    // The planted process's connection to its own listener, and its UDP socket.
    expect(
      rows.find((r) => r.protocol === 'tcp' && r.localPort === planted.clientPort),
      show,
    ).toMatchObject({
      localAddress: '127.0.0.1',
      remoteAddress: '127.0.0.1',
      remotePort: planted.tcpPort,
      state: 'ESTABLISHED',
      pid: planted.pid,
      processName: 'node.exe',
    });
    expect(
      rows.find((r) => r.protocol === 'udp' && r.localPort === planted.udpPort),
      show,
    ).toMatchObject({
      localAddress: '127.0.0.1',
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 'UNCONN',
      pid: planted.pid,
      processName: 'node.exe',
    });
    // The socket of the process the agent may not open: its pid and name still (from the table and Toolhelp).
    expect(
      rows.find((r) => r.protocol === 'udp' && r.localPort === denied.udpPort),
      show,
    ).toMatchObject({ pid: denied.pid, processName: 'node.exe' });
    // Its listening socket: Wine does not know who holds a listening socket (pid 0), Windows does.
    const listener = rows.find((r) => r.protocol === 'tcp' && r.localPort === planted.tcpPort && r.state === 'LISTEN');
    expect(listener, show).toMatchObject({ localAddress: '127.0.0.1', remoteAddress: '0.0.0.0', remotePort: 0 });
    expect([planted.pid, null]).toContain(listener!.pid);
    // Wine lists the host's sockets too, without owner: the service's listening port.
    expect(
      rows.find((r) => r.protocol === 'tcp' && r.localPort === w.port && r.state === 'LISTEN'),
      show,
    ).toMatchObject({ pid: null, processName: null });
  }, 60_000);
});
