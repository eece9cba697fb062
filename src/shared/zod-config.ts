/**
 * Where the page's CSP forbids eval (the renderer, the preload), zod's JIT would probe `new Function` and
 * Chromium reports every probe as a CSP violation. So browser contexts use zod's interpreter; Node
 * processes keep the JIT. Imported first by the modules that build schemas for browser contexts
 * (ipc-contract.ts, the renderer's entry), so that it runs before any schema exists.
 */
import { z } from 'zod';

if ('document' in globalThis) z.config({ jitless: true });
