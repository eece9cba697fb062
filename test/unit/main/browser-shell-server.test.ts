/**
 * startBrowserShell in-process, with injected services: the hook the standalone mode uses to put the
 * embedded service behind the same socket. (The real child process is covered by test/e2e.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBrowserShell, type BrowserShell } from '../../../src/main/browser-shell/server.js';
import { createServices } from '../../../src/main/services/index.js';

const rendererDir = mkdtempSync(path.join(tmpdir(), 'lr-shell-'));
writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><div id="root"></div>');
const services = createServices({ version: '9.9.9-test', mode: 'browser-shell', platform: 'testos' });
let shell: BrowserShell;

beforeAll(async () => {
  shell = await startBrowserShell({ rendererDir, services });
});

afterAll(async () => {
  await shell.close();
  rmSync(rendererDir, { recursive: true, force: true });
});

function frames(socket: WebSocket): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const received: unknown[] = [];
    socket.on('message', (data) => {
      received.push(JSON.parse(String(data)));
      if (received.length === 3) resolve(received);
    });
    socket.on('error', reject);
  });
}

describe('startBrowserShell', () => {
  it('prints a loopback launch URL with a 43-character token and a random port', () => {
    expect(shell.url).toBe(`http://127.0.0.1:${shell.port}/launch?token=${shell.launchToken}`);
    expect(shell.launchToken).toHaveLength(43);
    expect(shell.port).toBeGreaterThan(0);
  });

  it('answers through the injected services and pushes their events', async () => {
    const launched = await fetch(shell.url, { redirect: 'manual' });
    expect(launched.status).toBe(303);
    const cookie = (launched.headers.get('set-cookie') ?? '').split(';', 1)[0] ?? '';
    const socket = new WebSocket(`ws://127.0.0.1:${shell.port}/ipc`, { origin: shell.origin, headers: { cookie } });
    const received = frames(socket);
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ id: 'info', channel: 'lr:app.info', payload: {} }));
    services.events.publish({ type: 'hello', mode: 'browser-shell' });
    expect(await received).toEqual(
      expect.arrayContaining([
        { event: 'lr:event', payload: { type: 'hello', mode: 'browser-shell' } },
        { id: 'info', ok: true, result: { version: '9.9.9-test', mode: 'browser-shell', platform: 'testos' } },
      ]),
    );
    socket.close();
  });

  it('tells its listeners once when the launch token is used (the launch page can go), not when it is refused', async () => {
    const other = await startBrowserShell({ rendererDir, services });
    try {
      let used = 0;
      const listener = other.onLaunchUsed(() => (used += 1));
      expect((await fetch(`${other.origin}/launch?token=wrong`, { redirect: 'manual' })).status).toBe(403);
      expect(used).toBe(0);
      expect((await fetch(other.url, { redirect: 'manual' })).status).toBe(303);
      expect((await fetch(other.url, { redirect: 'manual' })).status).toBe(403);
      expect(used).toBe(1);
      listener.dispose();
    } finally {
      await other.close();
    }
  });

  it('closes cleanly, and then refuses connections', async () => {
    const other = await startBrowserShell({ rendererDir, services });
    await other.close();
    await other.close();
    await expect(fetch(other.url)).rejects.toThrow();
  });
});
