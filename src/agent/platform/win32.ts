/** The Windows platform layer: not implemented yet, so every capability says so (see unsupported.ts). */
import type { PlatformLayer, PlatformOptions } from './types.js';
import { createUnsupportedPlatform } from './unsupported.js';

export function createWin32Platform(options: PlatformOptions): PlatformLayer {
  return createUnsupportedPlatform('win32', options);
}
