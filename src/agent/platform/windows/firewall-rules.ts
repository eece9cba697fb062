/**
 * The isolation rule set for Windows, as a pure function of the peers the isolation lets through (every
 * node of the live response service, resolved before isolating): permit loopback, TCP to each service
 * address:port, DHCP (v4 and v6) and IPv6 neighbour discovery; block everything else, in and out, on IPv4
 * and IPv6. The firewall backend (firewall-wfp.ts) turns each rule into one filter; nothing here touches
 * the system, so the set is unit-tested as is.
 *
 * Why DHCP and neighbour discovery: an isolation lasts as long as the investigation (days). Without DHCP the
 * device loses its IPv4 lease when it expires and with it the connection to the service; without NDP an IPv6
 * device cannot even reach its router. Both are link-local protocols that routers do not forward, limited
 * here to their own ports/types (DHCPv4 requests only to the broadcast address: a renewal falls back to the
 * broadcast REBIND before the lease expires), so they open no path off the link. (On Linux the DHCP client
 * uses raw sockets that nftables does not see: it keeps its lease the same way.)
 * DNS is not allowed: the service addresses are resolved before isolating.
 */
import { isIP } from 'node:net';
import type { IsolationPeer } from '../types.js';

export type RuleDirection = 'out' | 'in';

/** One firewall rule: every condition present must match; the most specific rules come first. */
export interface FirewallRule {
  /** What the rule is for, in words (also the filter's name, so an admin recognises it). */
  name: string;
  action: 'permit' | 'block';
  /** out: connections the device opens (ALE connect); in: connections it accepts (ALE receive/accept). */
  direction: RuleDirection;
  family: 4 | 6;
  protocol?: 'tcp' | 'udp' | 'icmpv6';
  remoteAddress?: string;
  remotePort?: number;
  localPort?: number;
  /** ICMPv6 message type (NDP). */
  icmpType?: number;
  /** Matches loopback traffic only. */
  loopback?: true;
}

/** Fixed protocol numbers for the filters. */
export const IP_PROTOCOL = { tcp: 6, udp: 17, icmpv6: 58 } as const;

/** Router solicitation, router advertisement, neighbour solicitation, neighbour advertisement, redirect. */
export const NDP_TYPES = [133, 134, 135, 136, 137] as const;

const SERVICE_PREFIX = 'lr isolation:';

/** The peers, validated: an address that is not a literal IP or a port out of range is refused (never guessed). */
function checkedPeers(allow: readonly IsolationPeer[]): Array<IsolationPeer & { family: 4 | 6 }> {
  if (allow.length === 0) throw new Error('no service address to allow: isolating would cut the agent off its service');
  const seen = new Set<string>();
  const out: Array<IsolationPeer & { family: 4 | 6 }> = [];
  for (const p of allow) {
    const family = isIP(p.address);
    if (family !== 4 && family !== 6) throw new Error(`not an IP address: ${JSON.stringify(p.address)}`);
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      throw new Error(`not a TCP port: ${p.port} (${p.address})`);
    const key = `${p.address.toLowerCase()}|${p.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ address: p.address, port: p.port, family });
  }
  return out;
}

/** The rules isolating the device, in order: permits first (service nodes, loopback, DHCP, NDP), blocks last. */
export function isolationRules(allow: readonly IsolationPeer[]): FirewallRule[] {
  const peers = checkedPeers(allow);
  const rules: FirewallRule[] = [];
  for (const p of peers) {
    const shown = p.family === 6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
    rules.push({
      name: `${SERVICE_PREFIX} permit TCP to the live response service ${shown}`,
      action: 'permit',
      direction: 'out',
      family: p.family,
      protocol: 'tcp',
      remoteAddress: p.address,
      remotePort: p.port,
    });
  }
  for (const family of [4, 6] as const) {
    for (const direction of ['out', 'in'] as const)
      rules.push({
        name: `${SERVICE_PREFIX} permit loopback IPv${family} ${direction}`,
        action: 'permit',
        direction,
        family,
        loopback: true,
      });
  }
  rules.push(
    {
      name: `${SERVICE_PREFIX} permit DHCPv4 requests (broadcast)`,
      action: 'permit',
      direction: 'out',
      family: 4,
      protocol: 'udp',
      localPort: 68,
      remoteAddress: '255.255.255.255',
      remotePort: 67,
    },
    {
      name: `${SERVICE_PREFIX} permit DHCPv4 replies`,
      action: 'permit',
      direction: 'in',
      family: 4,
      protocol: 'udp',
      localPort: 68,
      remotePort: 67,
    },
    {
      name: `${SERVICE_PREFIX} permit DHCPv6 requests (all DHCP servers and relays)`,
      action: 'permit',
      direction: 'out',
      family: 6,
      protocol: 'udp',
      localPort: 546,
      remoteAddress: 'ff02::1:2',
      remotePort: 547,
    },
    {
      name: `${SERVICE_PREFIX} permit DHCPv6 replies`,
      action: 'permit',
      direction: 'in',
      family: 6,
      protocol: 'udp',
      localPort: 546,
      remotePort: 547,
    },
  );
  for (const direction of ['out', 'in'] as const) {
    for (const icmpType of NDP_TYPES)
      rules.push({
        name: `${SERVICE_PREFIX} permit ICMPv6 neighbour discovery type ${icmpType} ${direction}`,
        action: 'permit',
        direction,
        family: 6,
        protocol: 'icmpv6',
        icmpType,
      });
  }
  for (const family of [4, 6] as const) {
    for (const direction of ['out', 'in'] as const)
      rules.push({ name: `${SERVICE_PREFIX} block all IPv${family} ${direction}`, action: 'block', direction, family });
  }
  return rules;
}

/** An IPv4 address as the 32-bit number WFP compares (host order: 10.0.0.1 is 0x0a000001). */
export function ipv4ToUint32(address: string): number {
  const parts = address.split('.').map(Number);
  if (isIP(address) !== 4 || parts.length !== 4) throw new Error(`not an IPv4 address: ${address}`);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

/** An IPv6 address as its 16 bytes (network order), `::` and embedded IPv4 expanded; zone ids refused. */
export function ipv6Bytes(address: string): Buffer {
  if (isIP(address) !== 6 || address.includes('%')) throw new Error(`not an IPv6 address: ${address}`);
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToUint32(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail === null ? [] : tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
