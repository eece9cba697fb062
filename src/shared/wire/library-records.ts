/**
 * What the library's REST API answers (library files, trusted publishers, tenant settings), as zod
 * schemas: the service builds these records, the clients validate them on arrival.
 */
import { z } from 'zod';

export const libraryRecordSchema = z.object({
  name: z.string(),
  description: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  uploadedBy: z.string(),
  uploadedAt: z.string(),
  /** signed (by a trusted publisher), unsigned, or invalid (its publisher is no longer trusted). */
  signature: z.enum(['signed', 'unsigned', 'invalid']),
  publisher: z.string().nullable(),
  parametersDescription: z.string(),
  parametersExample: z.string(),
});
export type LibraryRecord = z.infer<typeof libraryRecordSchema>;

export const uploadResultSchema = libraryRecordSchema.extend({ replaced: z.boolean() });
export type UploadResult = z.infer<typeof uploadResultSchema>;

export const publisherRecordSchema = z.object({
  name: z.string(),
  publicKey: z.string(),
  /** SHA-256 of the key's DER SubjectPublicKeyInfo, hex. */
  fingerprint: z.string(),
  addedBy: z.string(),
  addedAt: z.string(),
});
export type PublisherRecord = z.infer<typeof publisherRecordSchema>;

export const tenantSettingsSchema = z.object({
  unsignedScripts: z.boolean(),
  liveResponse: z.boolean().optional(),
  liveResponseServers: z.boolean().optional(),
  /** The limits in force (config.json overridden by the admins' settings). */
  limits: z.record(z.string(), z.number()).optional(),
  /** Present when a change deserves one (turning unsigned scripts on). */
  warning: z.string().optional(),
});
export type TenantSettingsRecord = z.infer<typeof tenantSettingsSchema>;
