/**
 * Files dragged onto the library page (a Playwright
 * DataTransfer) are staged, each shown with its description and parameters fields, and uploaded only on
 * Confirm; `library` in a console lists them; a basic user (a profile made with `lr-server user add`,
 * connected through "Connect to a service") does not get the library; an advanced user without the
 * library-manager permission sees the upload area greyed out with the reason, and dropping does nothing.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  openWorkstation,
  run,
  runCli,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

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
  it('(5, 13) stages dropped files with their fields and uploads them on Confirm; `library` lists them', async () => {
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-upload').waitFor();
    expect(await page.getByTestId('library-upload').getAttribute('data-disabled')).toBe('false');
    await dropFiles(page, [
      { name: 'triage.sh', content: '#!/bin/bash\necho triage "$@"\n' },
      { name: 'notes.txt', content: 'x'.repeat(700_000) }, // more than one upload chunk
    ]);
    // Staged, each with its fields; nothing is sent before Confirm.
    const triage = page.locator('[data-testid="staged-item"][data-name="triage.sh"]');
    await triage.waitFor();
    expect(await triage.textContent()).toContain('triage.sh');
    expect(await page.locator('[data-testid="staged-item"][data-name="notes.txt"]').textContent()).toContain(
      '683.6 KiB',
    );
    await triage.getByTestId('upload-description').fill('Collects triage data');
    await triage.getByTestId('upload-parameters-description').fill('-d DIR: output folder');
    await triage.getByTestId('upload-parameters-example').fill('-d /tmp/out');
    await page
      .locator('[data-testid="staged-item"][data-name="notes.txt"]')
      .getByTestId('upload-description')
      .fill('Analyst notes');
    await screenshot(page, 'workstation-13-library-staged');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await page.getByTestId('upload-item').count()).toBe(0);
    expect(await page.getByTestId('library-row-triage.sh').count()).toBe(0);
    await page.getByTestId('upload-confirm').click();
    await page
      .locator('[data-testid="upload-item"][data-name="triage.sh"][data-state="done"]')
      .waitFor({ timeout: 20_000 });
    await page
      .locator('[data-testid="upload-item"][data-name="notes.txt"][data-state="done"]')
      .waitFor({ timeout: 20_000 });
    const row = page.getByTestId('library-row-triage.sh');
    await row.waitFor();
    expect(await row.textContent()).toContain('Collects triage data');
    expect(await row.textContent()).toContain('-d DIR: output folder');
    expect(await page.getByTestId('library-row-notes.txt').textContent()).toContain('683.6 KiB');
    expect(await page.getByTestId('library-row-notes.txt').textContent()).toContain('Analyst notes');
    expect(await page.getByTestId('upload-staged').count()).toBe(0);
    await screenshot(page, 'workstation-5-library-uploaded');

    // Staged then cancelled: nothing sent.
    await dropFiles(page, [{ name: 'dropped-then-cancelled.sh', content: 'echo no\n' }]);
    await page.locator('[data-testid="staged-item"][data-name="dropped-then-cancelled.sh"]').waitFor();
    await page.getByTestId('upload-cancel').click();
    expect(await page.getByTestId('upload-staged').count()).toBe(0);

    // Dropping the same name again: the conflict is shown before anything is sent; Skip uploads nothing.
    await dropFiles(page, [{ name: 'triage.sh', content: 'echo again\n' }]);
    await page.locator('[data-testid="staged-item"][data-name="triage.sh"] [data-testid="upload-conflict"]').waitFor();
    expect(await page.getByTestId('upload-confirm').isDisabled()).toBe(true);
    await page.getByTestId('upload-conflict-skip').click();
    await page.getByTestId('upload-confirm').click();
    await expect.poll(() => page.getByTestId('upload-staged').count()).toBe(0);

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

  it('(5, 13) a basic user, connected with a profile file, gets no upload area; an advanced user without the permission sees it greyed, with the reason', async () => {
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
    expect(await page.getByTestId('library-row-dropped-then-cancelled.sh').count()).toBe(0);
    // The upload area is there, greyed, with the reason; dropping onto it stages nothing.
    expect(await page.getByTestId('library-upload').getAttribute('data-disabled')).toBe('true');
    expect(await page.getByTestId('library-upload-reason').textContent()).toContain('library-manager permission');
    expect(await page.getByTestId('upload-input').isDisabled()).toBe(true);
    await dropFiles(page, [{ name: 'sneaky.sh', content: 'echo sneaky\n' }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.getByTestId('staged-item').count()).toBe(0);
    expect(await page.getByTestId('upload-confirm').count()).toBe(0);
    expect(await page.getByTestId('library-delete').count()).toBe(0);
    await screenshot(page, 'workstation-13-library-greyed');

    // A broken profile file is refused in one line and the connection stays as it was.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(path.join(ws.dataDir, 'nope.json'));
    await page.getByTestId('profile-connect').click();
    await expect.poll(() => page.getByTestId('connect-error').textContent()).toContain('no profile file');
    expect(await page.getByTestId('workspace-user').textContent()).toContain('carol');

    // Back to standalone: admin again.
    await page.getByTestId('use-standalone').click();
    await expect
      .poll(() => page.getByTestId('workspace-user').textContent(), { timeout: 15_000 })
      .toContain('admin (admin');
  });
});
