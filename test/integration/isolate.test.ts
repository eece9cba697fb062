// Isolation in network namespaces. The agent runs inside a namespace joined to
// the host by a veth pair (private test addresses 10.200.x.0/24, on links this test creates: nothing
// leaves the machine); the service and a plain TCP test server listen on the host end of the veth.
// Before `isolate` the namespace reaches the test server; after it, it cannot while `lr exec` still
// works (also after an agent restart, and `lr devices` says isolated); after `release` it can again.
// Skipped, with the reason in its name, only as an ordinary user; as root (CI) a namespace that cannot be
// made is a failure (test/needs.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { firstProblem, describeNeeds, IS_ROOT, missingCommand } from '../needs.js';
import { BIN, createWorld, enrollAgent, freePort, stop, waitFor, type World } from './harness.js';

const TAG = randomBytes(3).toString('hex');
const NS = `lr-iso-${TAG}`;
const HOST_IF = `lrh${TAG}`;
const NS_IF = `lrn${TAG}`;
const SUBNET = 200 + (parseInt(TAG, 16) % 50); // 10.<200..249>.0.0/24: a private range, on our own veth only
const HOST_IP = `10.${SUBNET}.0.1`;
const NS_IP = `10.${SUBNET}.0.2`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Why namespaces cannot be used here, or null when they can (probed by creating and deleting one). */
function namespaceProblem(): string | null {
  if (!IS_ROOT) return 'needs root to create network namespaces';
  const tools = firstProblem(missingCommand('ip', 'iproute2'), missingCommand('nft', 'nftables'));
  if (tools) return tools;
  try {
    ip('netns', 'add', `${NS}-probe`);
    ip('netns', 'del', `${NS}-probe`);
  } catch (e) {
    return `cannot create a network namespace: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return null;
}

/**
 * Whether the namespace can open a TCP connection to host:port and read the server's greeting (2 s).
 * Asynchronous: the test server runs in this process, so the event loop must stay free.
 */
function reachable(host: string, port: number): Promise<boolean> {
  const script = `const s=require('net').connect(${port},'${host}');s.setTimeout(2000,()=>process.exit(1));s.on('data',()=>process.exit(0));s.on('error',()=>process.exit(1));`;
  return new Promise((resolve) =>
    execFile('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { timeout: 10_000 }, (err) =>
      resolve(err === null),
    ),
  );
}

describeNeeds(namespaceProblem())('isolate and release (network namespaces)', () => {
  let w: World;
  let agent: ChildProcess | undefined;
  let agentDir: string;
  let deviceId: string;
  let server: Server;
  let testPort: number;

  const startAgent = async (): Promise<void> => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, BIN('lr-agent'), 'start', '--data', agentDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LR_LOG_LEVEL: 'warn' },
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    agent = child;
    await waitFor(
      `the agent in ${NS} online (${out})`,
      async () => (await w.devices()).find((d) => d.id === deviceId && d.online),
      20_000,
    );
  };
  const isolatedFlag = async () =>
    ((await w.devices()) as { id: string; isolated?: boolean }[]).find((d) => d.id === deviceId)?.isolated;

  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('-n', NS, 'addr', 'add', `${NS_IP}/24`, 'dev', NS_IF);
    ip('-n', NS, 'link', 'set', NS_IF, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    // The second test server: plain TCP on the veth address (not loopback), greeting every client.
    testPort = await freePort();
    server = createServer((s) => s.end('hello\n'));
    await new Promise<void>((r) => server.listen(testPort, HOST_IP, () => r()));
    w = await createWorld({}, { host: HOST_IP });
    ({ dataDir: agentDir, deviceId } = await enrollAgent(w, 'oscar'));
    await startAgent();
  }, 60_000);

  afterAll(async () => {
    await stop(agent);
    await w?.cleanup();
    server?.close();
    try {
      ip('netns', 'del', NS); // removes the namespace's rules and its end of the veth (the pair goes with it)
    } catch {
      /* never created */
    }
    try {
      ip('link', 'del', HOST_IF);
    } catch {
      /* already gone with its peer */
    }
  });

  it('cuts the namespace off except the service, survives an agent restart, and releases', async () => {
    expect(await reachable(HOST_IP, testPort)).toBe(true);
    expect(await isolatedFlag()).toBe(false);

    const iso = await w.lr(['exec', 'oscar', 'isolate', '--json']);
    expect(iso.stderr).toBe('');
    const out = JSON.parse(iso.stdout) as { status: string; records: Record<string, unknown>[] };
    expect(out.status).toBe('completed');
    expect(out.records[0]).toMatchObject({ isolated: true, allowed: [`${HOST_IP}:${w.port}`] });
    expect(['nftables', 'iptables']).toContain(out.records[0]?.backend);

    expect(await reachable(HOST_IP, testPort)).toBe(false);
    const ps = await w.lr(['exec', 'oscar', 'processes -pid 1', '--json']);
    expect(ps.code).toBe(0);
    expect((JSON.parse(ps.stdout) as { records: { pid: number }[] }).records[0]?.pid).toBe(1);
    expect(await isolatedFlag()).toBe(true);

    // The state survives an agent restart: the rules are applied again and the hello says isolated.
    await stop(agent);
    execFileSync('ip', ['netns', 'exec', NS, 'sh', '-c', 'nft delete table inet lr_isolation 2>/dev/null || true']);
    await startAgent();
    expect(await reachable(HOST_IP, testPort)).toBe(false);
    expect(await isolatedFlag()).toBe(true);

    const rel = await w.lr(['exec', 'oscar', 'release', '--json']);
    expect(JSON.parse(rel.stdout)).toMatchObject({
      status: 'completed',
      records: [{ isolated: false, wasIsolated: true }],
    });
    expect(await reachable(HOST_IP, testPort)).toBe(true);
    expect(await isolatedFlag()).toBe(false);

    const log = JSON.parse((await w.lr(['log', '--device', 'oscar', '--json'])).stdout) as Record<string, unknown>[];
    expect(
      log
        .filter((e) => e.commandLine === 'isolate' || e.commandLine === 'release')
        .map((e) => `${String(e.user)} ${String(e.commandLine)} ${String(e.status)}`),
    ).toEqual(['admin isolate completed', 'admin release completed']);
  }, 120_000);
});
