/** The Windows platform layer (see windows/index.ts). */
export { createWindowsPlatform as createWin32Platform } from './windows/index.js';
