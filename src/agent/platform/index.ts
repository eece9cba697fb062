/** Picks the platform layer of the OS the agent runs on. */
import { createDarwinPlatform } from './darwin.js';
import { createLinuxPlatform } from './linux.js';
import type { PlatformLayer, PlatformOptions } from './types.js';
import { createWin32Platform } from './win32.js';

export function createPlatform(options: PlatformOptions, platform: NodeJS.Platform = process.platform): PlatformLayer {
  switch (platform) {
    case 'linux':
      return createLinuxPlatform(options);
    case 'darwin':
      return createDarwinPlatform(options);
    case 'win32':
      return createWin32Platform(options);
    default:
      throw new Error(`the agent does not run on ${platform} (linux, darwin or win32)`);
  }
}
