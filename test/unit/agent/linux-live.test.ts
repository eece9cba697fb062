/** The Linux layer against the live kernel: our own child processes and sockets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { buildSysroot } from './fixture-sysroot.js';
import { tempDir } from './helpers.js';

const fixture = tempDir('lr-live-');
let sleeper: ChildProcess;

beforeAll(async () => {
  buildSysroot(fixture.dir);
  sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => sleeper.once('spawn', resolve));
  // exec has happened once comm reads `sleep`
  for (let i = 0; i < 100 && readFileSync(`/proc/${sleeper.pid}/comm`, 'utf8').trim() !== 'sleep'; i++)
    await new Promise((r) => setTimeout(r, 10));
});

afterAll(() => {
  sleeper.kill();
  fixture.cleanup();
});

describe('listProcesses', () => {
  it('lists a spawned child with its details', async () => {
    const platform = createLinuxPlatform({ sysroot: fixture.dir });
    const before = Date.now();
    const list = await platform.listProcesses();
    const p = list.find((x) => x.pid === sleeper.pid);
    expect(p).toBeDefined();
    expect(p).toMatchObject({
      pid: sleeper.pid,
      ppid: process.pid,
      name: 'sleep',
      cmdline: 'sleep 30',
      uid: process.getuid?.(),
    });
    expect(p?.path).toMatch(/sleep$/);
    expect(p?.user).toBe(process.getuid?.() === 0 ? 'root' : String(process.getuid?.()));
    expect(p?.state).toMatch(/sleeping|running/);
    expect(p?.rssBytes).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(p?.startTime ?? '') - before)).toBeLessThan(60_000);
  });

  it('lists ourselves, pid 1, and is sorted by pid', async () => {
    const list = await createLinuxPlatform({ sysroot: '/' }).listProcesses();
    const self = list.find((x) => x.pid === process.pid);
    expect(self?.cmdline).toContain(process.argv0.split('/').pop());
    expect(self?.cpuTimeMs).toBeGreaterThan(0);
    expect(list.some((x) => x.pid === 1)).toBe(true);
    expect(list.map((x) => x.pid)).toEqual([...list.map((x) => x.pid)].sort((a, b) => a - b));
  });

  it('stops when the signal aborts', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(createLinuxPlatform({ sysroot: '/' }).listProcesses(ctl.signal)).rejects.toThrow();
  });
});

describe('listConnections', () => {
  it('shows our listening socket with our pid', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    try {
      const list = await createLinuxPlatform({ sysroot: '/' }).listConnections();
      const listen = list.find((c) => c.protocol === 'tcp' && c.localPort === port && c.state === 'LISTEN');
      expect(listen).toMatchObject({
        localAddress: '127.0.0.1',
        remoteAddress: '0.0.0.0',
        remotePort: 0,
        pid: process.pid,
        processName: readFileSync('/proc/self/comm', 'utf8').trim(),
      });
      expect(listen?.inode).toBeGreaterThan(0);
      const established = list.find((c) => c.protocol === 'tcp' && c.remotePort === port && c.state === 'ESTABLISHED');
      expect(established?.pid).toBe(process.pid);
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('shows IPv6 and UDP sockets', async () => {
    const server = net.createServer();
    const hasV6 = Object.values(os.networkInterfaces())
      .flat()
      .some((i) => i?.family === 'IPv6' && i.address === '::1');
    if (hasV6) await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    const dgram = await import('node:dgram');
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const list = await createLinuxPlatform({ sysroot: '/' }).listConnections();
      const udpRow = list.find((c) => c.protocol === 'udp' && c.localPort === udp.address().port);
      expect(udpRow).toMatchObject({ state: 'UNCONN', pid: process.pid, localAddress: '127.0.0.1' });
      if (hasV6) {
        const port = (server.address() as net.AddressInfo).port;
        expect(list.find((c) => c.protocol === 'tcp6' && c.localPort === port)).toMatchObject({
          localAddress: '::1',
          state: 'LISTEN',
          pid: process.pid,
        });
      }
    } finally {
      udp.close();
      if (hasV6) await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('bootId and registry', () => {
  it('reads the kernel boot id', async () => {
    expect(await createLinuxPlatform({ sysroot: '/' }).bootId()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses the registry', async () => {
    await expect(createLinuxPlatform({ sysroot: '/' }).readRegistry('HKLM\\SOFTWARE')).rejects.toThrow(
      'registry: not supported on this platform',
    );
  });
});
