/** index.html's meta CSP and the header the hosts send must say the same thing. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RENDERER_CSP_DIRECTIVES, RENDERER_CSP_HEADER } from '../../../src/main/hosting/csp.js';

const indexHtml = readFileSync(path.resolve(import.meta.dirname, '../../../src/renderer/index.html'), 'utf8');

function metaPolicy(html: string): string[] {
  const match = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('index.html has no CSP meta tag');
  return match[1]
    .split(';')
    .map((directive) => directive.trim())
    .filter(Boolean);
}

describe('renderer CSP', () => {
  it('index.html carries exactly the shared directives', () => {
    expect(metaPolicy(indexHtml)).toEqual([...RENDERER_CSP_DIRECTIVES]);
  });

  it('the header adds frame-ancestors, which a meta tag cannot carry', () => {
    expect(RENDERER_CSP_HEADER).toBe(`${RENDERER_CSP_DIRECTIVES.join('; ')}; frame-ancestors 'none'`);
  });

  it('allows scripts from our own origin only', () => {
    expect(RENDERER_CSP_DIRECTIVES).toContain("script-src 'self'");
    expect(RENDERER_CSP_HEADER).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval)/);
  });
});
