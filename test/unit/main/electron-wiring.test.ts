/**
 * Electron cannot run on our machines, so the main process's Electron wiring is checked against a fake
 * `electron` module: hardening flags, navigation/window/permission denials, the lr-app: protocol, and IPC
 * registration through the validated wrapper with the real sender check.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../../src/shared/workstation/ipc-contract.js';

type Listener = (...args: unknown[]) => unknown;

/** Just enough of WebContents: an id, events, send. */
class FakeWebContents {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly listeners = new Map<string, Listener[]>();
  readonly sent: unknown[][] = [];
  windowOpenHandler: (() => unknown) | undefined;
  on(name: string, listener: Listener): this {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return this;
  }
  once(name: string, listener: Listener): this {
    return this.on(name, listener);
  }
  emit(name: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(name) ?? []) listener(...args);
  }
  send(...args: unknown[]): void {
    this.sent.push(args);
  }
  isDestroyed(): boolean {
    return false;
  }
  setWindowOpenHandler(handler: () => unknown): void {
    this.windowOpenHandler = handler;
  }
}

const fake = vi.hoisted(() => ({
  appListeners: new Map<string, (...args: unknown[]) => unknown>(),
  schemes: [] as unknown[],
  protocolHandlers: new Map<string, (request: Request) => Promise<Response>>(),
  ipcHandlers: new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>(),
  windows: [] as { options: { webPreferences: Record<string, unknown> }; url?: string; webContents: unknown }[],
  permissionRequest: undefined as
    undefined | ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void),
  permissionCheck: undefined as undefined | (() => boolean),
  sandboxEnabled: false,
  userData: '',
  ready: undefined as undefined | (() => void),
}));

vi.mock('electron', () => {
  const readyPromise = new Promise<void>((resolve) => (fake.ready = resolve));
  class BrowserWindow {
    readonly webContents = new FakeWebContents();
    private readonly record: (typeof fake.windows)[number];
    constructor(options: { webPreferences: Record<string, unknown> }) {
      this.record = { options, webContents: this.webContents };
      fake.windows.push(this.record);
    }
    static getAllWindows(): unknown[] {
      return fake.windows;
    }
    once(): void {}
    show(): void {}
    loadURL(url: string): Promise<void> {
      this.record.url = url;
      return Promise.resolve();
    }
  }
  return {
    app: {
      isPackaged: false,
      enableSandbox: () => (fake.sandboxEnabled = true),
      on: (name: string, listener: (...args: unknown[]) => unknown) => fake.appListeners.set(name, listener),
      whenReady: () => readyPromise,
      getVersion: () => '0.1.0-test',
      getPath: () => fake.userData,
      getAppPath: () => '/fake/app',
      quit: () => undefined,
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => fake.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        fake.protocolHandlers.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: typeof fake.permissionRequest) => (fake.permissionRequest = handler),
        setPermissionCheckHandler: (handler: typeof fake.permissionCheck) => (fake.permissionCheck = handler),
        setDevicePermissionHandler: () => undefined,
      },
    },
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, payload: unknown) => Promise<unknown>) =>
        fake.ipcHandlers.set(channel, handler),
    },
    BrowserWindow,
    dialog: { showSaveDialog: () => Promise.resolve({ canceled: true }) },
  };
});

// A fake out/ tree: out/main (where index.js would be), out/renderer with an index.html.
const outDir = mkdtempSync(path.join(tmpdir(), 'lr-out-'));
mkdirSync(path.join(outDir, 'main'));
mkdirSync(path.join(outDir, 'renderer'));
writeFileSync(path.join(outDir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
writeFileSync(path.join(outDir, 'secret.txt'), 'secret');

beforeAll(async () => {
  delete process.env.ELECTRON_RENDERER_URL;
  delete process.env.LR_DATA_DIR;
  // The app starts its standalone mode (embedded service + agent) in Electron's userData folder.
  fake.userData = path.join(outDir, 'userData');
  const { runElectronApp } = await import('../../../src/main/electron/app.js');
  runElectronApp({ outMainDir: path.join(outDir, 'main') });
  fake.ready?.();
  await vi.waitFor(() => expect(fake.windows).toHaveLength(1));
});

afterAll(async () => {
  // before-quit stops the services (embedded service and agent), then quits.
  await new Promise<void>((resolve) => {
    fake.appListeners.get('before-quit')?.({ preventDefault: () => undefined });
    setTimeout(resolve, 1_000);
  });
  rmSync(outDir, { recursive: true, force: true });
});

function mainWindow() {
  const window = fake.windows[0];
  if (!window) throw new Error('no window');
  return { ...window, webContents: window.webContents as FakeWebContents };
}

describe('Electron main process wiring (fake electron)', () => {
  it('sandboxes every renderer and registers lr-app: as a standard, secure scheme before ready', () => {
    expect(fake.sandboxEnabled).toBe(true);
    expect(fake.schemes).toEqual([
      { scheme: 'lr-app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
    ]);
  });

  it('opens one hardened window on lr-app://workstation with the bundled CommonJS preload', () => {
    const { options, url } = mainWindow();
    expect(url).toBe('lr-app://workstation/index.html');
    expect(options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: path.join(outDir, 'preload', 'index.cjs'),
    });
  });

  it('denies navigation, new windows, webviews and every permission', () => {
    const contents = new FakeWebContents();
    fake.appListeners.get('web-contents-created')?.({}, contents);
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      contents.emit(name, event);
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
    expect(contents.windowOpenHandler?.()).toEqual({ action: 'deny' });

    const callback = vi.fn();
    fake.permissionRequest?.({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect(fake.permissionCheck?.()).toBe(false);
  });

  it('serves the renderer on lr-app: with the CSP header and refuses anything outside it', async () => {
    const handler = fake.protocolHandlers.get('lr-app');
    if (!handler) throw new Error('lr-app: not handled');
    const index = await handler(new Request('lr-app://workstation/index.html'));
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await index.text()).toContain('<title>t</title>');
    expect((await handler(new Request('lr-app://workstation/missing.js'))).status).toBe(404);
    expect((await handler(new Request('lr-app://elsewhere/index.html'))).status).toBe(404);
  });

  it('registers every contract channel, validating sender and payload before the handler', async () => {
    expect([...fake.ipcHandlers.keys()].sort()).toEqual([...ipcChannels].sort());
    const echo = fake.ipcHandlers.get('lr:app.echo');
    if (!echo) throw new Error('lr:app.echo not registered');
    const { webContents } = mainWindow();
    const fromApp = {
      sender: { id: webContents.id },
      senderFrame: { url: 'lr-app://workstation/index.html', parent: null },
    };

    expect(await echo(fromApp, { text: 'hi' })).toEqual({ ok: true, result: { text: 'hi', handled: 1 } });
    expect(await echo(fromApp, { text: 42 })).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });

    const fromIframe = { ...fromApp, senderFrame: { url: 'lr-app://workstation/x.html', parent: fromApp.senderFrame } };
    const fromElsewhere = { ...fromApp, senderFrame: { url: 'https://evil.example/', parent: null } };
    const fromOtherContents = { ...fromApp, sender: { id: 9999 } };
    for (const event of [fromIframe, fromElsewhere, fromOtherContents]) {
      expect(await echo(event, { text: 'hi' })).toMatchObject({ ok: false, error: { code: 'untrusted-sender' } });
    }
    // Only the first call above reached the service.
    expect(await echo(fromApp, { text: 'again' })).toEqual({ ok: true, result: { text: 'again', handled: 2 } });
  });

  it('greets the window on load and forgets it once destroyed', async () => {
    const { webContents } = mainWindow();
    webContents.emit('did-finish-load');
    expect(webContents.sent).toContainEqual(['lr:event', { type: 'hello', mode: 'electron' }]);

    webContents.emit('destroyed');
    const info = fake.ipcHandlers.get('lr:app.info');
    const event = {
      sender: { id: webContents.id },
      senderFrame: { url: 'lr-app://workstation/index.html', parent: null },
    };
    expect(await info?.(event, {})).toMatchObject({ ok: false, error: { code: 'untrusted-sender' } });
  });
});
