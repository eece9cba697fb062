/** Kernel modules from a fixture /proc/modules, with paths, signers (real PKCS#7 from openssl) and taint. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { moduleSigner, signerFromImage, UNSIGNED } from '../../../src/agent/platform/linux/module-signature.js';
import { missingCommand } from '../../needs.js';
import { put } from './fixture-sysroot.js';
import { tempDir } from './helpers.js';

const fixture = tempDir('lr-drivers-');
const sysroot = path.join(fixture.dir, 'root');
const procRoot = path.join(fixture.dir, 'proc');
const modDir = `lib/modules/${os.release()}`;

/** Runs openssl; without it these tests fail (no other expectation), saying it is missing. */
function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (e) {
    throw new Error(
      missingCommand('openssl') ??
        `openssl ${args[0]} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`,
      { cause: e },
    );
  }
}

/** Appends a kernel-style PKCS#7 signature (what scripts/sign-file does) made by openssl. */
function signModule(image: Buffer, commonName: string): Buffer {
  const dir = path.join(fixture.dir, 'keys');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const input = path.join(dir, 'in.ko');
  const sig = path.join(dir, 'sig.p7');
  put(dir, 'in.ko', image);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/O=Test Org/CN=${commonName}`,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
  ]);
  openssl([
    'cms',
    '-sign',
    '-binary',
    '-noattr',
    '-nocerts',
    '-nosmimecap',
    '-md',
    'sha256',
    '-outform',
    'DER',
    '-in',
    input,
    '-signer',
    cert,
    '-inkey',
    key,
    '-out',
    sig,
  ]);
  const der = readFileSync(sig);
  const info = Buffer.alloc(12);
  info[2] = 2; // PKEY_ID_PKCS7
  info.writeUInt32BE(der.length, 8);
  return Buffer.concat([image, der, info, Buffer.from('~Module signature appended~\n')]);
}

const ELF_STUB = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(2000, 0x90)]);

beforeAll(() => {
  put(
    procRoot,
    'modules',
    [
      'nf_tables 331776 2 nft_chain_nat,nft_compat, Live 0xffffffffc0a00000',
      'evil_rk 16384 0 - Live 0x0000000000000000 (OE)',
      'builtin_only 4096 0 - Live 0x0000000000000000',
      'ghost 8192 1 - Live 0x0000000000000000',
      '',
    ].join('\n'),
  );
  put(
    sysroot,
    `${modDir}/modules.dep`,
    'kernel/net/netfilter/nf_tables.ko: kernel/lib/libcrc32c.ko\nextra/evil-rk.ko:\nkernel/lib/libcrc32c.ko.gz:\nkernel/ghost.ko:\n',
  );
  put(sysroot, `${modDir}/kernel/net/netfilter/nf_tables.ko`, ELF_STUB); // signed by the test that reads its signer
  put(sysroot, `${modDir}/extra/evil-rk.ko`, ELF_STUB);
  put(sysroot, 'sys/module/evil_rk/taint', 'OE\n');
  put(sysroot, 'sys/module/nf_tables/taint', '\n');
});
afterAll(() => fixture.cleanup());

describe('listDrivers', () => {
  it('lists modules with path, signer and taint', async () => {
    put(sysroot, `${modDir}/kernel/net/netfilter/nf_tables.ko`, signModule(ELF_STUB, 'Debian Secure Boot CA'));
    const drivers = await createLinuxPlatform({ sysroot, procRoot }).listDrivers();
    expect(drivers.map((d) => d.name)).toEqual(['nf_tables', 'evil_rk', 'builtin_only', 'ghost']);
    expect(drivers[0]).toEqual({
      name: 'nf_tables',
      size: 331776,
      refCount: 2,
      usedBy: ['nft_chain_nat', 'nft_compat'],
      state: 'Live',
      path: `/${modDir}/kernel/net/netfilter/nf_tables.ko`,
      signer: 'Debian Secure Boot CA',
      taint: null,
    });
    expect(drivers[1]).toMatchObject({ path: `/${modDir}/extra/evil-rk.ko`, signer: UNSIGNED, taint: 'OE' });
    expect(drivers[2]).toMatchObject({ path: null, signer: null, taint: null });
    // listed in modules.dep, file gone since: the path is still shown, the signer is unknown
    expect(drivers[3]).toMatchObject({ path: `/${modDir}/kernel/ghost.ko`, signer: null });
  });

  it('says clearly when the kernel has no loadable modules', async () => {
    const empty = tempDir();
    try {
      await expect(createLinuxPlatform({ sysroot, procRoot: empty.dir }).listDrivers()).rejects.toThrow(
        /modules does not exist/,
      );
    } finally {
      empty.cleanup();
    }
  });
});

describe('module signatures', () => {
  it('reads the signer of a gzip-compressed module', async () => {
    const file = path.join(fixture.dir, 'x.ko.gz');
    writeFileSync(file, gzipSync(signModule(ELF_STUB, 'Gz Signer')));
    expect(await moduleSigner(file)).toBe('Gz Signer');
  });

  it('reads the signer name of the pre-PKCS#7 layout', () => {
    const signer = Buffer.from('Old Kernel Key');
    const keyId = Buffer.from([1, 2, 3, 4]);
    const sig = Buffer.alloc(32, 7);
    const info = Buffer.alloc(12);
    info[2] = 1;
    info[3] = signer.length;
    info[4] = keyId.length;
    info.writeUInt32BE(sig.length, 8);
    expect(
      signerFromImage(
        Buffer.concat([ELF_STUB, signer, keyId, sig, info, Buffer.from('~Module signature appended~\n')]),
      ),
    ).toBe('Old Kernel Key');
  });

  it('reports unsigned modules and cannot tell xz ones', async () => {
    expect(signerFromImage(ELF_STUB)).toBe(UNSIGNED);
    expect(await moduleSigner('/nonexistent/x.ko.xz')).toBeNull();
  });
});
