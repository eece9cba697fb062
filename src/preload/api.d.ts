/**
 * The type of `window.lr`, the API object the preload exposes (src/preload/index.ts). Included by the
 * renderer's tsconfig only; the renderer reaches it through src/renderer/src/api/transport.ts.
 *
 * Optional: in the browser shell there is no preload, and the renderer falls back to the WebSocket
 * transport, which implements the same LrApi.
 */
import type { LrApi } from '../shared/workstation/ipc-contract.js';

declare global {
  interface Window {
    readonly lr?: LrApi;
  }
}

export {};
