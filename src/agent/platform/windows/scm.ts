/**
 * The service control manager (advapi32), read-only: the services (or drivers) it knows, their status and
 * their configuration. Shared by `services` (Win32 services) and `drivers` (kernel and file-system drivers).
 *
 * Every SCM handle is closed in a finally block. The enumeration yields to the event loop every few entries
 * (each configuration read is a round trip to services.exe) and honours the AbortSignal there.
 */
import type * as KoffiModule from 'koffi';
import { ffi, lastError, win32, Win32Error } from './ffi.js';

const SC_MANAGER_CONNECT = 0x0001;
const SC_MANAGER_ENUMERATE_SERVICE = 0x0004;
const SERVICE_QUERY_CONFIG = 0x0001;
const SC_ENUM_PROCESS_INFO = 0;
const SERVICE_STATE_ALL = 3;
const SERVICE_CONFIG_DESCRIPTION = 1;
const SERVICE_CONFIG_DELAYED_AUTO_START_INFO = 3;
const ERROR_INSUFFICIENT_BUFFER = 122;
const ERROR_MORE_DATA = 234;
const HKEY_LOCAL_MACHINE = -2147483646; // (HKEY)(LONG)0x80000002, sign-extended as Windows does
const RRF_RT_REG_DWORD = 0x10;
/** EnumServicesStatusExW's documented maximum buffer. */
const MAX_ENUM_BUFFER = 256 * 1024;
const YIELD_EVERY = 32;

/** What the SCM says of one service or driver. */
export interface ScmEntry {
  name: string;
  displayName: string;
  /** dwServiceType (as reported by the status). */
  type: number;
  /** dwCurrentState. */
  state: number;
  /** Process id of a running Win32 service; 0 otherwise. */
  pid: number;
  /** Its configuration, or null when it could not be read (access denied, deleted meanwhile...). */
  config: ScmConfig | null;
}

export interface ScmConfig {
  startType: number;
  /** SERVICE_CONFIG_DELAYED_AUTO_START_INFO, or the service key's DelayedAutostart value where the level is missing. */
  delayedAutoStart: boolean;
  /** lpBinaryPathName (the ImagePath value) as configured; empty for a driver that relies on the default. */
  binaryPath: string;
  /** lpServiceStartName: LocalSystem, NT AUTHORITY\LocalService, .\user... (empty for drivers: their object name). */
  account: string;
  loadOrderGroup: string;
  /** SERVICE_CONFIG_DESCRIPTION; null when there is none. */
  description: string | null;
}

interface Api {
  koffi: typeof KoffiModule;
  OpenSCManagerW(machine: string | null, database: string | null, access: number): unknown;
  OpenServiceW(scm: unknown, name: string, access: number): unknown;
  CloseServiceHandle(handle: unknown): boolean;
  EnumServicesStatusExW(
    scm: unknown,
    level: number,
    type: number,
    state: number,
    buf: Buffer | null,
    size: number,
    needed: number[],
    returned: number[],
    resume: number[],
    group: string | null,
  ): boolean;
  QueryServiceConfigW(service: unknown, buf: Buffer | null, size: number, needed: number[]): boolean;
  QueryServiceConfig2W(service: unknown, level: number, buf: Buffer | null, size: number, needed: number[]): boolean;
  RegGetValueW(
    hkey: number,
    subKey: string,
    value: string,
    flags: number,
    type: null,
    data: Buffer,
    size: number[],
  ): number;
  entryType: KoffiModule.TypeObject;
  configType: KoffiModule.TypeObject;
  descriptionType: KoffiModule.TypeObject;
}

let api: Api | null = null;

function scmApi(): Api {
  if (api) return api;
  const koffi = ffi();
  const advapi32 = win32('advapi32.dll');
  const statusProcess = koffi.struct({
    dwServiceType: 'uint32',
    dwCurrentState: 'uint32',
    dwControlsAccepted: 'uint32',
    dwWin32ExitCode: 'uint32',
    dwServiceSpecificExitCode: 'uint32',
    dwCheckPoint: 'uint32',
    dwWaitHint: 'uint32',
    dwProcessId: 'uint32',
    dwServiceFlags: 'uint32',
  });
  api = {
    koffi,
    OpenSCManagerW: advapi32.func('void * __stdcall OpenSCManagerW(str16 machine, str16 database, uint32 access)'),
    OpenServiceW: advapi32.func('void * __stdcall OpenServiceW(void *scm, str16 name, uint32 access)'),
    CloseServiceHandle: advapi32.func('bool __stdcall CloseServiceHandle(void *handle)'),
    EnumServicesStatusExW: advapi32.func(
      'bool __stdcall EnumServicesStatusExW(void *scm, int level, uint32 type, uint32 state, _Out_ uint8_t *buf, uint32 size, _Out_ uint32 *needed, _Out_ uint32 *returned, _Inout_ uint32 *resume, str16 group)',
    ),
    QueryServiceConfigW: advapi32.func(
      'bool __stdcall QueryServiceConfigW(void *service, _Out_ uint8_t *buf, uint32 size, _Out_ uint32 *needed)',
    ),
    QueryServiceConfig2W: advapi32.func(
      'bool __stdcall QueryServiceConfig2W(void *service, uint32 level, _Out_ uint8_t *buf, uint32 size, _Out_ uint32 *needed)',
    ),
    RegGetValueW: advapi32.func(
      'long __stdcall RegGetValueW(intptr_t hkey, str16 subKey, str16 value, uint32 flags, _Out_ uint32 *type, _Out_ uint8_t *data, _Inout_ uint32 *size)',
    ),
    // ENUM_SERVICE_STATUS_PROCESSW: the strings point into the same buffer, koffi decodes them.
    entryType: koffi.struct({ lpServiceName: 'str16', lpDisplayName: 'str16', ServiceStatusProcess: statusProcess }),
    configType: koffi.struct({
      dwServiceType: 'uint32',
      dwStartType: 'uint32',
      dwErrorControl: 'uint32',
      lpBinaryPathName: 'str16',
      lpLoadOrderGroup: 'str16',
      dwTagId: 'uint32',
      lpDependencies: 'void *',
      lpServiceStartName: 'str16',
      lpDisplayName: 'str16',
    }),
    descriptionType: koffi.struct({ lpDescription: 'str16' }),
  } as Api;
  return api;
}

interface RawEntry {
  lpServiceName: string | null;
  lpDisplayName: string | null;
  ServiceStatusProcess: { dwServiceType: number; dwCurrentState: number; dwProcessId: number };
}

/** Every service of `types` (SERVICE_WIN32, SERVICE_DRIVER...) with its status, as EnumServicesStatusExW gives them. */
function enumerate(a: Api, scm: unknown, types: number): Omit<ScmEntry, 'config'>[] {
  const entries: Omit<ScmEntry, 'config'>[] = [];
  const needed = [0];
  const returned = [0];
  const resume = [0];
  let buf = Buffer.alloc(16 * 1024);
  for (;;) {
    const ok = a.EnumServicesStatusExW(
      scm,
      SC_ENUM_PROCESS_INFO,
      types,
      SERVICE_STATE_ALL,
      buf,
      buf.length,
      needed,
      returned,
      resume,
      null,
    );
    const code = ok ? 0 : lastError();
    if (!ok && code !== ERROR_MORE_DATA) throw new Win32Error('EnumServicesStatusExW', code);
    const size = a.koffi.sizeof(a.entryType);
    for (let i = 0; i < (returned[0] ?? 0); i++) {
      const entry = a.koffi.decode(buf, i * size, a.entryType) as RawEntry;
      entries.push({
        name: entry.lpServiceName ?? '',
        displayName: entry.lpDisplayName ?? '',
        type: entry.ServiceStatusProcess.dwServiceType,
        state: entry.ServiceStatusProcess.dwCurrentState,
        pid: entry.ServiceStatusProcess.dwProcessId,
      });
    }
    if (ok) return entries;
    // More data: the next call resumes where this one stopped; grow the buffer when one entry did not fit.
    if ((returned[0] ?? 0) === 0) {
      if ((needed[0] ?? 0) <= buf.length || buf.length >= MAX_ENUM_BUFFER)
        throw new Win32Error('EnumServicesStatusExW', code);
      buf = Buffer.alloc(Math.min(MAX_ENUM_BUFFER, needed[0] ?? 0));
    }
  }
}

/** Calls a Query...W function that fills a caller's buffer, growing the buffer once as asked; null on failure. */
function queryBuffer(call: (buf: Buffer | null, size: number, needed: number[]) => boolean): Buffer | null {
  const needed = [0];
  if (call(null, 0, needed)) return null; // nothing to return (never happens for these levels)
  if (lastError() !== ERROR_INSUFFICIENT_BUFFER || !needed[0]) return null;
  const buf = Buffer.alloc(needed[0]);
  return call(buf, buf.length, needed) ? buf : null;
}

/** The DelayedAutostart value of the service key (Wine has no SERVICE_CONFIG_DELAYED_AUTO_START_INFO). */
function delayedFromRegistry(a: Api, name: string): boolean {
  const data = Buffer.alloc(4);
  const size = [4];
  const status = a.RegGetValueW(
    HKEY_LOCAL_MACHINE,
    `SYSTEM\\CurrentControlSet\\Services\\${name}`,
    'DelayedAutostart',
    RRF_RT_REG_DWORD,
    null,
    data,
    size,
  );
  return status === 0 && data.readUInt32LE(0) !== 0;
}

function readConfig(a: Api, scm: unknown, name: string): ScmConfig | null {
  const service = a.OpenServiceW(scm, name, SERVICE_QUERY_CONFIG);
  if (!service) return null;
  try {
    const buf = queryBuffer((b, size, needed) => a.QueryServiceConfigW(service, b, size, needed));
    if (!buf) return null;
    const c = a.koffi.decode(buf, a.configType) as {
      dwStartType: number;
      lpBinaryPathName: string | null;
      lpLoadOrderGroup: string | null;
      lpServiceStartName: string | null;
    };
    const descBuf = queryBuffer((b, size, needed) =>
      a.QueryServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, b, size, needed),
    );
    const description = descBuf
      ? (a.koffi.decode(descBuf, a.descriptionType) as { lpDescription: string | null }).lpDescription
      : null;
    const delayedBuf = Buffer.alloc(4);
    const delayed = a.QueryServiceConfig2W(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, delayedBuf, 4, [0])
      ? delayedBuf.readInt32LE(0) !== 0
      : delayedFromRegistry(a, name);
    return {
      startType: c.dwStartType,
      delayedAutoStart: delayed,
      binaryPath: c.lpBinaryPathName ?? '',
      account: c.lpServiceStartName ?? '',
      loadOrderGroup: c.lpLoadOrderGroup ?? '',
      description: description ? description : null,
    };
  } finally {
    a.CloseServiceHandle(service);
  }
}

/**
 * The services of `types` with their status and configuration. A service whose configuration cannot be
 * read (access denied, deleted between the enumeration and the read) is still returned, with `config: null`.
 */
export async function listScmEntries(types: number, signal?: AbortSignal): Promise<ScmEntry[]> {
  signal?.throwIfAborted();
  const a = scmApi();
  const scm = a.OpenSCManagerW(null, null, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
  if (!scm) throw new Win32Error('OpenSCManagerW', lastError());
  try {
    const entries = enumerate(a, scm, types);
    const out: ScmEntry[] = [];
    for (const [i, e] of entries.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
      out.push({ ...e, config: readConfig(a, scm, e.name) });
    }
    return out;
  } finally {
    a.CloseServiceHandle(scm);
  }
}
