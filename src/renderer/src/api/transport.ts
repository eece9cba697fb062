/**
 * The renderer's one API object. In Electron the preload provides it as `window.lr`; in the browser shell
 * there is no preload, so the same LrApi is carried over the shell's WebSocket. Nothing else in the
 * renderer knows which one it got.
 *
 * The browser shell's socket needs no token from the page: the browser sends the HttpOnly session cookie
 * it got when the one-time launch link was opened (the page's script never sees it).
 */
import type { LrApi } from '../../../shared/workstation/ipc-contract.js';
import { createWebSocketTransport } from './websocket-transport.js';

export function createTransport(win: Window): LrApi {
  if (win.lr) return win.lr;
  return createWebSocketTransport(`ws://${win.location.host}/ipc`);
}

export const lr: LrApi = createTransport(window);
