/**
 * The renderer's Content Security Policy. src/renderer/index.html carries the same directives in a meta
 * tag (test/unit/main/csp.test.ts keeps the two equal); the HTTP header adds `frame-ancestors`, which a
 * meta tag cannot carry.
 *
 * Why `style-src 'unsafe-inline'`: xterm.js (the consoles) injects <style> elements at runtime, and Vite's
 * dev server delivers CSS as <style> elements. Styles cannot run script; scripts stay 'self' only.
 * Why `ws://127.0.0.1:*`: the browser shell carries the API over a WebSocket on loopback, and the dev
 * server's hot reload uses one too.
 */
export const RENDERER_CSP_DIRECTIVES: readonly string[] = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' ws://127.0.0.1:*",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
];

export const RENDERER_CSP_HEADER = [...RENDERER_CSP_DIRECTIVES, "frame-ancestors 'none'"].join('; ');

/** Headers sent with every renderer file, by the browser shell and by Electron's lr-app: protocol. */
export const RENDERER_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': RENDERER_CSP_HEADER,
  'X-Content-Type-Options': 'nosniff',
  // A printed launch URL carries the browser shell's one-time token: never send a URL along.
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};
