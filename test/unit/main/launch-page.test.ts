import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchHtml, writeLaunchPage } from '../../../src/main/browser-shell/launch-page.js';

const runtimeDir = mkdtempSync(path.join(tmpdir(), 'lr-launch-page-'));
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

describe('the browser shell launch page', () => {
  it('is a 0600 file in a 0700 folder under $XDG_RUNTIME_DIR, posting the token, removed on demand', () => {
    const page = writeLaunchPage('http://127.0.0.1:4000/launch', 'T0ken_-x', { XDG_RUNTIME_DIR: runtimeDir });
    expect(fileURLToPath(page.fileUrl)).toBe(page.filePath);
    expect(path.dirname(path.dirname(page.filePath))).toBe(runtimeDir);
    expect(statSync(page.filePath).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(page.filePath)).mode & 0o777).toBe(0o700);
    const html = readFileSync(page.filePath, 'utf8');
    expect(html).toContain('<form method="post" action="http://127.0.0.1:4000/launch">');
    expect(html).toContain('<input type="hidden" name="token" value="T0ken_-x">');
    // The file URL (what goes on the browser's command line) holds no secret.
    expect(page.fileUrl).not.toContain('T0ken');
    page.remove();
    page.remove();
    expect(existsSync(path.dirname(page.filePath))).toBe(false);
  });

  it('escapes what it puts in the page', () => {
    expect(launchHtml('http://x/"><script>', 'a&b')).toContain('action="http://x/&#34;&#62;&#60;script&#62;"');
    expect(launchHtml('http://x/', 'a&b')).toContain('value="a&#38;b"');
  });
});
