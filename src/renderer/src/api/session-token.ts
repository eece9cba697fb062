/**
 * The browser shell's token arrives in the page URL (`/?token=...`). It is taken out of the address bar at
 * once (history.replaceState), so it does not linger in the visible URL, bookmarks or screen shares, and is
 * kept in sessionStorage (this tab only) so that a reload still works.
 */
const STORAGE_KEY = 'lr.browserShellToken';

export function takeSessionToken(win: Window): string | undefined {
  const params = new URLSearchParams(win.location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    try {
      win.sessionStorage.setItem(STORAGE_KEY, fromUrl);
    } catch {
      // Storage disabled: the token still works until the page is reloaded.
    }
    params.delete('token');
    const search = params.toString();
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${search ? `?${search}` : ''}${win.location.hash}`);
    return fromUrl;
  }
  try {
    return win.sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}
