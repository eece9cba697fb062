/**
 * electron-vite builds three things:
 *   main     src/main/index.ts              → out/main/index.js          (Electron main process, ESM)
 *            src/main/browser-shell/cli.ts  → out/main/browser-shell.js  (the same services for a browser, plain Node)
 *   preload  src/preload/index.ts           → out/preload/index.cjs      (one bundled CommonJS file: sandboxed
 *                                                                          preloads can neither import ESM nor
 *                                                                          require node_modules at run time)
 *   renderer src/renderer/index.html        → out/renderer               (React)
 * Main's dependencies stay external (resolved from node_modules at run time); the renderer bundles its own.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: resolve(root, 'src/main/index.ts'),
          'browser-shell': resolve(root, 'src/main/browser-shell/cli.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          chunkFileNames: 'chunks/[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      // Bundle everything (zod included) into the one file: a sandboxed preload cannot require packages.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        output: {
          format: 'cjs',
          entryFileNames: '[name].cjs',
          // A single file: no chunks to load.
          codeSplitting: false,
        },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    plugins: [react(), devCspNonce()],
    server: { host: '127.0.0.1' },
    build: {
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: { input: resolve(root, 'src/renderer/index.html') },
    },
  },
});

/**
 * Development only. React Fast Refresh needs a small inline module script in index.html, which the CSP's
 * `script-src 'self'` rightly blocks. Instead of weakening the policy, the dev server gets a per-start nonce:
 * Vite stamps it on the scripts it injects (`html.cspNonce`), and this plugin adds the same nonce to the
 * meta tag's script-src. Production builds are untouched.
 */
function devCspNonce(): Plugin {
  const nonce = randomBytes(16).toString('base64');
  return {
    name: 'lr:dev-csp-nonce',
    apply: 'serve',
    config: () => ({ html: { cspNonce: nonce } }),
    transformIndexHtml: {
      order: 'post',
      handler: (html) => html.replace("script-src 'self'", `script-src 'self' 'nonce-${nonce}'`),
    },
  };
}
