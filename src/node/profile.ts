/**
 * Connection profiles (analysts) and enrollment bundles (agents): small JSON files with the service URL,
 * the service's CA certificate (pinned: the only CA trusted for that connection) and a token.
 * In a cluster they may list every node (`urls`); `url` stays the first one, so files written before
 * clusters keep working, and readers that predate clusters ignore `urls` and use the first node.
 */
import { z } from 'zod';

const pem = z
  .string()
  .min(50)
  .max(16_384)
  .regex(/-----BEGIN CERTIFICATE-----/, 'not a PEM certificate');
const serviceUrl = z
  .string()
  .url()
  .regex(/^(wss|https):\/\//, 'must be a wss:// or https:// URL');
/** The nodes of a cluster (they share one CA, so the pinned `ca` covers all of them). */
const serviceUrlList = z.array(serviceUrl).min(1).max(16);

export const profileSchema = z.object({
  kind: z.literal('lr-profile'),
  url: serviceUrl,
  urls: serviceUrlList.optional(),
  ca: pem,
  user: z.string().min(1).max(128),
  token: z.string().min(10).max(256),
});
export type Profile = z.infer<typeof profileSchema>;

export const bundleSchema = z.object({
  kind: z.literal('lr-enrollment'),
  url: serviceUrl,
  urls: serviceUrlList.optional(),
  ca: pem,
  token: z.string().min(10).max(256),
  expiresAt: z.string(),
  /** The service's command-signing public key (PEM); the agent pins it (it also comes in the enrollment answer). */
  commandKey: z.string().min(40).max(4096).optional(),
});
export type Bundle = z.infer<typeof bundleSchema>;

/** https://host:port base for REST calls, whatever scheme the profile stores. */
export function httpsBase(url: string): string {
  const u = new URL(url);
  return `https://${u.host}`;
}

export function wssBase(url: string): string {
  const u = new URL(url);
  return `wss://${u.host}`;
}

/**
 * Every service URL of a profile, bundle or agent state, in the order to try them: `url` first, then
 * `urls`. Two URLs naming the same host:port are one node (wss:// and https:// reach the same listener),
 * so only the first of them is kept.
 */
export function serviceUrls(p: { url: string; urls?: readonly string[] }): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const u of [p.url, ...(p.urls ?? [])]) {
    const host = new URL(u).host;
    if (seen.has(host)) continue;
    seen.add(host);
    out.push(u);
  }
  return out;
}
