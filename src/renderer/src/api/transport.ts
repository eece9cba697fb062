/**
 * The renderer's one API object. In Electron the preload provides it as `window.lr`; in the browser shell
 * there is no preload, so the same LrApi is carried over the shell's WebSocket. Nothing else in the
 * renderer knows which one it got.
 */
import type { LrApi } from '../../../shared/ipc-contract.js';
import { takeSessionToken } from './session-token.js';
import { createWebSocketTransport } from './websocket-transport.js';

export function createTransport(win: Window): LrApi {
  if (win.lr) return win.lr;
  const token = takeSessionToken(win);
  const socketUrl = token ? `ws://${win.location.host}/ipc?token=${encodeURIComponent(token)}` : undefined;
  return createWebSocketTransport(socketUrl);
}

/** Created at start-up, before React renders, so the token leaves the address bar immediately. */
export const lr: LrApi = createTransport(window);
