/**
 * Electron's sender check, written against the few properties it reads so it can be tested without
 * Electron (src/main/electron/ipc.ts passes the real IpcMainInvokeEvent). A call is trusted when:
 *   - it comes from a WebContents we registered (our own windows, removed again when destroyed),
 *   - from that WebContents' main frame (no iframes),
 *   - whose document has our app origin (lr-app://workstation, or the dev server's origin in development).
 */

export interface FrameLike {
  readonly url: string;
  readonly parent: FrameLike | null;
}

export interface InvokeEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame: FrameLike | null;
}

/**
 * `scheme://host[:port]`, lowercased; undefined for URLs without a host (about:blank, data:, ...).
 * Not `URL.origin`: Node reports the origin of non-special schemes such as lr-app: as "null".
 */
export function originOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.host === '') return undefined;
  return `${parsed.protocol}//${parsed.host}`.toLowerCase();
}

export class TrustedSenders {
  private readonly ids = new Set<number>();
  private readonly appOrigin: string;

  constructor(appOrigin: string) {
    const origin = originOf(appOrigin);
    if (!origin) throw new Error(`not an origin: ${appOrigin}`);
    this.appOrigin = origin;
  }

  add(webContentsId: number): void {
    this.ids.add(webContentsId);
  }

  remove(webContentsId: number): void {
    this.ids.delete(webContentsId);
  }

  isTrusted(event: InvokeEventLike): boolean {
    if (!this.ids.has(event.sender.id)) return false;
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    return originOf(frame.url) === this.appOrigin;
  }
}
