/**
 * Changing one service through the service control manager (advapi32), for `remediate service` / `undo`:
 * its start type and delayed-auto flag read and set, stopped (SERVICE_CONTROL_STOP, then waited for with a
 * bound), started again. Every handle is closed in a finally block. The read-only listing is ./scm.ts.
 */
import { lastError, win32, Win32Error } from './ffi.js';

const SC_MANAGER_CONNECT = 0x0001;
const SERVICE_QUERY_CONFIG = 0x0001;
const SERVICE_CHANGE_CONFIG = 0x0002;
const SERVICE_QUERY_STATUS = 0x0004;
const SERVICE_START = 0x0010;
const SERVICE_STOP = 0x0020;
const SERVICE_NO_CHANGE = 0xffffffff;
const SERVICE_CONTROL_STOP = 1;
const SERVICE_CONFIG_DELAYED_AUTO_START_INFO = 3;
const ERROR_INSUFFICIENT_BUFFER = 122;
const ERROR_SERVICE_NOT_ACTIVE = 1062;
export const ERROR_SERVICE_DOES_NOT_EXIST = 1060;

export const SERVICE_AUTO_START = 2;
export const SERVICE_DEMAND_START = 3;
export const SERVICE_DISABLED = 4;
export const SERVICE_STOPPED = 1;
export const SERVICE_RUNNING = 4;

const START_TYPE_NAMES = ['boot', 'system', 'auto', 'demand', 'disabled'];
export function startTypeName(t: number, delayed = false): string {
  return `${START_TYPE_NAMES[t] ?? `start type ${t}`}${delayed && t === SERVICE_AUTO_START ? ' (delayed)' : ''}`;
}

/** What undo needs to put a service back as it was. */
export interface ServiceState {
  /** The service's key name, as the SCM spells it. */
  name: string;
  startType: number;
  delayedAutoStart: boolean;
  /** dwCurrentState (SERVICE_STOPPED, SERVICE_RUNNING...). */
  state: number;
}

interface Api {
  OpenSCManagerW(machine: null, database: null, access: number): unknown;
  OpenServiceW(scm: unknown, name: string, access: number): unknown;
  CloseServiceHandle(h: unknown): boolean;
  GetServiceKeyNameW(scm: unknown, display: string, buf: Buffer, cch: number[]): boolean;
  QueryServiceConfigW(s: unknown, buf: Buffer | null, size: number, needed: number[]): boolean;
  QueryServiceConfig2W(s: unknown, level: number, buf: Buffer, size: number, needed: number[]): boolean;
  QueryServiceStatus(s: unknown, status: Buffer): boolean;
  ControlService(s: unknown, control: number, status: Buffer): boolean;
  ChangeServiceConfigW(
    s: unknown,
    type: number,
    start: number,
    error: number,
    bin: null,
    group: null,
    tag: null,
    deps: null,
    account: null,
    password: null,
    display: null,
  ): boolean;
  ChangeServiceConfig2W(s: unknown, level: number, info: Buffer): boolean;
  StartServiceW(s: unknown, argc: number, argv: null): boolean;
}

let api: Api | null = null;

function scm(): Api {
  if (api) return api;
  const a = win32('advapi32.dll');
  api = {
    OpenSCManagerW: a.func('void * __stdcall OpenSCManagerW(str16 machine, str16 database, uint32 access)'),
    OpenServiceW: a.func('void * __stdcall OpenServiceW(void *scm, str16 name, uint32 access)'),
    CloseServiceHandle: a.func('bool __stdcall CloseServiceHandle(void *handle)'),
    GetServiceKeyNameW: a.func(
      'bool __stdcall GetServiceKeyNameW(void *scm, str16 display, _Out_ uint8_t *name, _Inout_ uint32 *cch)',
    ),
    QueryServiceConfigW: a.func(
      'bool __stdcall QueryServiceConfigW(void *service, _Out_ uint8_t *buf, uint32 size, _Out_ uint32 *needed)',
    ),
    QueryServiceConfig2W: a.func(
      'bool __stdcall QueryServiceConfig2W(void *service, uint32 level, _Out_ uint8_t *buf, uint32 size, _Out_ uint32 *needed)',
    ),
    // SERVICE_STATUS is seven DWORDs: read from a 28-byte buffer (dwCurrentState at offset 4).
    QueryServiceStatus: a.func('bool __stdcall QueryServiceStatus(void *service, _Out_ uint8_t *status)'),
    ControlService: a.func('bool __stdcall ControlService(void *service, uint32 control, _Out_ uint8_t *status)'),
    ChangeServiceConfigW: a.func(
      'bool __stdcall ChangeServiceConfigW(void *service, uint32 type, uint32 start, uint32 error, str16 bin, str16 group, void *tag, str16 deps, str16 account, str16 password, str16 display)',
    ),
    ChangeServiceConfig2W: a.func(
      'bool __stdcall ChangeServiceConfig2W(void *service, uint32 level, const uint8_t *info)',
    ),
    StartServiceW: a.func('bool __stdcall StartServiceW(void *service, uint32 argc, void *argv)'),
  } as unknown as Api;
  return api;
}

/** Runs `fn` on the service opened for query, change, stop and start; closes both handles. */
function withService<T>(name: string, fn: (a: Api, s: unknown, keyName: string) => T): T {
  const a = scm();
  const manager = a.OpenSCManagerW(null, null, SC_MANAGER_CONNECT);
  if (!manager) throw new Win32Error('OpenSCManagerW', lastError());
  try {
    const s = a.OpenServiceW(
      manager,
      name,
      SERVICE_QUERY_CONFIG | SERVICE_CHANGE_CONFIG | SERVICE_QUERY_STATUS | SERVICE_START | SERVICE_STOP,
    );
    if (!s) throw new Win32Error('OpenServiceW', lastError());
    try {
      return fn(a, s, name);
    } finally {
      a.CloseServiceHandle(s);
    }
  } finally {
    a.CloseServiceHandle(manager);
  }
}

function currentState(a: Api, s: unknown): number {
  const status = Buffer.alloc(28);
  if (!a.QueryServiceStatus(s, status)) throw new Win32Error('QueryServiceStatus', lastError());
  return status.readUInt32LE(4);
}

function readStartType(a: Api, s: unknown): number {
  const needed = [0];
  if (a.QueryServiceConfigW(s, null, 0, needed) || lastError() !== ERROR_INSUFFICIENT_BUFFER)
    throw new Win32Error('QueryServiceConfigW', lastError());
  const buf = Buffer.alloc(needed[0]!);
  if (!a.QueryServiceConfigW(s, buf, buf.length, needed)) throw new Win32Error('QueryServiceConfigW', lastError());
  return buf.readUInt32LE(4); // QUERY_SERVICE_CONFIGW: dwServiceType, dwStartType, ...
}

/** SERVICE_CONFIG_DELAYED_AUTO_START_INFO; null where the level is not implemented (Wine). */
function readDelayed(a: Api, s: unknown): boolean | null {
  const buf = Buffer.alloc(4);
  return a.QueryServiceConfig2W(s, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, buf, 4, [0])
    ? buf.readInt32LE(0) !== 0
    : null;
}

/** The service's state now; throws Win32Error 1060 (ERROR_SERVICE_DOES_NOT_EXIST) for an unknown name. */
export function readServiceState(name: string): ServiceState & { delayedKnown: boolean } {
  return withService(name, (a, s) => {
    const delayed = readDelayed(a, s);
    return {
      name,
      startType: readStartType(a, s),
      delayedAutoStart: delayed ?? false,
      delayedKnown: delayed !== null,
      state: currentState(a, s),
    };
  });
}

/** The service's key name (its real spelling), from the name or display name the analyst typed. */
export function serviceKeyName(name: string): string {
  const a = scm();
  const manager = a.OpenSCManagerW(null, null, SC_MANAGER_CONNECT);
  if (!manager) throw new Win32Error('OpenSCManagerW', lastError());
  try {
    const s = a.OpenServiceW(manager, name, SERVICE_QUERY_STATUS);
    if (s) {
      a.CloseServiceHandle(s);
      return name;
    }
    const code = lastError();
    const buf = Buffer.alloc(514);
    const cch = [256];
    if (a.GetServiceKeyNameW(manager, name, buf, cch))
      return buf.toString('utf16le', 0, cch[0]! * 2).replace(/\0.*$/s, '');
    throw new Win32Error('OpenServiceW', code);
  } finally {
    a.CloseServiceHandle(manager);
  }
}

/** Sets the start type (and, when given, the delayed-auto flag). */
export function setStartType(name: string, startType: number, delayed?: boolean): void {
  withService(name, (a, s) => {
    if (
      !a.ChangeServiceConfigW(
        s,
        SERVICE_NO_CHANGE,
        startType,
        SERVICE_NO_CHANGE,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      )
    )
      throw new Win32Error('ChangeServiceConfigW', lastError());
    if (delayed === undefined) return;
    const info = Buffer.alloc(4);
    info.writeInt32LE(delayed ? 1 : 0, 0);
    if (!a.ChangeServiceConfig2W(s, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, info))
      throw new Win32Error('ChangeServiceConfig2W', lastError());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends SERVICE_CONTROL_STOP and waits (polling, the event loop free) until the service reports STOPPED,
 * at most `timeoutMs`. Returns false when it is still not stopped then.
 */
export async function stopService(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const state = withService(name, (a, s) => {
    const status = Buffer.alloc(28);
    if (!a.ControlService(s, SERVICE_CONTROL_STOP, status)) {
      const code = lastError();
      if (code !== ERROR_SERVICE_NOT_ACTIVE) throw new Win32Error('ControlService', code);
      return SERVICE_STOPPED;
    }
    return status.readUInt32LE(4);
  });
  if (state === SERVICE_STOPPED) return true;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    await sleep(200);
    signal?.throwIfAborted();
    if (withService(name, (a, s) => currentState(a, s)) === SERVICE_STOPPED) return true;
  }
  return false;
}

/** StartServiceW, then waits for RUNNING at most `timeoutMs`; returns the state reached. */
export async function startService(name: string, timeoutMs: number): Promise<number> {
  withService(name, (a, s) => {
    if (!a.StartServiceW(s, 0, null)) throw new Win32Error('StartServiceW', lastError());
  });
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = withService(name, (a, s) => currentState(a, s));
    if (state === SERVICE_RUNNING || Date.now() >= until) return state;
    await sleep(200);
  }
}
