/**
 * What Windows tells about one process, through the calls an unprivileged tool may make:
 * QueryFullProcessImageNameW, GetProcessTimes, K32GetProcessMemoryInfo, the token's user
 * (OpenProcessToken + GetTokenInformation(TokenUser) + LookupAccountSidW), ProcessIdToSessionId and the
 * command line (NtQueryInformationProcess(ProcessCommandLineInformation) where Windows has it, 8.1 and
 * later; else read from the process's PEB, which Wine needs). Each piece that cannot be read is null,
 * never a guess: one denial (a protected process's token) does not hide the rest.
 */
import type { LibraryHandle } from 'koffi';
import { ffi, fileTimeToIso, win32 } from './ffi.js';
import {
  accountName,
  BASIC_INFORMATION_PEB,
  BASIC_INFORMATION_SIZE,
  fileTimeSpanMs,
  MEMORY_COUNTERS_SIZE,
  MEMORY_COUNTERS_WORKING_SET,
  PARAMETERS_COMMAND_LINE,
  PEB_PROCESS_PARAMETERS,
  sidLength,
  sidToString,
  unicodeStringHeader,
} from './processes-decode.js';
import { isBadHandle } from './toolhelp.js';

export interface ProcessDetails {
  path: string | null;
  cmdline: string | null;
  user: string | null;
  sessionId: number | null;
  startTime: string | null;
  rssBytes: number | null;
  cpuTimeMs: number | null;
}

const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const PROCESS_QUERY_INFORMATION = 0x0400;
const PROCESS_VM_READ = 0x0010;
const TOKEN_QUERY = 0x0008;
const TOKEN_USER_CLASS = 1;
const PROCESS_BASIC_INFORMATION_CLASS = 0;
const PROCESS_COMMAND_LINE_INFORMATION_CLASS = 60;
const STATUS_INFO_LENGTH_MISMATCH = 0xc0000004;
const STATUS_BUFFER_TOO_SMALL = 0xc0000023;
const STATUS_INVALID_INFO_CLASS = 0xc0000003;
/** The longest path QueryFullProcessImageNameW gives (UNICODE_STRING limit), in characters. */
const MAX_PATH_CHARS = 32_767;

type Handle = unknown;

interface ProcessApi {
  OpenProcess(access: number, inherit: boolean, pid: number): Handle;
  CloseHandle(h: Handle): boolean;
  QueryFullProcessImageNameW(h: Handle, flags: number, buf: Buffer, size: number[]): boolean;
  GetProcessTimes(h: Handle, creation: Buffer, exit: Buffer, kernel: Buffer, user: Buffer): boolean;
  K32GetProcessMemoryInfo(h: Handle, counters: Buffer, cb: number): boolean;
  ProcessIdToSessionId(pid: number, session: number[]): boolean;
  OpenProcessToken(h: Handle, access: number, token: unknown[]): boolean;
  GetTokenInformation(token: Handle, cls: number, buf: Buffer, len: number, ret: number[]): boolean;
  LookupAccountSidW(
    system: null,
    sid: Buffer,
    name: Buffer,
    nameChars: number[],
    domain: Buffer,
    domainChars: number[],
    use: number[],
  ): boolean;
  NtQueryInformationProcess(h: Handle, cls: number, buf: Buffer, len: number, ret: number[]): number;
  ReadProcessMemory(h: Handle, address: bigint, buf: Buffer, size: number, read: number[]): boolean;
}

let api: ProcessApi | null = null;

function processApi(): ProcessApi {
  if (api) return api;
  const k32: LibraryHandle = win32('kernel32.dll');
  const advapi32 = win32('advapi32.dll');
  const ntdll = win32('ntdll.dll');
  api = {
    OpenProcess: k32.func('void * __stdcall OpenProcess(uint32 access, bool inherit, uint32 pid)'),
    CloseHandle: k32.func('bool __stdcall CloseHandle(void *h)'),
    QueryFullProcessImageNameW: k32.func(
      'bool __stdcall QueryFullProcessImageNameW(void *h, uint32 flags, _Out_ uint8_t *buf, _Inout_ uint32 *size)',
    ),
    GetProcessTimes: k32.func(
      'bool __stdcall GetProcessTimes(void *h, _Out_ uint8_t *creation, _Out_ uint8_t *exit, _Out_ uint8_t *kernel, _Out_ uint8_t *user)',
    ),
    K32GetProcessMemoryInfo: k32.func(
      'bool __stdcall K32GetProcessMemoryInfo(void *h, _Inout_ uint8_t *counters, uint32 cb)',
    ),
    ProcessIdToSessionId: k32.func('bool __stdcall ProcessIdToSessionId(uint32 pid, _Out_ uint32 *session)'),
    OpenProcessToken: advapi32.func('bool __stdcall OpenProcessToken(void *h, uint32 access, _Out_ void **token)'),
    GetTokenInformation: advapi32.func(
      'bool __stdcall GetTokenInformation(void *token, int cls, _Out_ uint8_t *buf, uint32 len, _Out_ uint32 *ret)',
    ),
    LookupAccountSidW: advapi32.func(
      'bool __stdcall LookupAccountSidW(str16 system, uint8_t *sid, _Out_ uint8_t *name, _Inout_ uint32 *nameChars, _Out_ uint8_t *domain, _Inout_ uint32 *domainChars, _Out_ int *use)',
    ),
    NtQueryInformationProcess: ntdll.func(
      'int32 __stdcall NtQueryInformationProcess(void *h, int cls, _Out_ uint8_t *buf, uint32 len, _Out_ uint32 *ret)',
    ),
    ReadProcessMemory: k32.func(
      'bool __stdcall ReadProcessMemory(void *h, uintptr_t address, _Out_ uint8_t *buf, uintptr_t size, _Out_ uintptr_t *read)',
    ),
  } as ProcessApi;
  return api;
}

/**
 * Reads the details of processes one after the other, reusing its buffers and remembering the account
 * of each SID (a machine has few) and whether this Windows knows ProcessCommandLineInformation.
 */
export class ProcessReader {
  private readonly api = processApi();
  private readonly pathBuf = Buffer.alloc(MAX_PATH_CHARS * 2 + 2);
  private readonly times = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)] as const;
  private readonly counters = Buffer.alloc(MEMORY_COUNTERS_SIZE);
  private readonly tokenBuf = Buffer.alloc(256);
  private readonly nameBuf = Buffer.alloc(512);
  private readonly domainBuf = Buffer.alloc(512);
  private readonly accounts = new Map<string, string>();
  private commandLineClass = true;

  read(pid: number): ProcessDetails {
    const { api } = this;
    const session = [0];
    const details: ProcessDetails = {
      path: null,
      cmdline: null,
      user: null,
      sessionId: api.ProcessIdToSessionId(pid, session) ? session[0]! : null,
      startTime: null,
      rssBytes: null,
      cpuTimeMs: null,
    };
    const h = api.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid);
    if (isBadHandle(h)) return details; // access denied, or gone since the snapshot
    try {
      details.path = this.imagePath(h);
      this.readTimes(h, details);
      details.rssBytes = this.workingSet(h);
      details.user = this.tokenUser(h);
      details.cmdline = this.commandLineQuery(h) ?? this.commandLineFromPeb(pid);
    } finally {
      api.CloseHandle(h);
    }
    return details;
  }

  private imagePath(h: Handle): string | null {
    const size = [MAX_PATH_CHARS];
    if (!this.api.QueryFullProcessImageNameW(h, 0, this.pathBuf, size)) return null;
    return this.pathBuf.toString('utf16le', 0, size[0]! * 2);
  }

  private readTimes(h: Handle, details: ProcessDetails): void {
    const [creation, exit, kernel, user] = this.times;
    if (!this.api.GetProcessTimes(h, creation, exit, kernel, user)) return;
    details.startTime = fileTimeToIso(creation.readUInt32LE(0), creation.readUInt32LE(4));
    details.cpuTimeMs = fileTimeSpanMs(kernel) + fileTimeSpanMs(user);
  }

  private workingSet(h: Handle): number | null {
    this.counters.fill(0);
    this.counters.writeUInt32LE(MEMORY_COUNTERS_SIZE, 0);
    if (!this.api.K32GetProcessMemoryInfo(h, this.counters, MEMORY_COUNTERS_SIZE)) return null;
    return Number(this.counters.readBigUInt64LE(MEMORY_COUNTERS_WORKING_SET));
  }

  /** The token owner as `DOMAIN\name`; its SID when no account has it (a deleted user). */
  private tokenUser(h: Handle): string | null {
    const { api } = this;
    const token: unknown[] = [null];
    if (!api.OpenProcessToken(h, TOKEN_QUERY, token) || isBadHandle(token[0])) return null;
    let sid: Buffer;
    try {
      const ret = [0];
      if (!api.GetTokenInformation(token[0], TOKEN_USER_CLASS, this.tokenBuf, this.tokenBuf.length, ret)) return null;
      // TOKEN_USER starts with a pointer to the SID, which Windows stores after it in the same buffer.
      const offset = Number(ffi().address(ffi().decode(this.tokenBuf, 'void *')) - ffi().address(this.tokenBuf));
      if (offset < 0 || offset + 8 > ret[0]!) return null;
      sid = Buffer.from(this.tokenBuf.subarray(offset, offset + sidLength(this.tokenBuf.subarray(offset))));
    } finally {
      api.CloseHandle(token[0]);
    }
    const text = sidToString(sid);
    if (text === null) return null;
    let account = this.accounts.get(text);
    if (account === undefined) {
      account = this.lookupAccount(sid) ?? text;
      this.accounts.set(text, account);
    }
    return account;
  }

  private lookupAccount(sid: Buffer): string | null {
    const nameChars = [this.nameBuf.length / 2];
    const domainChars = [this.domainBuf.length / 2];
    if (!this.api.LookupAccountSidW(null, sid, this.nameBuf, nameChars, this.domainBuf, domainChars, [0])) return null;
    return accountName(
      this.domainBuf.toString('utf16le', 0, domainChars[0]! * 2),
      this.nameBuf.toString('utf16le', 0, nameChars[0]! * 2),
    );
  }

  /** ProcessCommandLineInformation (Windows 8.1+): a UNICODE_STRING followed by its text, in our buffer. */
  private commandLineQuery(h: Handle): string | null {
    if (!this.commandLineClass) return null;
    let buf = Buffer.alloc(4096);
    const ret = [0];
    let status =
      this.api.NtQueryInformationProcess(h, PROCESS_COMMAND_LINE_INFORMATION_CLASS, buf, buf.length, ret) >>> 0;
    if ((status === STATUS_INFO_LENGTH_MISMATCH || status === STATUS_BUFFER_TOO_SMALL) && ret[0]! > buf.length) {
      buf = Buffer.alloc(ret[0]!);
      status =
        this.api.NtQueryInformationProcess(h, PROCESS_COMMAND_LINE_INFORMATION_CLASS, buf, buf.length, ret) >>> 0;
    }
    if (status === STATUS_INVALID_INFO_CLASS) this.commandLineClass = false; // older Windows, Wine: the PEB then
    if (status !== 0) return null;
    const { bytes, address } = unicodeStringHeader(buf);
    const start = Number(address - ffi().address(buf));
    if (bytes === 0) return '';
    if (start < 0 || start + bytes > buf.length) return null;
    return buf.toString('utf16le', start, start + bytes);
  }

  /** The command line from the process's PEB (RTL_USER_PROCESS_PARAMETERS.CommandLine); needs VM read. */
  private commandLineFromPeb(pid: number): string | null {
    const { api } = this;
    const h = api.OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, false, pid);
    if (isBadHandle(h)) return null;
    try {
      const basic = Buffer.alloc(BASIC_INFORMATION_SIZE);
      if (api.NtQueryInformationProcess(h, PROCESS_BASIC_INFORMATION_CLASS, basic, basic.length, [0]) !== 0)
        return null;
      const peb = basic.readBigUInt64LE(BASIC_INFORMATION_PEB);
      if (peb === 0n) return null;
      const word = Buffer.alloc(16);
      if (!this.readMemory(h, peb + BigInt(PEB_PROCESS_PARAMETERS), word.subarray(0, 8))) return null;
      const parameters = word.readBigUInt64LE(0);
      if (parameters === 0n || !this.readMemory(h, parameters + BigInt(PARAMETERS_COMMAND_LINE), word)) return null;
      const { bytes, address } = unicodeStringHeader(word);
      if (bytes === 0) return '';
      const text = Buffer.alloc(bytes);
      return this.readMemory(h, address, text) ? text.toString('utf16le') : null;
    } finally {
      api.CloseHandle(h);
    }
  }

  private readMemory(h: Handle, address: bigint, into: Buffer): boolean {
    const read = [0];
    return this.api.ReadProcessMemory(h, address, into, into.length, read) && read[0] === into.length;
  }
}
