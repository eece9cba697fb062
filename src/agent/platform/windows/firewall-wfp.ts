/**
 * The isolation rules as Windows Filtering Platform (WFP) filters, through fwpuclnt.dll (koffi).
 *
 * Why WFP rather than the Windows Firewall COM API (INetFwPolicy2): a firewall rule cannot outrank the
 * firewall's other allow rules (block-by-default needs the global profile settings changed, saved and restored,
 * and group policy may ignore local rules), whereas our own sublayer at the top weight, with hard permits and
 * hard blocks (action right cleared), decides before any other sublayer and cannot be overridden by the
 * firewall's or a third party's permits. The filters are PERSISTENT (not a dynamic session): they stay in force
 * if the agent crashes or is killed, and the Base Filtering Engine applies them again at boot before the agent
 * starts (the agent applies them again anyway, from isolation.json). A dynamic session would release the
 * device the moment its process dies, which an attacker can arrange.
 *
 * Our objects have fixed keys: one sublayer, and filters keyed base+index (0..n-1, always contiguous: every
 * change deletes them all and adds the new set in one transaction, all or nothing), so `remove` and `current`
 * need no enumeration and never touch anything else.
 */
import type * as KoffiModule from 'koffi';
import type { FirewallBackend } from './firewall-backend.js';
import { FirewallUnavailableError } from './firewall-backend.js';
import { IP_PROTOCOL, ipv4ToUint32, ipv6Bytes, type FirewallRule } from './firewall-rules.js';
import { ffi, win32 } from './ffi.js';
import { listScmEntries } from './scm.js';

// ---------- constants (fwptypes.h, fwpmtypes.h, fwpmu.h) ----------

const FWP_UINT8 = 1;
const FWP_UINT16 = 2;
const FWP_UINT32 = 3;
const FWP_BYTE_ARRAY16_TYPE = 11;
const FWP_MATCH_EQUAL = 0;
const FWP_MATCH_FLAGS_ALL_SET = 6;
const FWP_ACTION_BLOCK = 0x1001;
const FWP_ACTION_PERMIT = 0x1002;
const FWP_CONDITION_FLAG_IS_LOOPBACK = 0x1;
const FWPM_FILTER_FLAG_PERSISTENT = 0x1;
const FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT = 0x8;
const FWPM_SUBLAYER_FLAG_PERSISTENT = 0x1;
const RPC_C_AUTHN_WINNT = 10;
const FWP_E_FILTER_NOT_FOUND = 0x80320003;
const FWP_E_SUBLAYER_NOT_FOUND = 0x80320007;
const FWP_E_ALREADY_EXISTS = 0x80320009;
const SERVICE_WIN32 = 0x30;
const SERVICE_RUNNING = 4;
/** More of our filters than this means our keys are not ours: stop rather than loop. */
const MAX_FILTERS = 4096;

export const LAYERS = {
  connect4: 'c38d57d1-05a7-4c33-904f-7fbceee60e82',
  connect6: '4a72393b-319f-44bc-84c3-ba54dcb3b6b4',
  accept4: 'e1cd9fe7-f4b5-4273-96c0-592e487b8650',
  accept6: 'a3b42c97-9f04-4672-b87e-cee9c483257f',
} as const;

export const CONDITIONS = {
  remoteAddress: 'b235ae9a-1d64-49b8-a44c-5ff3d9095045',
  remotePort: 'c35a604d-d22b-4e1a-91b4-68f674ee674b',
  /** Also FWPM_CONDITION_ICMP_TYPE at the ALE layers. */
  localPort: '0c1ba1af-5765-453f-af22-a8f791ac775b',
  protocol: '3971ef2b-623e-4f9a-8cb1-6e79b806b9a7',
  flags: '632ce23b-5167-435c-86d7-e903684aa80c',
} as const;

/** Our sublayer; filter i has the key FILTER_KEY_BASE with its last 4 bytes = i. */
export const SUBLAYER_KEY = '5f0c2d7e-9a41-4b3e-8d62-1c7a4e9b3f01';
const FILTER_KEY_BASE = '5f0c2d7f-9a41-4b3e-8d62-000000000000';

// ---------- pure: a rule as a WFP filter ----------

export interface WfpCondition {
  field: string;
  match: number;
  type: number;
  /** A number for the integer types; 16 bytes for FWP_BYTE_ARRAY16_TYPE. */
  value: number | Buffer;
}

export interface WfpFilterSpec {
  key: string;
  name: string;
  layer: string;
  /** FWP_UINT8 weight inside our sublayer: permits (15) outrank the blocks (0). */
  weight: number;
  action: number;
  flags: number;
  conditions: WfpCondition[];
}

/** Filter key i (0-based): the base GUID with i in its last 4 bytes. */
export function filterKey(i: number): string {
  return FILTER_KEY_BASE.slice(0, -8) + i.toString(16).padStart(8, '0');
}

/** The filter for rule number `i`. */
export function wfpFilter(rule: FirewallRule, i: number): WfpFilterSpec {
  const layer =
    rule.direction === 'out'
      ? rule.family === 4
        ? LAYERS.connect4
        : LAYERS.connect6
      : rule.family === 4
        ? LAYERS.accept4
        : LAYERS.accept6;
  const c: WfpCondition[] = [];
  if (rule.loopback)
    c.push({
      field: CONDITIONS.flags,
      match: FWP_MATCH_FLAGS_ALL_SET,
      type: FWP_UINT32,
      value: FWP_CONDITION_FLAG_IS_LOOPBACK,
    });
  if (rule.protocol)
    c.push({ field: CONDITIONS.protocol, match: FWP_MATCH_EQUAL, type: FWP_UINT8, value: IP_PROTOCOL[rule.protocol] });
  if (rule.remoteAddress !== undefined) {
    c.push(
      rule.family === 4
        ? {
            field: CONDITIONS.remoteAddress,
            match: FWP_MATCH_EQUAL,
            type: FWP_UINT32,
            value: ipv4ToUint32(rule.remoteAddress),
          }
        : {
            field: CONDITIONS.remoteAddress,
            match: FWP_MATCH_EQUAL,
            type: FWP_BYTE_ARRAY16_TYPE,
            value: ipv6Bytes(rule.remoteAddress),
          },
    );
  }
  if (rule.remotePort !== undefined)
    c.push({ field: CONDITIONS.remotePort, match: FWP_MATCH_EQUAL, type: FWP_UINT16, value: rule.remotePort });
  if (rule.localPort !== undefined)
    c.push({ field: CONDITIONS.localPort, match: FWP_MATCH_EQUAL, type: FWP_UINT16, value: rule.localPort });
  if (rule.icmpType !== undefined)
    c.push({ field: CONDITIONS.localPort, match: FWP_MATCH_EQUAL, type: FWP_UINT16, value: rule.icmpType });
  return {
    key: filterKey(i),
    name: rule.name,
    layer,
    weight: rule.action === 'permit' ? 15 : 0,
    action: rule.action === 'permit' ? FWP_ACTION_PERMIT : FWP_ACTION_BLOCK,
    flags: FWPM_FILTER_FLAG_PERSISTENT | FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
    conditions: c,
  };
}

/** A GUID string as the GUID struct's fields. */
export function guidFields(text: string): { Data1: number; Data2: number; Data3: number; Data4: number[] } {
  const h = text.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(h)) throw new Error(`not a GUID: ${text}`);
  return {
    Data1: parseInt(h.slice(0, 8), 16),
    Data2: parseInt(h.slice(8, 12), 16),
    Data3: parseInt(h.slice(12, 16), 16),
    Data4: [...Buffer.from(h.slice(16), 'hex')],
  };
}

// ---------- the WFP structures (x64 layout: checked by a unit test) ----------

/** The structures, declared on a koffi instance (the Linux unit test checks their layout with its own). */
export function wfpTypes(k: typeof KoffiModule) {
  const GUID = k.struct('LR_FWP_GUID', {
    Data1: 'uint32',
    Data2: 'uint16',
    Data3: 'uint16',
    Data4: k.array('uint8', 8),
  });
  const DISPLAY = k.struct('LR_FWPM_DISPLAY_DATA0', { name: 'void *', description: 'void *' });
  const BLOB = k.struct('LR_FWP_BYTE_BLOB', { size: 'uint32', data: 'void *' });
  const VALUE = k.struct('LR_FWP_VALUE0', {
    type: 'uint32',
    v: k.union('LR_FWP_VALUE0_U', { uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', ptr: 'void *' }),
  });
  const CONDITION = k.struct('LR_FWPM_FILTER_CONDITION0', {
    fieldKey: GUID,
    matchType: 'uint32',
    conditionValue: VALUE,
  });
  const ACTION = k.struct('LR_FWPM_ACTION0', {
    type: 'uint32',
    u: k.union('LR_FWPM_ACTION0_U', { filterType: GUID, calloutKey: GUID }),
  });
  const FILTER = k.struct('LR_FWPM_FILTER0', {
    filterKey: GUID,
    displayData: DISPLAY,
    flags: 'uint32',
    providerKey: 'void *',
    providerData: BLOB,
    layerKey: GUID,
    subLayerKey: GUID,
    weight: VALUE,
    numFilterConditions: 'uint32',
    filterCondition: 'void *',
    action: ACTION,
    context: k.union('LR_FWPM_FILTER0_U', { rawContext: 'uint64', providerContextKey: GUID }),
    reserved: 'void *',
    filterId: 'uint64',
    effectiveWeight: VALUE,
  });
  const SUBLAYER = k.struct('LR_FWPM_SUBLAYER0', {
    subLayerKey: GUID,
    displayData: DISPLAY,
    flags: 'uint32',
    providerKey: 'void *',
    providerData: BLOB,
    weight: 'uint16',
  });
  return { GUID, DISPLAY, VALUE, CONDITION, ACTION, FILTER, SUBLAYER };
}

/**
 * Native memory for one call: UTF-16 strings, 16-byte addresses and condition arrays, all freed by `free()`.
 * The structures point into it with plain pointers, so nothing depends on koffi's temporary conversions.
 */
export class WfpArena {
  private readonly blocks: unknown[] = [];
  constructor(
    private readonly k: typeof KoffiModule,
    private readonly types: ReturnType<typeof wfpTypes>,
  ) {}

  private alloc(type: Parameters<typeof KoffiModule.alloc>[0], n: number): unknown {
    const p = this.k.alloc(type, n);
    this.blocks.push(p);
    return p;
  }

  string(s: string): unknown {
    const units = [...Array.from(s, (ch) => ch.charCodeAt(0)), 0];
    const p = this.alloc('uint16', units.length);
    this.k.encode(p, this.k.array('uint16', units.length), units);
    return p;
  }

  bytes(b: Buffer): unknown {
    const p = this.alloc('uint8', b.length);
    this.k.encode(p, this.k.array('uint8', b.length), [...b]);
    return p;
  }

  /** The FWPM_FILTER0 object for a filter spec (pointers into this arena). */
  filter(f: WfpFilterSpec): Record<string, unknown> {
    const conds = f.conditions.map((c) => ({
      fieldKey: guidFields(c.field),
      matchType: c.match,
      conditionValue: { type: c.type, v: this.unionValue(c) },
    }));
    let condPtr: unknown = null;
    if (conds.length > 0) {
      condPtr = this.alloc(this.types.CONDITION, conds.length);
      this.k.encode(condPtr, this.k.array(this.types.CONDITION, conds.length), conds);
    }
    return {
      filterKey: guidFields(f.key),
      displayData: { name: this.string(f.name), description: null },
      flags: f.flags,
      providerKey: null,
      providerData: { size: 0, data: null },
      layerKey: guidFields(f.layer),
      subLayerKey: guidFields(SUBLAYER_KEY),
      weight: { type: FWP_UINT8, v: { uint8: f.weight } },
      numFilterConditions: conds.length,
      filterCondition: condPtr,
      action: { type: f.action, u: { filterType: guidFields('00000000-0000-0000-0000-000000000000') } },
      context: { rawContext: 0 },
      reserved: null,
      filterId: 0,
      effectiveWeight: { type: 0, v: { uint8: 0 } },
    };
  }

  private unionValue(c: WfpCondition): Record<string, unknown> {
    if (Buffer.isBuffer(c.value)) return { ptr: this.bytes(c.value) };
    if (c.type === FWP_UINT8) return { uint8: c.value };
    if (c.type === FWP_UINT16) return { uint16: c.value };
    return { uint32: c.value };
  }

  free(): void {
    for (const p of this.blocks.splice(0)) this.k.free(p);
  }
}

// ---------- the backend ----------

type Handle = unknown;
interface WfpApi {
  k: typeof KoffiModule;
  types: ReturnType<typeof wfpTypes>;
  open(server: null, authn: number, identity: null, session: null, out: Handle[]): number;
  close(h: Handle): number;
  begin(h: Handle, flags: number): number;
  commit(h: Handle): number;
  abort(h: Handle): number;
  addSublayer(h: Handle, s: object, sd: null): number;
  deleteSublayer(h: Handle, key: object): number;
  addFilter(h: Handle, f: object, sd: null, id: bigint[]): number;
  deleteFilter(h: Handle, key: object): number;
  getFilter(h: Handle, key: object, out: Handle[]): number;
  freeMemory(p: Handle[]): void;
}

let api: WfpApi | null = null;
function wfp(): WfpApi {
  if (api) return api;
  const k = ffi();
  const types = wfpTypes(k);
  const lib = win32('fwpuclnt.dll');
  const f = (sig: string) => lib.func(sig) as (...args: never[]) => number;
  api = {
    k,
    types,
    open: f(
      'uint32 __stdcall FwpmEngineOpen0(void *server, uint32 authn, void *identity, void *session, _Out_ void **engine)',
    ) as WfpApi['open'],
    close: f('uint32 __stdcall FwpmEngineClose0(void *engine)') as WfpApi['close'],
    begin: f('uint32 __stdcall FwpmTransactionBegin0(void *engine, uint32 flags)') as WfpApi['begin'],
    commit: f('uint32 __stdcall FwpmTransactionCommit0(void *engine)') as WfpApi['commit'],
    abort: f('uint32 __stdcall FwpmTransactionAbort0(void *engine)') as WfpApi['abort'],
    addSublayer: f(
      'uint32 __stdcall FwpmSubLayerAdd0(void *engine, const LR_FWPM_SUBLAYER0 *sublayer, void *sd)',
    ) as WfpApi['addSublayer'],
    deleteSublayer: f(
      'uint32 __stdcall FwpmSubLayerDeleteByKey0(void *engine, const LR_FWP_GUID *key)',
    ) as WfpApi['deleteSublayer'],
    addFilter: f(
      'uint32 __stdcall FwpmFilterAdd0(void *engine, const LR_FWPM_FILTER0 *filter, void *sd, _Out_ uint64 *id)',
    ) as WfpApi['addFilter'],
    deleteFilter: f(
      'uint32 __stdcall FwpmFilterDeleteByKey0(void *engine, const LR_FWP_GUID *key)',
    ) as WfpApi['deleteFilter'],
    getFilter: f(
      'uint32 __stdcall FwpmFilterGetByKey0(void *engine, const LR_FWP_GUID *key, _Out_ void **filter)',
    ) as WfpApi['getFilter'],
    freeMemory: f('void __stdcall FwpmFreeMemory0(_Inout_ void **p)') as WfpApi['freeMemory'],
  };
  return api;
}

/** A WFP status as one line. */
export class WfpError extends Error {
  constructor(call: string, code: number) {
    super(`${call} failed: ${wfpErrorText(code)}`);
    this.name = 'WfpError';
  }
}

const WFP_TEXT: Readonly<Record<number, string>> = {
  5: 'access denied (the agent must run as SYSTEM or an administrator)',
  0x6d9: 'the Base Filtering Engine is not running',
  0x6e4: 'not supported here (RPC_S_CANNOT_SUPPORT)',
  0x80320009: 'already exists',
  0x80320003: 'filter not found',
  0x80320007: 'sublayer not found',
  0x8032000d: 'no transaction in progress',
  0x8032000e: 'a transaction is already in progress',
};

export function wfpErrorText(code: number): string {
  return WFP_TEXT[code >>> 0] ?? `WFP error 0x${(code >>> 0).toString(16)}`;
}

function check(call: string, code: number, ok: readonly number[] = []): number {
  const c = code >>> 0;
  if (c !== 0 && !ok.includes(c)) throw new WfpError(call, c);
  return c;
}

/**
 * WFP lives in the Base Filtering Engine service (BFE): without it running there is no firewall to ask. Wine,
 * which has no firewall, has no BFE; its fwpuclnt.dll is a stub (FwpmEngineOpen0 fails with 0x6e4, most other
 * entry points are unimplemented and raise an exception if called). Checked before any WFP call, so the answer
 * says why in words.
 */
async function requireBaseFilteringEngine(): Promise<void> {
  const bfe = (await listScmEntries(SERVICE_WIN32)).find((entry) => entry.name.toLowerCase() === 'bfe');
  if (!bfe) throw new FirewallUnavailableError('the Base Filtering Engine service (BFE) is not installed');
  if (bfe.state !== SERVICE_RUNNING)
    throw new FirewallUnavailableError(`the Base Filtering Engine service (BFE) is not running (state ${bfe.state})`);
}

function withEngine<T>(fn: (a: WfpApi, h: Handle) => T): T {
  const a = wfp();
  const out: Handle[] = [null];
  check('FwpmEngineOpen0', a.open(null, RPC_C_AUTHN_WINNT, null, null, out));
  const h = out[0];
  try {
    return fn(a, h);
  } finally {
    a.close(h);
  }
}

function inTransaction(a: WfpApi, h: Handle, fn: () => void): void {
  check('FwpmTransactionBegin0', a.begin(h, 0));
  try {
    fn();
    check('FwpmTransactionCommit0', a.commit(h));
  } catch (e) {
    a.abort(h);
    throw e;
  }
}

/**
 * The names of our filters, keys 0..n-1 (read outside any transaction: the "not found" that ends the loop is an error
 * to WFP).
 */
function ourFilterNames(a: WfpApi, h: Handle): string[] {
  const names: string[] = [];
  for (let i = 0; i < MAX_FILTERS; i++) {
    const out: Handle[] = [null];
    if (check('FwpmFilterGetByKey0', a.getFilter(h, guidFields(filterKey(i)), out), [FWP_E_FILTER_NOT_FOUND]) !== 0)
      break;
    try {
      // displayData.name: a pointer at offset 16 of FWPM_FILTER0 (decoded as char16_t, not str16: see ffi notes)
      const namePtr = a.k.decode(out[0], a.k.offsetof(a.types.FILTER, 'displayData'), 'void *') as unknown;
      names.push(namePtr ? (a.k.decode(namePtr, 'char16_t', -1) as string) : '');
    } finally {
      a.freeMemory(out);
    }
  }
  return names;
}

/** Deletes our filters 0..count-1 (inside a transaction: every call there is one that succeeds). */
function deleteOurFilters(a: WfpApi, h: Handle, count: number): void {
  for (let i = 0; i < count; i++) check('FwpmFilterDeleteByKey0', a.deleteFilter(h, guidFields(filterKey(i))));
}

export function wfpFirewall(): FirewallBackend {
  return {
    name: 'Windows Filtering Platform',
    async apply(rules) {
      await requireBaseFilteringEngine();
      const specs = rules.map((r, i) => wfpFilter(r, i));
      withEngine((a, h) => {
        const arena = new WfpArena(a.k, a.types);
        try {
          const sublayer = {
            subLayerKey: guidFields(SUBLAYER_KEY),
            displayData: {
              name: arena.string('Live response isolation'),
              description: arena.string('lr-agent: isolate/release (removed by release or lr-agent uninstall)'),
            },
            flags: FWPM_SUBLAYER_FLAG_PERSISTENT,
            providerKey: null,
            providerData: { size: 0, data: null },
            weight: 0xffff,
          };
          // before the transaction, so that no call in it is expected to fail (an empty sublayer filters nothing)
          check('FwpmSubLayerAdd0', a.addSublayer(h, sublayer, null), [FWP_E_ALREADY_EXISTS]);
          const before = ourFilterNames(a, h).length;
          inTransaction(a, h, () => {
            deleteOurFilters(a, h, before);
            for (const s of specs) check(`FwpmFilterAdd0(${s.name})`, a.addFilter(h, arena.filter(s), null, [0n]));
          });
        } finally {
          arena.free();
        }
      });
    },
    async remove() {
      await requireBaseFilteringEngine();
      withEngine((a, h) => {
        const count = ourFilterNames(a, h).length;
        if (count > 0) inTransaction(a, h, () => deleteOurFilters(a, h, count));
        check('FwpmSubLayerDeleteByKey0', a.deleteSublayer(h, guidFields(SUBLAYER_KEY)), [FWP_E_SUBLAYER_NOT_FOUND]);
      });
    },
    async current() {
      await requireBaseFilteringEngine();
      return withEngine((a, h) => ourFilterNames(a, h));
    },
  };
}
