/**
 * Issue #6 acceptance (5): a file dragged onto the library page (a Playwright DataTransfer) is uploaded
 * with its description; `library` in a console lists it; a basic user (a profile made with
 * `lr-server user add`, connected through "Connect to a service") does not get the upload area, nor does an
 * advanced user without the library-manager permission.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import { ensureWorkstationBuilt, focusConsole, HOST, openConsoleFor, openWorkstation, run, runCli, startWorkstation, type Workstation } from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
});

async function dropFiles(p: Page, files: { name: string; content: string }[]): Promise<void> {
  const dataTransfer = await p.evaluateHandle(
    `(() => { const dt = new DataTransfer(); for (const f of ${JSON.stringify(files)}) dt.items.add(new File([f.content], f.name, { type: 'text/plain' })); return dt; })()`,
  );
  await p.getByTestId('library-dropzone').dispatchEvent('dragover', { dataTransfer });
  await p.getByTestId('library-dropzone').dispatchEvent('drop', { dataTransfer });
}

async function connectWith(p: Page, profile: string, expectedUser: string): Promise<void> {
  await p.getByTestId('nav-settings').click();
  await p.getByTestId('profile-path').fill(profile);
  await p.getByTestId('profile-connect').click();
  await expect.poll(() => p.getByTestId('workspace-user').textContent(), { timeout: 15_000 }).toContain(expectedUser);
}

describe('the library page', () => {
  it('(5) uploads dropped files with their description; `library` lists them', async () => {
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-upload').waitFor();
    await page.getByTestId('upload-description').fill('Collects triage data');
    await page.getByTestId('upload-parameters-description').fill('-d DIR: output folder');
    await page.getByTestId('upload-parameters-example').fill('-d /tmp/out');
    await dropFiles(page, [
      { name: 'triage.sh', content: '#!/bin/bash\necho triage "$@"\n' },
      { name: 'notes.txt', content: 'x'.repeat(700_000) }, // more than one upload chunk
    ]);
    await page.locator('[data-testid="upload-item"][data-name="triage.sh"][data-state="done"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="upload-item"][data-name="notes.txt"][data-state="done"]').waitFor({ timeout: 20_000 });
    const row = page.getByTestId('library-row-triage.sh');
    await row.waitFor();
    expect(await row.textContent()).toContain('Collects triage data');
    expect(await row.textContent()).toContain('-d DIR: output folder');
    expect(await page.getByTestId('library-row-notes.txt').textContent()).toContain('683.6 KiB');
    await screenshot(page, 'workstation-5-library-uploaded');

    // Dropping the same name again without "overwrite" is refused, in one line.
    await dropFiles(page, [{ name: 'triage.sh', content: 'echo again\n' }]);
    const refused = page.locator('[data-testid="upload-item"][data-name="triage.sh"][data-state="failed"]');
    await refused.waitFor({ timeout: 20_000 });
    expect(await refused.textContent()).toMatch(/exists|overwrite/i);

    const id = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    const listed = await run(page, id, 'library');
    expect(listed).toContain('triage.sh');
    expect(listed).toContain('Collects triage data');

    // Delete with confirmation.
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-row-notes.txt').getByTestId('library-delete').click();
    await page.getByTestId('library-delete-dialog-confirm').click();
    await page.getByTestId('library-row-notes.txt').waitFor({ state: 'detached' });
  });

  it('(5) a basic user, connected with a profile file, gets no upload area; nor an advanced user without the permission', async () => {
    const basic = path.join(ws.dataDir, 'bob.profile.json');
    runCli('lr-server', ['user', 'add', 'bob', '--data', ws.serviceDir, '--role', 'basic', '--out', basic]);
    await connectWith(page, basic, 'bob (basic)');
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-refused').waitFor();
    expect(await page.getByTestId('library-upload').count()).toBe(0);
    expect(await page.getByTestId('library-dropzone').count()).toBe(0);
    await screenshot(page, 'workstation-5-library-basic-user');

    const advanced = path.join(ws.dataDir, 'carol.profile.json');
    runCli('lr-server', ['user', 'add', 'carol', '--data', ws.serviceDir, '--role', 'advanced', '--out', advanced]);
    await connectWith(page, advanced, 'carol (advanced)');
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-table').waitFor();
    expect(await page.getByTestId('library-row-triage.sh').count()).toBe(1);
    expect(await page.getByTestId('library-upload').count()).toBe(0);
    expect(await page.getByTestId('library-delete').count()).toBe(0);

    // A broken profile file is refused in one line and the connection stays as it was.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(path.join(ws.dataDir, 'nope.json'));
    await page.getByTestId('profile-connect').click();
    await expect.poll(() => page.getByTestId('connect-error').textContent()).toContain('no profile file');
    expect(await page.getByTestId('workspace-user').textContent()).toContain('carol');

    // Back to standalone: admin again.
    await page.getByTestId('use-standalone').click();
    await expect.poll(() => page.getByTestId('workspace-user').textContent(), { timeout: 15_000 }).toContain('admin (admin');
  });
});
