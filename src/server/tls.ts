/**
 * The service's TLS material, made once at `lr-server init`: a private CA (ECDSA P-256, 10 years) and a
 * server certificate signed by it for the listen host plus localhost/127.0.0.1/::1. Clients and agents pin
 * the CA certificate from their profile or bundle.
 */
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TlsMaterial {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function createTlsMaterial(hosts: string[]): Promise<TlsMaterial> {
  const now = new Date(Date.now() - 60_000);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=LR live response CA',
    notBefore: now,
    notAfter: new Date(now.getTime() + 3650 * 86_400_000),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const server = await issueServerCert(ca, caKeys.privateKey, caKeys.publicKey, hosts, now);
  return { caCert: ca.toString('pem'), caKey: await exportKey(caKeys.privateKey), ...server };
}

/**
 * A server certificate signed by an existing CA: what a new node of a cluster gets (`lr-server init
 * --cluster-from`), so that agents and analysts who pin the cluster's CA trust every node.
 */
export async function createServerCertFromCa(
  caCertPem: string,
  caKeyPem: string,
  hosts: string[],
): Promise<{ cert: string; key: string }> {
  const ca = new x509.X509Certificate(caCertPem);
  const caPrivate = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decode(caKeyPem)[0] as ArrayBuffer,
    ALG,
    true,
    ['sign'],
  );
  const caPublic = await ca.publicKey.export(ALG, ['verify']);
  return issueServerCert(ca, caPrivate, caPublic, hosts, new Date(Date.now() - 60_000));
}

async function issueServerCert(
  ca: x509.X509Certificate,
  caPrivate: webcrypto.CryptoKey,
  caPublic: webcrypto.CryptoKey,
  hosts: string[],
  now: Date,
): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const names = new Set(['localhost', '127.0.0.1', '::1', ...hosts.filter(Boolean)]);
  const san = [...names].map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=lr-server',
    issuer: ca.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + 825 * 86_400_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caPrivate,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(caPublic),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}
