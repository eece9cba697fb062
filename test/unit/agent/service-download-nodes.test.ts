// Library downloads on an agent of a cluster: the job's URL may name another node than the one the agent
// is connected to. Accepted for any node of the service (and fetched from the connected node first),
// refused for any other host. Real HTTPS servers on loopback stand in for two nodes. A body of another size
// than the library announced (fewer or more bytes, or another Content-Length) fails, nothing left on disk.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceEndpoint } from '../../../src/agent/command.js';
import { downloadFromService, downloadTargets } from '../../../src/agent/service-download.js';
import { createTlsMaterial, type TlsMaterial } from '../../../src/server/tls.js';

const A = 'wss://node-a.example:8443';
const B = 'wss://node-b.example:8443';
const endpoint = (current: string | null): ServiceEndpoint => ({
  url: A,
  urls: [A, B],
  ca: 'unused',
  deviceId: 'd1',
  currentUrl: () => current,
});

describe('downloadTargets (which hosts an agent downloads from)', () => {
  it('accepts a target on another node of the service and tries the connected node first', () => {
    const targets = downloadTargets('https://node-b.example:8443/api/v1/agent/files/tok?x=1', endpoint(A), 'putfile');
    expect(targets.map((t) => t.href)).toEqual([
      'https://node-a.example:8443/api/v1/agent/files/tok?x=1',
      'https://node-b.example:8443/api/v1/agent/files/tok?x=1',
    ]);
  });

  it('uses the target as is when it names the connected node, or when the agent is offline', () => {
    expect(downloadTargets('https://node-a.example:8443/f', endpoint(A), 'run').map((t) => t.href)).toEqual([
      'https://node-a.example:8443/f',
    ]);
    expect(downloadTargets('https://node-b.example:8443/f', endpoint(null), 'run').map((t) => t.href)).toEqual([
      'https://node-b.example:8443/f',
    ]);
  });

  it('refuses a host that is not a node of the service, and plain http', () => {
    expect(() => downloadTargets('https://evil.example:8443/f', endpoint(A), 'putfile')).toThrow(
      /putfile: refusing to download from https:\/\/evil\.example:8443: not the service/,
    );
    expect(() => downloadTargets('http://node-b.example:8443/f', endpoint(A), 'putfile')).toThrow(
      /refusing to download/,
    );
    expect(() => downloadTargets('https://node-a.example:9999/f', endpoint(A), 'putfile')).toThrow(
      /refusing to download/,
    );
    expect(() => downloadTargets('not a url', endpoint(A), 'run')).toThrow(/invalid download URL/);
  });

  it('a single-node agent (no urls) accepts its one node only, as before', () => {
    const single: ServiceEndpoint = { url: A, ca: 'unused', deviceId: 'd1' };
    expect(downloadTargets('https://node-a.example:8443/f', single, 'run')).toHaveLength(1);
    expect(() => downloadTargets('https://node-b.example:8443/f', single, 'run')).toThrow(/refusing to download/);
  });
});

describe('downloadFromService across two nodes (real HTTPS)', () => {
  let tls: TlsMaterial;
  let dir: string;
  const body = Buffer.from('library file contents\n'.repeat(1000));
  const sha = createHash('sha256').update(body).digest('hex');
  const hits: string[] = [];
  const servers: Server[] = [];

  /** A node: serves the file for `token` only if it issued it, else refuses like the service does. */
  async function node(name: string, issued: string | null): Promise<string> {
    const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      hits.push(`${name} ${req.url}`);
      if (issued && req.url === `/api/v1/agent/files/${issued}`) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      } else {
        res
          .writeHead(403, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'unknown, used or expired download token' }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    return `wss://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  beforeAll(async () => {
    tls = await createTlsMaterial(['127.0.0.1']);
    dir = mkdtempSync(join(tmpdir(), 'lr-download-nodes-'));
  });
  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const opts = (service: ServiceEndpoint) => ({
    service,
    size: body.length,
    signal: new AbortController().signal,
    command: 'putfile',
    what: 'tool.bin',
  });

  it('the connected node is asked first; the issuing node serves when the token is its own', async () => {
    hits.length = 0;
    const a = await node('A', null);
    const b = await node('B', 'tokB');
    const service: ServiceEndpoint = { url: a, urls: [a, b], ca: tls.caCert, deviceId: 'd1', currentUrl: () => a };
    const dest = join(dir, 'one');
    const got = await downloadFromService(
      `${b.replace('wss:', 'https:')}/api/v1/agent/files/tokB`,
      dest,
      opts(service),
    );
    expect(got).toEqual({ sha256: sha, size: body.length });
    expect(readFileSync(dest)).toEqual(body);
    expect(hits).toEqual(['A /api/v1/agent/files/tokB', 'B /api/v1/agent/files/tokB']);
  });

  it('a connected node that can serve it does, without asking the other', async () => {
    hits.length = 0;
    const a = await node('A2', 'tokShared');
    const b = await node('B2', 'tokShared');
    const service: ServiceEndpoint = { url: a, urls: [a, b], ca: tls.caCert, deviceId: 'd1', currentUrl: () => b };
    const got = await downloadFromService(
      `${a.replace('wss:', 'https:')}/api/v1/agent/files/tokShared`,
      join(dir, 'two'),
      opts(service),
    );
    expect(got.sha256).toBe(sha);
    expect(hits).toEqual(['B2 /api/v1/agent/files/tokShared']);
  });

  it('when every node refuses, the first refusal is the message; nothing is left on disk', async () => {
    const a = await node('A3', null);
    const b = await node('B3', null);
    const service: ServiceEndpoint = { url: a, urls: [a, b], ca: tls.caCert, deviceId: 'd1', currentUrl: () => a };
    const dest = join(dir, 'three');
    await expect(
      downloadFromService(`${b.replace('wss:', 'https:')}/api/v1/agent/files/nope`, dest, opts(service)),
    ).rejects.toThrow(/putfile: the service refused the download of tool.bin: unknown, used or expired download token/);
    expect(() => readFileSync(dest)).toThrow();
  });

  it('a target on a node that is down falls back to the connected node and back', async () => {
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = `wss://127.0.0.1:${deadPort}`;
    const b = await node('B4', 'tokDead');
    // The job names the dead node; the agent is on B4, which serves it.
    const service: ServiceEndpoint = {
      url: dead,
      urls: [dead, b],
      ca: tls.caCert,
      deviceId: 'd1',
      currentUrl: () => b,
    };
    const got = await downloadFromService(
      `https://127.0.0.1:${deadPort}/api/v1/agent/files/tokDead`,
      join(dir, 'four'),
      opts(service),
    );
    expect(got.sha256).toBe(sha);
  });

  /** A node that answers every download with `send` (a service serving other bytes than the library says). */
  async function lyingNode(send: (res: import('node:http').ServerResponse) => void): Promise<ServiceEndpoint> {
    const server = createServer({ cert: tls.cert, key: tls.key }, (_req, res) => send(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const url = `wss://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { url, urls: [url], ca: tls.caCert, deviceId: 'd1', currentUrl: () => url };
  }
  const fileUrl = (service: ServiceEndpoint) => `${service.url.replace('wss:', 'https:')}/api/v1/agent/files/tok`;

  it('fewer bytes than the library announced (a body cut short, no Content-Length) fail, nothing left on disk', async () => {
    const service = await lyingNode((res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body.subarray(0, 100));
    });
    const dest = join(dir, 'short');
    await expect(downloadFromService(fileUrl(service), dest, opts(service))).rejects.toThrow(
      `putfile: tool.bin: received 100 bytes, the library says ${body.length}`,
    );
    expect(() => readFileSync(dest)).toThrow();
  });

  it('more bytes than announced stop the download; a Content-Length of another size is refused before any byte', async () => {
    const longer = await lyingNode((res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat([body, Buffer.from('extra')]));
    });
    const dest = join(dir, 'long');
    await expect(downloadFromService(fileUrl(longer), dest, opts(longer))).rejects.toThrow(
      `putfile: tool.bin from the service is larger than the library says (${body.length} bytes)`,
    );
    expect(() => readFileSync(dest)).toThrow();
    const announced = await lyingNode((res) =>
      res.writeHead(200, { 'content-length': String(body.length + 1) }).end(Buffer.concat([body, Buffer.from('x')])),
    );
    await expect(downloadFromService(fileUrl(announced), dest, opts(announced))).rejects.toThrow(
      `putfile: the service announced ${body.length + 1} bytes for tool.bin, the library says ${body.length}`,
    );
    expect(() => readFileSync(dest)).toThrow();
  });

  it('a foreign host is refused before any request', async () => {
    hits.length = 0;
    const a = await node('A5', 'tok5');
    const service: ServiceEndpoint = { url: a, urls: [a], ca: tls.caCert, deviceId: 'd1', currentUrl: () => a };
    await expect(
      downloadFromService('https://localhost:1/api/v1/agent/files/tok5', join(dir, 'five'), opts(service)),
    ).rejects.toThrow(/refusing to download from https:\/\/localhost:1/);
    expect(hits).toEqual([]);
  });
});
