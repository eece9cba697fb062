// The Windows isolation rule set (pure) and its WFP encoding: every rule for 1 and 3 service nodes, the filters
// they become, and the x64 layout of the WFP structures (checked with koffi on Linux: same LP64/LLP64 layout
// for these types, all fixed-width integers and pointers).
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import { describe, expect, it } from 'vitest';
import {
  ipv4ToUint32,
  ipv6Bytes,
  isolationRules,
  type FirewallRule,
} from '../../../../src/agent/platform/windows/firewall-rules.js';
import {
  CONDITIONS,
  filterKey,
  guidFields,
  LAYERS,
  SUBLAYER_KEY,
  WfpArena,
  wfpFilter,
  wfpTypes,
} from '../../../../src/agent/platform/windows/firewall-wfp.js';

const P = 'lr isolation:';

/** Everything but the service permits: identical whatever the service nodes are. */
const FIXED: FirewallRule[] = [
  { name: `${P} permit loopback IPv4 out`, action: 'permit', direction: 'out', family: 4, loopback: true },
  { name: `${P} permit loopback IPv4 in`, action: 'permit', direction: 'in', family: 4, loopback: true },
  { name: `${P} permit loopback IPv6 out`, action: 'permit', direction: 'out', family: 6, loopback: true },
  { name: `${P} permit loopback IPv6 in`, action: 'permit', direction: 'in', family: 6, loopback: true },
  {
    name: `${P} permit DHCPv4 requests (broadcast)`,
    action: 'permit',
    direction: 'out',
    family: 4,
    protocol: 'udp',
    localPort: 68,
    remoteAddress: '255.255.255.255',
    remotePort: 67,
  },
  {
    name: `${P} permit DHCPv4 replies`,
    action: 'permit',
    direction: 'in',
    family: 4,
    protocol: 'udp',
    localPort: 68,
    remotePort: 67,
  },
  {
    name: `${P} permit DHCPv6 requests (all DHCP servers and relays)`,
    action: 'permit',
    direction: 'out',
    family: 6,
    protocol: 'udp',
    localPort: 546,
    remoteAddress: 'ff02::1:2',
    remotePort: 547,
  },
  {
    name: `${P} permit DHCPv6 replies`,
    action: 'permit',
    direction: 'in',
    family: 6,
    protocol: 'udp',
    localPort: 546,
    remotePort: 547,
  },
  ...(['out', 'in'] as const).flatMap((direction) =>
    [133, 134, 135, 136, 137].map((icmpType): FirewallRule => ({
      name: `${P} permit ICMPv6 neighbour discovery type ${icmpType} ${direction}`,
      action: 'permit',
      direction,
      family: 6,
      protocol: 'icmpv6',
      icmpType,
    })),
  ),
  { name: `${P} block all IPv4 out`, action: 'block', direction: 'out', family: 4 },
  { name: `${P} block all IPv4 in`, action: 'block', direction: 'in', family: 4 },
  { name: `${P} block all IPv6 out`, action: 'block', direction: 'out', family: 6 },
  { name: `${P} block all IPv6 in`, action: 'block', direction: 'in', family: 6 },
];

describe('isolationRules', () => {
  it('one service node: TCP to its address:port, loopback, DHCP, NDP, then block everything else', () => {
    expect(isolationRules([{ address: '192.0.2.10', port: 8443 }])).toEqual([
      {
        name: `${P} permit TCP to the live response service 192.0.2.10:8443`,
        action: 'permit',
        direction: 'out',
        family: 4,
        protocol: 'tcp',
        remoteAddress: '192.0.2.10',
        remotePort: 8443,
      },
      ...FIXED,
    ]);
  });

  it('three service nodes (IPv4 and IPv6, different ports): one TCP permit per node, nothing else differs', () => {
    const rules = isolationRules([
      { address: '192.0.2.10', port: 8443 },
      { address: '2001:db8::11', port: 9443 },
      { address: '198.51.100.12', port: 443 },
    ]);
    expect(rules).toEqual([
      {
        name: `${P} permit TCP to the live response service 192.0.2.10:8443`,
        action: 'permit',
        direction: 'out',
        family: 4,
        protocol: 'tcp',
        remoteAddress: '192.0.2.10',
        remotePort: 8443,
      },
      {
        name: `${P} permit TCP to the live response service [2001:db8::11]:9443`,
        action: 'permit',
        direction: 'out',
        family: 6,
        protocol: 'tcp',
        remoteAddress: '2001:db8::11',
        remotePort: 9443,
      },
      {
        name: `${P} permit TCP to the live response service 198.51.100.12:443`,
        action: 'permit',
        direction: 'out',
        family: 4,
        protocol: 'tcp',
        remoteAddress: '198.51.100.12',
        remotePort: 443,
      },
      ...FIXED,
    ]);
    // nothing inbound is permitted but loopback, DHCP and NDP replies: the agent only connects out
    expect(rules.filter((r) => r.direction === 'in' && r.action === 'permit' && r.protocol === 'tcp')).toEqual([]);
    // no rule permits DNS (53) or any other UDP than DHCP
    expect(rules.filter((r) => r.protocol === 'udp').map((r) => [r.localPort, r.remotePort])).toEqual([
      [68, 67],
      [68, 67],
      [546, 547],
      [546, 547],
    ]);
    // the blocks come last and cover both families in both directions, with no condition
    expect(rules.slice(-4).every((r) => r.action === 'block' && Object.keys(r).length === 4)).toBe(true);
  });

  it('a node listed twice (same address and port) is allowed once; the same address on two ports twice', () => {
    const rules = isolationRules([
      { address: '192.0.2.10', port: 8443 },
      { address: '192.0.2.10', port: 8443 },
      { address: '192.0.2.10', port: 4222 },
    ]);
    expect(rules.filter((r) => r.protocol === 'tcp').map((r) => r.remotePort)).toEqual([8443, 4222]);
  });

  it('refuses no peer, a host name, a zone id or a bad port (never isolates without the service)', () => {
    expect(() => isolationRules([])).toThrow(/no service address to allow/);
    expect(() => isolationRules([{ address: 'lr.example', port: 8443 }])).toThrow(/not an IP address: "lr.example"/);
    expect(() => isolationRules([{ address: '192.0.2.10', port: 0 }])).toThrow(/not a TCP port: 0/);
    expect(() => isolationRules([{ address: '192.0.2.10', port: 65536 }])).toThrow(/not a TCP port/);
    expect(() => isolationRules([{ address: '192.0.2.10', port: 1.5 }])).toThrow(/not a TCP port/);
  });
});

describe('addresses as WFP compares them', () => {
  it('IPv4 as a host-order 32-bit number', () => {
    expect(ipv4ToUint32('10.0.0.1')).toBe(0x0a000001);
    expect(ipv4ToUint32('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToUint32('192.0.2.10')).toBe(0xc000020a);
    expect(() => ipv4ToUint32('10.0.0')).toThrow(/not an IPv4/);
  });

  it('IPv6 as 16 bytes, :: and embedded IPv4 expanded', () => {
    expect(ipv6Bytes('2001:db8::11').toString('hex')).toBe('20010db8000000000000000000000011');
    expect(ipv6Bytes('ff02::1:2').toString('hex')).toBe('ff020000000000000000000000010002');
    expect(ipv6Bytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipv6Bytes('::ffff:192.0.2.10').toString('hex')).toBe('00000000000000000000ffffc000020a');
    expect(ipv6Bytes('fe80:1:2:3:4:5:6:7').toString('hex')).toBe('fe800001000200030004000500060007');
    expect(() => ipv6Bytes('fe80::1%eth0')).toThrow(/not an IPv6/);
  });
});

describe('rules as WFP filters', () => {
  it('a service permit: connect layer of its family, remote address, port and TCP, hard permit, persistent', () => {
    const [r4, r6] = isolationRules([
      { address: '192.0.2.10', port: 8443 },
      { address: '2001:db8::11', port: 9443 },
    ]);
    const f4 = wfpFilter(r4!, 0);
    expect(f4).toMatchObject({
      key: filterKey(0),
      layer: LAYERS.connect4,
      weight: 15,
      action: 0x1002,
      flags: 0x1 | 0x8,
    });
    expect(f4.conditions).toEqual([
      { field: CONDITIONS.protocol, match: 0, type: 1, value: 6 },
      { field: CONDITIONS.remoteAddress, match: 0, type: 3, value: 0xc000020a },
      { field: CONDITIONS.remotePort, match: 0, type: 2, value: 8443 },
    ]);
    const f6 = wfpFilter(r6!, 1);
    expect(f6.layer).toBe(LAYERS.connect6);
    expect(f6.conditions[1]).toEqual({
      field: CONDITIONS.remoteAddress,
      match: 0,
      type: 11,
      value: ipv6Bytes('2001:db8::11'),
    });
  });

  it('every rule becomes a filter on the right layer; blocks are weight 0 with no condition; keys are 0..n-1', () => {
    const rules = isolationRules([{ address: '192.0.2.10', port: 8443 }]);
    const filters = rules.map((r, i) => wfpFilter(r, i));
    expect(filters.map((f) => f.key)).toEqual(rules.map((_, i) => filterKey(i)));
    expect(new Set(filters.map((f) => f.key)).size).toBe(rules.length);
    for (const [i, f] of filters.entries()) {
      const r = rules[i]!;
      const layer = { out4: LAYERS.connect4, out6: LAYERS.connect6, in4: LAYERS.accept4, in6: LAYERS.accept6 }[
        `${r.direction}${r.family}` as const
      ];
      expect(f.layer).toBe(layer);
      expect(f.name).toBe(r.name);
      expect(f.flags & 0x1).toBe(0x1); // persistent: survives an agent crash and a reboot
    }
    const blocks = filters.filter((f) => f.action === 0x1001);
    expect(blocks).toHaveLength(4);
    expect(blocks.every((b) => b.weight === 0 && b.conditions.length === 0)).toBe(true);
    const loopback = wfpFilter(
      rules.find((r) => r.loopback)!,
      0,
    );
    expect(loopback.conditions).toEqual([{ field: CONDITIONS.flags, match: 6, type: 3, value: 1 }]);
    const ndp = wfpFilter(
      rules.find((r) => r.icmpType === 135)!,
      0,
    );
    expect(ndp.conditions).toEqual([
      { field: CONDITIONS.protocol, match: 0, type: 1, value: 58 },
      { field: CONDITIONS.localPort, match: 0, type: 2, value: 135 },
    ]);
    expect(filterKey(0)).not.toBe(SUBLAYER_KEY);
    expect(filterKey(255)).toBe('5f0c2d7f-9a41-4b3e-8d62-0000000000ff');
  });

  it('GUID strings as the GUID struct fields', () => {
    expect(guidFields(LAYERS.connect4)).toEqual({
      Data1: 0xc38d57d1,
      Data2: 0x05a7,
      Data3: 0x4c33,
      Data4: [0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82],
    });
    expect(() => guidFields('nope')).toThrow(/not a GUID/);
  });
});

describe('WFP structures (x64 layout, encoded with koffi)', () => {
  const k = createRequire(import.meta.url)('koffi') as typeof KoffiModule;
  const t = wfpTypes(k);

  it('have the sizes and offsets of fwpmtypes.h on x64', () => {
    expect(k.sizeof(t.GUID)).toBe(16);
    expect(k.sizeof(t.VALUE)).toBe(16);
    expect(k.sizeof(t.CONDITION)).toBe(40);
    expect(k.sizeof(t.ACTION)).toBe(20);
    expect(k.sizeof(t.SUBLAYER)).toBe(72);
    expect(k.sizeof(t.FILTER)).toBe(200);
    const off = (name: string) => k.offsetof(t.FILTER, name);
    expect([
      off('displayData'),
      off('flags'),
      off('providerKey'),
      off('providerData'),
      off('layerKey'),
      off('subLayerKey'),
      off('weight'),
    ]).toEqual([16, 32, 40, 48, 64, 80, 96]);
    expect([
      off('numFilterConditions'),
      off('filterCondition'),
      off('action'),
      off('context'),
      off('reserved'),
      off('filterId'),
      off('effectiveWeight'),
    ]).toEqual([112, 120, 128, 152, 168, 176, 184]);
    expect(k.offsetof(t.CONDITION, 'conditionValue')).toBe(24);
    expect(k.offsetof(t.SUBLAYER, 'weight')).toBe(64);
  });

  it('a filter is encoded with its conditions and 16-byte address in native memory', () => {
    const rule = isolationRules([{ address: '2001:db8::11', port: 9443 }])[0]!;
    const arena = new WfpArena(k, t);
    try {
      const mem = k.alloc(t.FILTER, 1);
      k.encode(mem, t.FILTER, arena.filter(wfpFilter(rule, 7)));
      const bytes = Buffer.from(k.view(mem, 200));
      expect(bytes.readUInt32LE(0)).toBe(0x5f0c2d7f); // filterKey.Data1
      expect(bytes.subarray(12, 16).toString('hex')).toBe('00000007'); // key index in the last bytes
      expect(bytes.readUInt32LE(32)).toBe(0x9); // persistent | clear action right
      expect(bytes.readUInt32LE(64)).toBe(0x4a72393b); // connect v6 layer
      expect(bytes.readUInt32LE(80)).toBe(0x5f0c2d7e); // our sublayer
      expect([bytes.readUInt32LE(96), bytes[104]]).toEqual([1, 15]); // weight FWP_UINT8 15
      expect(bytes.readUInt32LE(112)).toBe(3); // three conditions
      expect(bytes.readUInt32LE(128)).toBe(0x1002); // permit
      const name = k.decode(mem, 16, 'void *');
      expect(k.decode(name, 'char16_t', -1)).toBe(rule.name);
      const conds = k.decode(k.decode(mem, 120, 'void *'), k.array(t.CONDITION, 3)) as Array<{
        matchType: number;
        conditionValue: { type: number };
      }>;
      expect(conds.map((c) => c.conditionValue.type)).toEqual([1, 11, 2]);
      const condBytes = Buffer.from(k.view(k.decode(mem, 120, 'void *'), 120));
      // condition 1 (offset 40): its value's pointer (conditionValue at 24, union at +8) to the 16 bytes
      const addrPtr = k.decode(k.decode(mem, 120, 'void *'), 40 + 24 + 8, 'void *');
      expect(Buffer.from(k.view(addrPtr, 16)).toString('hex')).toBe('20010db8000000000000000000000011');
      expect(condBytes.readUInt16LE(80 + 24 + 8)).toBe(9443); // condition 2: remote port
      expect(condBytes.readUInt8(24 + 8)).toBe(6); // condition 0: TCP
      k.free(mem);
    } finally {
      arena.free();
    }
  });
});
