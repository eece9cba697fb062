// Profiles and enrollment bundles listing several service nodes (cluster), and the order clients try them.
import { describe, expect, it } from 'vitest';
import { agentStateSchema } from '../../../src/agent/config.js';
import { bundleSchema, profileSchema, serviceUrls } from '../../../src/node/profile.js';

const ca = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;
const profile = {
  kind: 'lr-profile',
  url: 'https://node1.example:8443',
  ca,
  user: 'alice',
  token: 'lrt_0123456789abcdef',
};
const bundle = {
  kind: 'lr-enrollment',
  url: 'wss://node1.example:8443',
  ca,
  token: 'lre_0123456789abcdef',
  expiresAt: '2030-01-01T00:00:00Z',
};

describe('profile and bundle urls', () => {
  it('a file without urls stays valid (written before clusters)', () => {
    expect(profileSchema.parse(profile).urls).toBeUndefined();
    expect(bundleSchema.parse(bundle).urls).toBeUndefined();
  });

  it('accepts 1 to 16 wss:// or https:// URLs', () => {
    const urls = ['https://node1.example:8443', 'wss://node2.example:8443', 'https://10.0.0.3:8443'];
    expect(profileSchema.parse({ ...profile, urls }).urls).toEqual(urls);
    expect(bundleSchema.parse({ ...bundle, urls }).urls).toEqual(urls);
    const sixteen = Array.from({ length: 16 }, (_, i) => `https://node${i}.example:8443`);
    expect(profileSchema.safeParse({ ...profile, urls: sixteen }).success).toBe(true);
  });

  it('rejects an empty list, more than 16, and anything but wss:// or https://', () => {
    for (const urls of [
      [],
      Array.from({ length: 17 }, (_, i) => `https://node${i}.example:8443`),
      ['http://node2.example:8080'],
      ['ws://node2.example:8080'],
      ['node2.example:8443'],
      [42],
    ]) {
      expect(profileSchema.safeParse({ ...profile, urls }).success, JSON.stringify(urls)).toBe(false);
      expect(bundleSchema.safeParse({ ...bundle, urls }).success, JSON.stringify(urls)).toBe(false);
    }
  });

  it('readers that predate clusters ignore urls (zod strips unknown keys the same way)', () => {
    const parsed = profileSchema.parse({ ...profile, urls: ['https://node2.example:8443'], extra: 1 });
    expect(parsed).not.toHaveProperty('extra');
  });

  it('the agent state keeps the list', () => {
    const state = {
      kind: 'lr-agent',
      url: 'wss://a.example:1',
      urls: ['wss://a.example:1', 'wss://b.example:1'],
      ca,
      deviceId: 'd1',
      name: 'n',
      privateKey: 'k'.repeat(60),
    };
    expect(agentStateSchema.parse(state).urls).toEqual(state.urls);
    expect(agentStateSchema.safeParse({ ...state, urls: [] }).success).toBe(false);
  });
});

describe('serviceUrls', () => {
  it('is url alone without urls', () => {
    expect(serviceUrls({ url: 'https://a.example:1' })).toEqual(['https://a.example:1']);
  });

  it('puts url first, then the others in their order', () => {
    expect(serviceUrls({ url: 'https://b.example:1', urls: ['https://a.example:1', 'https://c.example:1'] })).toEqual([
      'https://b.example:1',
      'https://a.example:1',
      'https://c.example:1',
    ]);
  });

  it('drops duplicates, including the same node under the other scheme or another spelling', () => {
    expect(
      serviceUrls({
        url: 'https://a.example:1',
        urls: [
          'https://a.example:1',
          'wss://A.example:1/',
          'https://b.example:1',
          'https://b.example:1/api',
          'https://a.example:2',
        ],
      }),
    ).toEqual(['https://a.example:1', 'https://b.example:1', 'https://a.example:2']);
  });
});
