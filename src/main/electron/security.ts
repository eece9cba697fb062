/**
 * App-wide hardening that applies to every WebContents, including ones we did not create on purpose:
 * no navigation away from the app, no new windows, no <webview>, and every permission request denied
 * (the workstation needs none: no camera, notifications, geolocation, USB, ...).
 */
import { app, session, type WebContents } from 'electron';

export function hardenApp(): void {
  // Every renderer sandboxed, whatever its webPreferences say.
  app.enableSandbox();
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
}

/** After `ready`: the default session is the only one we use. */
export function denyAllPermissions(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
}

function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
