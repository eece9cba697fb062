/**
 * What the service learns from an agent build file without running it: its version and build commit (the
 * `lr-agent-release-info:{"version":…,"build":…}` literal every build carries, see shared/wire/agent-release.ts)
 * and whether its executable format is the target's (ELF x86-64, ELF AArch64, PE x64). The file is read as
 * a stream, never loaded whole, never executed.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { AGENT_RELEASE_INFO_MARKER, AGENT_VERSION_PATTERN, type AgentTarget } from '../shared/wire/agent-release.js';

export interface ReleaseInfo {
  version: string;
  build: string;
}

const INFO = /^\{"version":"([^"\\]{1,64})","build":"([^"\\]{0,64})"\}/;
const MARKER = Buffer.from(AGENT_RELEASE_INFO_MARKER, 'latin1');
/** Longest info literal after the marker (two fields of at most 64 characters and the JSON around them). */
const INFO_MAX = 200;

/**
 * The version and build the file carries. The marker also occurs as a bare constant in every build (the
 * code that looks for it): only occurrences followed by the info JSON count, and they must all agree.
 */
export async function readReleaseInfo(path: string): Promise<ReleaseInfo> {
  const found = new Map<string, ReleaseInfo>();
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = Buffer.concat([carry, chunk as Buffer]);
    let from = 0;
    for (;;) {
      const at = buf.indexOf(MARKER, from);
      if (at < 0 || at + MARKER.length + INFO_MAX > buf.length) {
        // Keep the tail that may hold a marker (and its JSON) cut by the chunk boundary.
        const keepFrom = at >= 0 ? at : Math.max(0, buf.length - MARKER.length - INFO_MAX);
        carry = buf.subarray(Math.max(keepFrom, from));
        break;
      }
      const m = INFO.exec(buf.subarray(at + MARKER.length, at + MARKER.length + INFO_MAX).toString('latin1'));
      if (m) found.set(`${m[1]}\n${m[2]}`, { version: m[1] as string, build: m[2] as string });
      from = at + MARKER.length;
    }
  }
  const tail = carry.toString('latin1');
  for (
    let at = tail.indexOf(AGENT_RELEASE_INFO_MARKER);
    at >= 0;
    at = tail.indexOf(AGENT_RELEASE_INFO_MARKER, at + 1)
  ) {
    const m = INFO.exec(tail.slice(at + MARKER.length));
    if (m) found.set(`${m[1]}\n${m[2]}`, { version: m[1] as string, build: m[2] as string });
  }
  if (found.size === 0)
    throw new Error(`${path} is not an lr-agent build: it carries no ${AGENT_RELEASE_INFO_MARKER}{…} version literal`);
  if (found.size > 1)
    throw new Error(`${path} carries ${found.size} different version literals: refusing an ambiguous build`);
  const info = [...found.values()][0] as ReleaseInfo;
  if (!AGENT_VERSION_PATTERN.test(info.version))
    throw new Error(`${path}: invalid version ${JSON.stringify(info.version)} in its release info`);
  return info;
}

/** Why the start of a file (its first 4 KB) is not an executable of `target`, or null. Pure. */
export function formatProblem(header: Buffer, target: AgentTarget): string | null {
  const isElf = header.length >= 20 && header.readUInt32BE(0) === 0x7f454c46;
  const isMz = header.length >= 64 && header.toString('latin1', 0, 2) === 'MZ';
  if (target === 'linux-x64' || target === 'linux-arm64') {
    if (!isElf) return `not an ELF executable (${target} builds are ELF)${isMz ? ': a Windows file' : ''}`;
    if (header[4] !== 2 || header[5] !== 1) return 'not a 64-bit little-endian ELF file';
    const machine = header.readUInt16LE(18);
    const want = target === 'linux-x64' ? 62 : 183;
    if (machine !== want)
      return `an ELF file for machine ${machine} (${machine === 62 ? 'x86-64' : machine === 183 ? 'AArch64' : 'another CPU'}), not ${target === 'linux-x64' ? 'x86-64' : 'AArch64'}`;
    return null;
  }
  if (!isMz) return `not a Windows executable (${target} builds are PE files)${isElf ? ': an ELF file' : ''}`;
  const pe = header.readUInt32LE(0x3c);
  if (pe + 6 > header.length || header.readUInt32BE(pe) !== 0x50450000) return 'an MZ file without a PE header';
  const machine = header.readUInt16LE(pe + 4);
  if (machine !== 0x8664) return `a PE file for machine 0x${machine.toString(16)}, not x64`;
  return null;
}

export async function fileFormatProblem(path: string, target: AgentTarget): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(header, 0, header.length, 0);
    return formatProblem(header.subarray(0, bytesRead), target);
  } finally {
    await fh.close();
  }
}
