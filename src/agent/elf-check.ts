/**
 * Checks that a file `run` is about to execute directly is an ELF executable this machine runs: the ELF
 * magic, the word size and byte order of this process, an executable or position-independent type, and
 * this CPU's machine number. Anything else (a text file, a Windows .exe, an ARM binary on x86-64, a
 * relocatable object) is refused before exec, with a one-line reason, instead of an obscure ENOEXEC.
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';

/** e_machine of each Node architecture (elf.h). */
const ELF_MACHINES: Readonly<Record<string, number>> = {
  x64: 62,
  arm64: 183,
  ia32: 3,
  arm: 40,
  riscv64: 243,
  ppc64: 21,
  s390x: 22,
  loong64: 258,
  mips: 8,
  mipsel: 8,
};
const ET_EXEC = 2;
const ET_DYN = 3; // position-independent executables (most of a modern distribution)

/** Why the file at `path` is not an ELF executable for this machine, or null when it is. */
export async function elfProblem(path: string): Promise<string | null> {
  const header = Buffer.alloc(20);
  const fh = await open(path, 'r');
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(header, 0, header.length, 0));
  } finally {
    await fh.close();
  }
  if (n < header.length || header.readUInt32BE(0) !== 0x7f454c46) {
    return header.subarray(0, 2).toString('latin1') === 'MZ'
      ? 'a Windows executable, not an ELF executable'
      : 'not an ELF executable';
  }
  const wordBits = header[4] === 1 ? 32 : header[4] === 2 ? 64 : 0;
  const ownBits = ['x64', 'arm64', 'riscv64', 'ppc64', 's390x', 'loong64'].includes(process.arch) ? 64 : 32;
  if (wordBits !== ownBits)
    return `a ${wordBits || 'unknown'}-bit ELF file, this device runs ${ownBits}-bit executables`;
  const little = header[5] === 1;
  if (header[5] !== 1 && header[5] !== 2) return 'an ELF file of unknown byte order';
  if (little !== (endianness() === 'LE'))
    return `a ${little ? 'little' : 'big'}-endian ELF file, this device is ${little ? 'big' : 'little'}-endian`;
  const type = little ? header.readUInt16LE(16) : header.readUInt16BE(16);
  if (type !== ET_EXEC && type !== ET_DYN) return 'an ELF file that is not an executable (object file or core dump)';
  const machine = little ? header.readUInt16LE(18) : header.readUInt16BE(18);
  const own = ELF_MACHINES[process.arch];
  if (own === undefined) return `this agent does not know the ELF machine number of ${process.arch}`;
  if (machine !== own)
    return `an ELF executable for another processor (machine ${machine}), this device is ${process.arch}`;
  return null;
}
