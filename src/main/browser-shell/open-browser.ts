/**
 * Opening the browser shell's launch page in the system's Chromium/Chrome, as an app window, when there is a screen.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** In preference order. */
const BROWSER_COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

export function hasDisplay(env: Env): boolean {
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Absolute path of the first browser found on PATH, or undefined. */
export function findBrowser(env: Env): string | undefined {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  for (const command of BROWSER_COMMANDS) {
    for (const dir of dirs) {
      const candidate = path.join(dir, command);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Starts the browser detached, so it neither blocks nor dies with this process. Its command line is
 * public (`ps`): `url` must hold no secret (the shell passes its launch page's file URL).
 */
export function openAppWindow(browser: string, url: string): void {
  const child = spawn(browser, [`--app=${url}`], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
}
