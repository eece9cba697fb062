/**
 * Tiny PE images built byte by byte (a DOS header, the PE signature, a COFF header and a PE32+ optional
 * header with its 16 data directories, no section) and an Authenticode-style certificate table around a real
 * PKCS#7 SignedData made by openssl. Used by the unit tests and planted as a driver file under Wine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { missingCommand } from '../../../needs.js';

const E_LFANEW = 0x40;
/** EC keys: made in milliseconds, where RSA keys take a while on a loaded machine. */
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
const OPTIONAL_HEADER_SIZE = 240; // PE32+: 112 bytes of fields + 16 directories * 8

export interface PeOptions {
  sizeOfImage: number;
  /** PE32 (0x10b) or PE32+ (0x20b, the default). */
  magic?: number;
  /** Certificate table appended after the headers and pointed at by the security directory. */
  certificateTable?: Buffer;
}

export function buildPe(o: PeOptions): Buffer {
  const magic = o.magic ?? 0x20b;
  const optionalSize = magic === 0x20b ? OPTIONAL_HEADER_SIZE : 224;
  const headers = Buffer.alloc(E_LFANEW + 24 + optionalSize);
  headers.write('MZ', 0, 'latin1');
  headers.writeUInt32LE(E_LFANEW, 0x3c);
  headers.write('PE\0\0', E_LFANEW, 'latin1');
  headers.writeUInt16LE(0x8664, E_LFANEW + 4); // machine: x64
  headers.writeUInt16LE(optionalSize, E_LFANEW + 20);
  const optional = E_LFANEW + 24;
  headers.writeUInt16LE(magic, optional);
  headers.writeUInt32LE(o.sizeOfImage, optional + 56);
  const countAt = optional + (magic === 0x20b ? 108 : 92);
  headers.writeUInt32LE(16, countAt);
  const body = Buffer.alloc(512, 0xcc);
  if (!o.certificateTable) return Buffer.concat([headers, body]);
  const tableAt = headers.length + body.length; // 8-aligned, as the table must be
  const security = countAt + 4 + 4 * 8;
  headers.writeUInt32LE(tableAt, security);
  headers.writeUInt32LE(o.certificateTable.length, security + 4);
  return Buffer.concat([headers, body, o.certificateTable]);
}

/** A WIN_CERTIFICATE (revision 2.0, PKCS_SIGNED_DATA) around `der`, padded to 8 bytes. */
export function winCertificate(der: Buffer, certificateType = 2): Buffer {
  const length = 8 + der.length;
  const cert = Buffer.alloc(Math.ceil(length / 8) * 8);
  cert.writeUInt32LE(length, 0);
  cert.writeUInt16LE(0x0200, 4);
  cert.writeUInt16LE(certificateType, 6);
  der.copy(cert, 8);
  return cert;
}

/**
 * A real DER PKCS#7 SignedData over `content`, as Authenticode has it: signed by a certificate whose CN is
 * `commonName`, issued by a CA named `caName` (self-signed when none), both certificates carried in it.
 * `certificates: false` leaves them out (the signer is then only known by its issuer and serial); `sibling`
 * adds another certificate of the same CA, which did not sign.
 */
export function pkcs7SignedBy(
  commonName: string,
  content: Buffer,
  o: { caName?: string; certificates?: boolean; sibling?: string } = {},
): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lr-pe-sign-'));
  const run = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });
    } catch (e) {
      throw new Error(
        missingCommand('openssl') ??
          `openssl ${args[0]} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`,
        { cause: e },
      );
    }
  };
  try {
    writeFileSync(path.join(dir, 'in.bin'), content);
    const certs = o.certificates === false ? ['-nocerts'] : [];
    if (o.caName) {
      run([
        'req',
        '-x509',
        ...KEY,
        '-nodes',
        '-subj',
        `/CN=${o.caName}`,
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '1',
      ]);
      run([
        'req',
        '-new',
        ...KEY,
        '-nodes',
        '-subj',
        `/O=Test Org/CN=${commonName}`,
        '-keyout',
        'key.pem',
        '-out',
        'leaf.csr',
      ]);
      run([
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '4242',
        '-days',
        '1',
        '-out',
        'cert.pem',
      ]);
      const extra = o.certificates === false ? [] : ['ca.pem'];
      if (o.sibling) {
        // another certificate of the same CA (same issuer, another serial) that did not sign
        run(['req', '-new', ...KEY, '-nodes', '-subj', `/CN=${o.sibling}`, '-keyout', 'sib.key', '-out', 'sib.csr']);
        run([
          'x509',
          '-req',
          '-in',
          'sib.csr',
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-set_serial',
          '4343',
          '-days',
          '1',
          '-out',
          'sib.pem',
        ]);
        extra.unshift('sib.pem');
      }
      if (extra.length > 0) {
        writeFileSync(path.join(dir, 'extra.pem'), extra.map((f) => readFileSync(path.join(dir, f), 'utf8')).join(''));
        certs.push('-certfile', 'extra.pem');
      }
    } else {
      run([
        'req',
        '-x509',
        ...KEY,
        '-nodes',
        '-subj',
        `/O=Test Org/CN=${commonName}`,
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '1',
      ]);
    }
    run([
      'cms',
      '-sign',
      '-binary',
      '-noattr',
      '-nosmimecap',
      ...certs,
      '-md',
      'sha256',
      '-outform',
      'DER',
      '-in',
      'in.bin',
      '-signer',
      'cert.pem',
      '-inkey',
      'key.pem',
      '-out',
      'sig.p7',
    ]);
    return readFileSync(path.join(dir, 'sig.p7'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A PE image with an embedded signature by `commonName`, issued by `caName`. */
export function signedPe(sizeOfImage: number, commonName: string, caName: string): Buffer {
  return buildPe({
    sizeOfImage,
    certificateTable: winCertificate(pkcs7SignedBy(commonName, buildPe({ sizeOfImage }), { caName })),
  });
}
