/**
 * Checks that a file `run` is about to execute directly on Windows is a PE executable this machine runs:
 * the MZ header, the `PE\0\0` signature it points to, this CPU's machine type (or x86 on x64, which
 * Windows runs through WOW64), an executable image that is not a DLL, and a Windows GUI or console
 * subsystem (not a driver, not an EFI program). Anything else is refused before CreateProcess, with a
 * one-line reason. The Windows counterpart of elf-check.ts.
 */
import { open } from 'node:fs/promises';

/** COFF Machine of each Node architecture (winnt.h IMAGE_FILE_MACHINE_*). */
const PE_MACHINES: Readonly<Record<string, number>> = { x64: 0x8664, ia32: 0x14c, arm64: 0xaa64, arm: 0x1c4 };
/** Machines this architecture also runs: x86 programs on x64 Windows (WOW64). */
const ALSO_RUNS: Readonly<Record<string, readonly number[]>> = { x64: [0x14c] };
const MACHINE_NAMES: Readonly<Record<number, string>> = {
  0x8664: 'x64',
  0x14c: 'x86',
  0xaa64: 'arm64',
  0x1c4: 'arm',
  0x200: 'ia64',
};
const IMAGE_FILE_EXECUTABLE_IMAGE = 0x0002;
const IMAGE_FILE_DLL = 0x2000;
const PE32 = 0x10b;
const PE32_PLUS = 0x20b;
const SUBSYSTEM_GUI = 2;
const SUBSYSTEM_CONSOLE = 3;
/** How much of the file the check reads: the PE header of any real executable starts well within it. */
export const PE_HEADER_WINDOW = 4096;

/** Why the bytes (the start of a file) are not a PE executable for `arch`, or null when they are. Pure. */
export function peProblem(header: Buffer, arch: string = process.arch): string | null {
  if (header.length < 64 || header.toString('latin1', 0, 2) !== 'MZ') {
    return header.length >= 4 && header.readUInt32BE(0) === 0x7f454c46
      ? 'a Linux (ELF) executable, not a Windows executable'
      : 'not a Windows executable';
  }
  const pe = header.readUInt32LE(0x3c);
  // Signature (4), COFF header (20), then the optional header's magic (2) ... subsystem at +68.
  if (pe + 4 + 20 + 70 > header.length) return 'an MZ file without a PE header (a DOS program, or a damaged file)';
  if (header.readUInt32BE(pe) !== 0x50450000)
    return 'an MZ file without a PE header (a DOS program, or a damaged file)';
  const machine = header.readUInt16LE(pe + 4);
  const characteristics = header.readUInt16LE(pe + 22);
  const optional = pe + 24;
  const magic = header.readUInt16LE(optional);
  if (characteristics & IMAGE_FILE_DLL) return 'a DLL, not an executable';
  if (!(characteristics & IMAGE_FILE_EXECUTABLE_IMAGE) || (magic !== PE32 && magic !== PE32_PLUS))
    return 'a PE file that is not an executable image';
  const own = PE_MACHINES[arch];
  if (own === undefined) return `this agent does not know the PE machine type of ${arch}`;
  if (machine !== own && !(ALSO_RUNS[arch] ?? []).includes(machine)) {
    const name = MACHINE_NAMES[machine] ?? `machine 0x${machine.toString(16)}`;
    return `a Windows executable for another processor (${name}), this device is ${arch}`;
  }
  const subsystem = header.readUInt16LE(optional + 68);
  if (subsystem !== SUBSYSTEM_GUI && subsystem !== SUBSYSTEM_CONSOLE)
    return `a PE image for subsystem ${subsystem} (a driver or firmware program), not a Windows program`;
  return null;
}

/** Why the file at `path` is not a PE executable for this machine, or null when it is. */
export async function peFileProblem(path: string): Promise<string | null> {
  const header = Buffer.alloc(PE_HEADER_WINDOW);
  const fh = await open(path, 'r');
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(header, 0, header.length, 0));
  } finally {
    await fh.close();
  }
  return peProblem(header.subarray(0, n));
}
