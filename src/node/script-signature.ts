/**
 * Script signatures: Ed25519 over a short, domain-separated statement of the file's SHA-256 and size
 * (`lr-script-signature-v1`). Signing the digest rather than the raw bytes lets the signer, the service
 * and the agent all check a 250 MB file while streaming it, never holding it in memory (Ed25519 itself
 * needs the whole message); SHA-256 binds the signature to every byte of the file.
 * Used by `lr` (sign), the service (refuses a bad signature at upload) and the agent (checks before run).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function signatureStatement(sha256: string, size: number): Buffer {
  if (!SHA256_HEX.test(sha256)) throw new Error('sha256 must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(size) || size < 0) throw new Error('size must be a non-negative integer');
  return Buffer.from(`lr-script-signature-v1\nsha256:${sha256}\nsize:${size}\n`, 'utf8');
}

/** Parses an Ed25519 public key (PEM, SPKI); throws a one-line error otherwise. */
export function ed25519PublicKey(pem: string): KeyObject {
  // createPublicKey would happily derive the public half of a private key: refuse, so that a private
  // key handed over by mistake is never stored by the service.
  if (/PRIVATE KEY/.test(pem)) throw new Error('this is a private key: give the public key (and keep the private key secret)');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return key;
}

export function ed25519PrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return key;
}

/** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: how analysts compare keys by eye. */
export function publicKeyFingerprint(pem: string): string {
  const der = ed25519PublicKey(pem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Base64 signature of a file described by its SHA-256 and size. */
export function signScript(privateKeyPem: string, sha256: string, size: number): string {
  return sign(null, signatureStatement(sha256, size), ed25519PrivateKey(privateKeyPem)).toString('base64');
}

/** Whether `signature` (base64) is the publisher's signature of a file with this SHA-256 and size. */
export function verifyScriptSignature(publicKeyPem: string, sha256: string, size: number, signature: string): boolean {
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 64) return false;
  try {
    return verify(null, signatureStatement(sha256, size), ed25519PublicKey(publicKeyPem), raw);
  } catch {
    return false;
  }
}
