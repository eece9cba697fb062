/**
 * A Job Object per `run`: Windows has no process groups to signal, but a job holds a process and every
 * process it starts afterwards (children inherit the job), so one TerminateJobObject ends the whole tree,
 * including children whose parent already exited. The job is created with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: when the agent closes the handle (at the end of the run, or because
 * the agent itself died) whatever is left of the tree is killed too, and DIE_ON_UNHANDLED_EXCEPTION, so a
 * crashing script process ends instead of waiting on an error-report dialog nobody sees.
 *
 * Node spawns the process itself, so it is assigned to the job right after the spawn (OpenProcess +
 * AssignProcessToJobObject): a process it started in the microseconds in between would be outside the
 * job. Windows 8 and later allow nested jobs, so this works when the agent itself runs inside one.
 *
 * The structures are plain buffers at their documented offsets (winnt.h), for x64 and 32-bit layouts.
 */
import { lastError, win32, Win32Error } from './ffi.js';

type Handle = unknown;

interface Kernel32Jobs {
  CreateJobObjectW(attributes: null, name: null): Handle;
  SetInformationJobObject(job: Handle, infoClass: number, info: Buffer, length: number): boolean;
  QueryInformationJobObject(job: Handle, infoClass: number, info: Buffer, length: number, returned: null): boolean;
  AssignProcessToJobObject(job: Handle, process: Handle): boolean;
  TerminateJobObject(job: Handle, exitCode: number): boolean;
  OpenProcess(access: number, inherit: boolean, pid: number): Handle;
  CloseHandle(h: Handle): boolean;
}

let api: Kernel32Jobs | null = null;

function kernel32(): Kernel32Jobs {
  if (api) return api;
  const k = win32('kernel32.dll');
  api = {
    CreateJobObjectW: k.func(
      'void * __stdcall CreateJobObjectW(void *attributes, str16 name)',
    ) as Kernel32Jobs['CreateJobObjectW'],
    SetInformationJobObject: k.func(
      'bool __stdcall SetInformationJobObject(void *job, int infoClass, void *info, uint32 length)',
    ) as Kernel32Jobs['SetInformationJobObject'],
    QueryInformationJobObject: k.func(
      'bool __stdcall QueryInformationJobObject(void *job, int infoClass, void *info, uint32 length, uint32 *returned)',
    ) as Kernel32Jobs['QueryInformationJobObject'],
    AssignProcessToJobObject: k.func(
      'bool __stdcall AssignProcessToJobObject(void *job, void *process)',
    ) as Kernel32Jobs['AssignProcessToJobObject'],
    TerminateJobObject: k.func(
      'bool __stdcall TerminateJobObject(void *job, uint32 exitCode)',
    ) as Kernel32Jobs['TerminateJobObject'],
    OpenProcess: k.func(
      'void * __stdcall OpenProcess(uint32 access, bool inherit, uint32 pid)',
    ) as Kernel32Jobs['OpenProcess'],
    CloseHandle: k.func('bool __stdcall CloseHandle(void *h)') as Kernel32Jobs['CloseHandle'],
  };
  return api;
}

// JOBOBJECTINFOCLASS
const JobObjectBasicAccountingInformation = 1;
const JobObjectBasicProcessIdList = 3;
const JobObjectExtendedLimitInformation = 9;
const JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x400;
const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000;
const PROCESS_TERMINATE = 0x0001;
const PROCESS_SET_QUOTA = 0x0100;

const POINTER_SIZE = ['x64', 'arm64'].includes(process.arch) ? 8 : 4;
/** sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION): 144 on 64-bit Windows, 112 on 32-bit. */
const EXTENDED_LIMIT_SIZE = POINTER_SIZE === 8 ? 144 : 112;
/** BasicLimitInformation.LimitFlags follows two LARGE_INTEGERs. */
const LIMIT_FLAGS_OFFSET = 16;
/** sizeof(JOBOBJECT_BASIC_ACCOUNTING_INFORMATION); ActiveProcesses after 4 LARGE_INTEGERs and 2 DWORDs. */
const ACCOUNTING_SIZE = 48;
const ACTIVE_PROCESSES_OFFSET = 40;
/** How many pids `processIds()` reads (the list is only for reporting survivors). */
const PID_LIST_MAX = 256;

/** The job of one run. */
export interface ProcessJob {
  /** Adds a running process (by pid) to the job. */
  assign(pid: number): void;
  /** Ends every process of the job (TerminateJobObject). */
  terminate(exitCode?: number): void;
  /** How many processes of the job are still running. */
  activeProcesses(): number;
  /** The pids of the job's running processes (at most 256). */
  processIds(): number[];
  /** Closes the job: any process still in it is killed (KILL_ON_JOB_CLOSE). Idempotent. */
  close(): void;
}

/** A new, unnamed job that kills its processes when closed. Throws Win32Error. */
export function createKillOnCloseJob(): ProcessJob {
  const k = kernel32();
  const job = k.CreateJobObjectW(null, null);
  if (!job) throw new Win32Error('CreateJobObjectW', lastError());
  let closed = false;
  try {
    const limits = Buffer.alloc(EXTENDED_LIMIT_SIZE);
    limits.writeUInt32LE(
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION,
      LIMIT_FLAGS_OFFSET,
    );
    if (!k.SetInformationJobObject(job, JobObjectExtendedLimitInformation, limits, limits.length)) {
      throw new Win32Error('SetInformationJobObject', lastError());
    }
  } catch (e) {
    k.CloseHandle(job);
    throw e;
  }
  const open = () => {
    if (closed) throw new Error('the job is closed');
  };
  return {
    assign(pid) {
      open();
      const proc = k.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, false, pid);
      if (!proc) throw new Win32Error('OpenProcess', lastError());
      try {
        if (!k.AssignProcessToJobObject(job, proc)) throw new Win32Error('AssignProcessToJobObject', lastError());
      } finally {
        k.CloseHandle(proc);
      }
    },
    terminate(exitCode = 1) {
      open();
      if (!k.TerminateJobObject(job, exitCode)) throw new Win32Error('TerminateJobObject', lastError());
    },
    activeProcesses() {
      open();
      const info = Buffer.alloc(ACCOUNTING_SIZE);
      if (!k.QueryInformationJobObject(job, JobObjectBasicAccountingInformation, info, info.length, null)) {
        throw new Win32Error('QueryInformationJobObject', lastError());
      }
      return info.readUInt32LE(ACTIVE_PROCESSES_OFFSET);
    },
    processIds() {
      open();
      const info = Buffer.alloc(8 + PID_LIST_MAX * POINTER_SIZE);
      // ERROR_MORE_DATA still fills the list as far as it goes: enough for a report.
      if (
        !k.QueryInformationJobObject(job, JobObjectBasicProcessIdList, info, info.length, null) &&
        lastError() !== 234
      ) {
        throw new Win32Error('QueryInformationJobObject', lastError());
      }
      const n = Math.min(info.readUInt32LE(4), PID_LIST_MAX);
      const pids: number[] = [];
      for (let i = 0; i < n; i++)
        pids.push(POINTER_SIZE === 8 ? Number(info.readBigUInt64LE(8 + i * 8)) : info.readUInt32LE(8 + i * 4));
      return pids;
    },
    close() {
      if (closed) return;
      closed = true;
      k.CloseHandle(job);
    },
  };
}
