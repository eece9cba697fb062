/**
 * isolate / release: cuts the device off the network except loopback and its connection to the live
 * response service (the addresses of every node of the service, resolved now from the agent's service
 * URLs, with their ports: an isolated agent must still be able to move to another node), with the
 * platform's firewall (nftables table `inet lr_isolation`, iptables chain `LR_ISOLATION` where nft is
 * missing). The state is kept in the data folder: re-applied at agent start, reported in the hello.
 */
import { lookup } from 'node:dns/promises';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { serviceUrls } from '../../node/profile.js';
import { CommandError, defineCommand } from '../command.js';
import { readIsolation, writeIsolation } from '../isolation.js';
import type { IsolationPeer } from '../platform/types.js';
import { describeError } from '../../shared/errors.js';

async function nodePeers(url: string): Promise<IsolationPeer[]> {
  const u = new URL(url);
  const port = Number(u.port || 443);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addrs = await lookup(host, { all: true, verbatim: true });
  return [...new Set(addrs.map((a) => a.address))].map((address) => ({ address, port }));
}

/**
 * The peers of every node. A node whose name does not resolve now is left out (and said so) rather
 * than refusing to isolate a device under attack; the node the agent is connected to must resolve.
 */
async function servicePeers(
  urls: readonly string[],
  current: string | null,
): Promise<{ allow: IsolationPeer[]; unresolved: string[] }> {
  const results = await Promise.allSettled(urls.map((u) => nodePeers(u)));
  const allow = new Map<string, IsolationPeer>();
  const unresolved: string[] = [];
  for (const [i, r] of results.entries()) {
    const url = urls[i] ?? '';
    if (r.status === 'rejected') {
      if (url === current || urls.length === 1)
        throw new CommandError(`isolate: cannot resolve the service address ${url}: ${describeError(r.reason)}`);
      unresolved.push(`${url} (${describeError(r.reason)})`);
      continue;
    }
    for (const p of r.value) allow.set(`${p.address}|${p.port}`, p);
  }
  if (allow.size === 0) throw new CommandError(`isolate: cannot resolve any service address: ${unresolved.join('; ')}`);
  return { allow: [...allow.values()], unresolved };
}

export const isolateCommand = defineCommand({
  spec: commandSpec('isolate'),
  schema: paramsSchema(commandSpec('isolate')),
  async run(ctx) {
    if (!ctx.dataDir || !ctx.service)
      throw new CommandError('isolate: the agent does not know its data folder or service address');
    const { allow, unresolved } = await servicePeers(
      serviceUrls({ url: ctx.service.url, urls: ctx.service.urls }),
      ctx.service.currentUrl?.() ?? null,
    );
    if (unresolved.length > 0)
      ctx.trace(
        'warn',
        `isolate: these service nodes could not be resolved and stay unreachable while isolated: ${unresolved.join('; ')}`,
      );
    const backend = await ctx.platform.applyIsolation(allow).catch((e: Error) => {
      if (e.name === 'NotSupportedError') throw e;
      throw new CommandError(`isolate: ${e.message.split('\n')[0]}`);
    });
    const changedAt = new Date().toISOString();
    await writeIsolation(ctx.dataDir, { isolated: true, backend, allow, changedAt, jobId: ctx.jobId ?? null });
    ctx.trace(
      'warn',
      `device isolated (${backend}); allowed: ${allow.map((a) => `${a.address}:${a.port}`).join(', ')}`,
    );
    await ctx.emit({ isolated: true, backend, allowed: allow.map((a) => `${a.address}:${a.port}`), changedAt });
  },
});

export const releaseCommand = defineCommand({
  spec: commandSpec('release'),
  schema: paramsSchema(commandSpec('release')),
  async run(ctx) {
    if (!ctx.dataDir) throw new CommandError('release: the agent does not know its data folder');
    const state = readIsolation(ctx.dataDir);
    const backend = state?.backend ?? (ctx.platform.name === 'win32' ? 'windows-firewall' : 'nftables');
    await ctx.platform.removeIsolation(backend).catch((e: Error) => {
      if (e.name === 'NotSupportedError') throw e;
      throw new CommandError(`release: ${e.message.split('\n')[0]}`);
    });
    const changedAt = new Date().toISOString();
    await writeIsolation(ctx.dataDir, {
      isolated: false,
      backend: null,
      allow: [],
      changedAt,
      jobId: ctx.jobId ?? null,
    });
    ctx.trace('warn', 'device released from isolation');
    await ctx.emit({ isolated: false, backend, allowed: [], changedAt, wasIsolated: state?.isolated === true });
  },
});
