/**
 * The page the browser is opened on, so that the launch token never appears in a command line: a
 * process's argv is readable by every local user (`ps`), a file of mode 0600 in a folder of mode 0700 is
 * not. The page posts the token to the shell's /launch (a form post: not in the URL, the history or the
 * address bar either); the shell answers with the session cookie and the app. The file is removed as soon
 * as the token is used, and when the shell stops.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LaunchPage {
  /** file:///…/launch.html, what the browser is given. */
  readonly fileUrl: string;
  readonly filePath: string;
  /** Removes the file and its folder (idempotent). */
  remove(): void;
}

/**
 * `launchUrl` is `http://127.0.0.1:PORT/launch`, without the token. The folder goes under
 * $XDG_RUNTIME_DIR (the user's own tmpfs) when there is one, else the temp folder.
 */
export function writeLaunchPage(
  launchUrl: string,
  token: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LaunchPage {
  const base = env.XDG_RUNTIME_DIR || tmpdir();
  // mkdtemp makes the folder 0700.
  const dir = mkdtempSync(path.join(base, 'lr-workstation-launch-'));
  const filePath = path.join(dir, 'launch.html');
  writeFileSync(filePath, launchHtml(launchUrl, token), { mode: 0o600, flag: 'wx' });
  let removed = false;
  return {
    fileUrl: pathToFileURL(filePath).href,
    filePath,
    remove() {
      if (removed) return;
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchHtml(launchUrl: string, token: string): string {
  // Both values are ours (a loopback URL and base64url), escaped anyway.
  return `<!doctype html>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>LR workstation</title>
<form method="post" action="${escapeHtml(launchUrl)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Open the LR workstation</button>
</form>
<script>document.forms[0].submit();</script>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
