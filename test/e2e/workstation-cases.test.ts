/**
 * Against the browser shell as a real process (standalone mode: embedded
 * service + this machine's agent), in Debian's Chromium:
 *   1. a getfile in a console puts the file into the evidence store under its SHA-256, in the active case;
 *      the viewer shows its hashes and a hex preview;
 *   2. notes autosave: the app process is SIGKILLed mid-typing and restarted on the same data folder: at
 *      most the last second of typing is lost; a note linked to a command opens that command's transcript;
 *   3. a case exported as a zip imports into a fresh workstation, every hash verifying; one byte changed in
 *      an evidence member is reported with that member's name, and nothing is added;
 *   4. with the saved service stopped, the app starts "unreachable" and cases, notes, evidence and search
 *      all work.
 * The tests share one workstation (A) in order; (3) starts a second one (B). Screenshots in test-results/.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caseIdByTitle,
  createCase,
  gotoCases,
  hexdumpLine,
  openCase,
  openPage,
  zipMemberData,
  zipMemberNames,
} from './cases-helpers.js';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  run,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

const CASE_ONE = 'Intrusion on web01';
/** A distinctive word: the name of a file that `dir` lists, found later by search in the transcript. */
const NEEDLE = 'zebrafinch';

let browser: Browser;
let ws: Workstation;
let wsB: Workstation | undefined;
let page: Page;
let pageB: Page | undefined;
let fixture: string;
let blob: Buffer;
let blobPath: string;
let blobSha: string;
let caseOne = '';
let sessionId: string;
/** From (2): the `dir` command's id, its transcript entry, the note linked to it, the note typed into. */
let dirCommandId: string;
let dirTranscriptId: string;
let linkedNoteId: string;
let typedNoteId: string;

const sha = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Known bytes: a text header (visible in the text and strings previews), then pseudo-random bytes. */
function makeBlob(size: number): Buffer {
  const parts = [Buffer.from('LR-EVIDENCE sample header\nsecond line of text\n')];
  for (let i = 0; Buffer.concat(parts).length < size; i++)
    parts.push(createHash('sha256').update(`block ${i}`).digest());
  return Buffer.concat(parts).subarray(0, size);
}

async function previewFirstLine(p: Page, offset: number): Promise<string> {
  const pre = p.getByTestId('evidence-preview');
  await expect.poll(() => pre.getAttribute('data-offset')).toBe(String(offset));
  return ((await pre.textContent()) ?? '').split('\n')[0] ?? '';
}

/** Restarts workstation A on its data folder (the process must be gone) and opens a new page on it. */
async function restartA(options: { deviceOnline: boolean }): Promise<void> {
  await page.close().catch(() => undefined);
  ws = await startWorkstation(ws.dataDir);
  page = await openPage(browser, ws, options);
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-cases-e2e-'));
  blob = makeBlob(9_000);
  blobPath = path.join(fixture, 'dropper-sample.bin');
  writeFileSync(blobPath, blob);
  blobSha = sha('sha256', blob);
  writeFileSync(path.join(fixture, `${NEEDLE}-qx7.txt`), 'x');
  browser = await launchChromium();
  ws = await startWorkstation();
  page = await openPage(browser, ws, { deviceOnline: true });
});

afterAll(async () => {
  await pageB?.close().catch(() => undefined);
  await page?.close().catch(() => undefined);
  await browser?.close();
  await wsB?.cleanup();
  await ws?.cleanup();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

describe('workstation cases and evidence', () => {
  it('(1) a getfile in a console lands in the evidence store of the active case; hashes and hex preview', async () => {
    caseOne = await createCase(page, CASE_ONE);
    expect(await page.getByTestId('case-detail-active').textContent()).toBe('Active');

    sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    const out = await run(page, sessionId, `getfile ${blobPath}`);
    expect(out).toContain(`sha256 ${blobSha}`);
    expect(out).toMatch(/evidence/);

    // On disk: content-addressed, read-only.
    const stored = path.join(ws.dataDir, 'cases', 'evidence', blobSha.slice(0, 2), blobSha);
    expect(readFileSync(stored).equals(blob)).toBe(true);
    expect(statSync(stored).mode & 0o777).toBe(0o444);

    await openCase(page, caseOne, 'evidence');
    const row = page.getByTestId(`evidence-row-${blobSha}`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain('dropper-sample.bin');
    expect(await row.textContent()).toContain(blobPath);
    await row.click();
    await page.getByTestId('evidence-viewer').waitFor();
    await expect.poll(() => page.getByTestId('evidence-sha256').textContent()).toBe(blobSha);
    expect(await page.getByTestId('evidence-sha1').textContent()).toBe(sha('sha1', blob));
    expect(await page.getByTestId('evidence-md5').textContent()).toBe(sha('md5', blob));
    expect(await page.getByTestId('evidence-original-path').textContent()).toBe(blobPath);
    expect(await page.getByTestId('evidence-device').textContent()).toContain(HOST);
    expect(await page.getByTestId('evidence-command-id').textContent()).toMatch(/\S{6,}/);

    // Text preview first (the default), then hex: the first line is the file's first 16 bytes.
    await expect.poll(() => page.getByTestId('evidence-preview').textContent()).toContain('LR-EVIDENCE sample header');
    await page.getByTestId('evidence-preview-mode-hex').click();
    await expect.poll(() => page.getByTestId('evidence-preview').getAttribute('data-mode')).toBe('hex');
    expect(await previewFirstLine(page, 0)).toBe(hexdumpLine(blob, 0));
    // Next page (4 KiB pages), and "go to offset".
    await page.getByTestId('evidence-preview-next').click();
    expect(await previewFirstLine(page, 4096)).toBe(hexdumpLine(blob.subarray(4096), 4096));
    await page.getByTestId('evidence-preview-prev').click();
    expect(await previewFirstLine(page, 0)).toBe(hexdumpLine(blob, 0));
    await page.getByTestId('evidence-preview-offset').fill('0x100');
    await page.getByTestId('evidence-preview-go').click();
    expect(await previewFirstLine(page, 256)).toBe(hexdumpLine(blob.subarray(256), 256));
    await page.getByTestId('evidence-preview-mode-strings').click();
    await expect.poll(() => page.getByTestId('evidence-preview').getAttribute('data-mode')).toBe('strings');

    // Re-verify: the stored file still hashes to its SHA-256.
    await page.getByTestId('evidence-verify').click();
    await expect
      .poll(() => page.getByTestId('evidence-integrity').getAttribute('data-state'), { timeout: 15_000 })
      .toBe('ok');
    await screenshot(page, 'cases-1-evidence-viewer');
  });

  it('(2) notes autosave survives a SIGKILL mid-typing; a note linked to a command opens its transcript', async () => {
    // A note typed into for ~2 s; the app process is killed right after the last keystroke.
    caseOne ||= await createCase(page, CASE_ONE); // (when run alone)
    await openCase(page, caseOne, 'notes');
    await page.getByTestId('note-new').click();
    await page.getByTestId('note-editor').waitFor();
    typedNoteId = (await page.getByTestId('note-editor').getAttribute('data-note-id')) ?? '';
    await page.getByTestId('note-title').fill('Autosave');
    await page.getByTestId('note-body').click();
    const text = 'Lateral movement via psexec from 10.0.0.7; persistence in cron. '.repeat(10);
    const typedAt: number[] = [];
    const start = Date.now();
    for (let i = 0; i < text.length && Date.now() - start < 2_200; i++) {
      await page.keyboard.type(text[i] as string);
      typedAt.push(Date.now());
      await sleep(15);
    }
    const killedAt = Date.now();
    ws.child.kill('SIGKILL');
    await ws.stop();
    const typed = text.slice(0, typedAt.length);
    const mustKeep = typedAt.filter((t) => t <= killedAt - 1_000).length;
    expect(mustKeep).toBeGreaterThan(20);

    await restartA({ deviceOnline: true });
    await openCase(page, caseOne, 'notes');
    await page.getByTestId(`note-item-${typedNoteId}`).click();
    await expect.poll(() => page.getByTestId('note-editor').getAttribute('data-note-id')).toBe(typedNoteId);
    const saved = await page.getByTestId('note-body').inputValue();
    expect(typed.startsWith(saved), `saved text is not a prefix of the typed text: ${JSON.stringify(saved)}`).toBe(
      true,
    );
    expect(
      saved.length,
      `${typed.length} typed, ${mustKeep} typed up to 1 s before the kill, ${saved.length} saved`,
    ).toBeGreaterThanOrEqual(mustKeep);
    expect(await page.getByTestId('note-title').inputValue()).toBe('Autosave');

    // A command in a console (a new session: the old one died with the app), its transcript entry, and
    // "Add note" from it.
    sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    const listing = await run(page, sessionId, `dir ${fixture}`);
    expect(listing).toContain(`${NEEDLE}-qx7.txt`);
    await openCase(page, caseOne, 'transcripts');
    const dirRow = page.locator('[data-testid="transcript-row"]').filter({ hasText: `dir ${fixture}` });
    await dirRow.first().waitFor({ timeout: 15_000 });
    await dirRow.first().click();
    const viewer = page.getByTestId('transcript-viewer');
    await expect.poll(() => page.getByTestId('transcript-output').textContent()).toContain(`${NEEDLE}-qx7.txt`);
    dirTranscriptId = (await viewer.getAttribute('data-id')) ?? '';
    dirCommandId = ((await page.getByTestId('transcript-command-id').textContent()) ?? '').trim();
    expect(dirCommandId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await dirRow.first().getAttribute('data-command-id')).toBe(dirCommandId);

    await page.getByTestId('transcript-add-note').click();
    const linkedEditor = page.getByTestId('note-editor');
    await linkedEditor.waitFor();
    linkedNoteId = (await linkedEditor.getAttribute('data-note-id')) ?? '';
    expect(linkedNoteId).not.toBe(typedNoteId);
    expect(await page.getByTestId('note-command-id').inputValue()).toBe(dirCommandId);
    await page.getByTestId('note-body').fill(`The folder holds ${NEEDLE}-qx7.txt: planted.`);
    await expect.poll(() => page.getByTestId('note-save-state').getAttribute('data-state')).toBe('saved');

    // Reopened (a reload of the page), the linked note opens the command's transcript with its output.
    await page.reload();
    await page.locator('body[data-app-state="loaded"]').waitFor();
    await openCase(page, caseOne, 'notes');
    await page.getByTestId(`note-item-${linkedNoteId}`).click();
    await expect.poll(() => page.getByTestId('note-command-id').inputValue()).toBe(dirCommandId);
    expect(await page.getByTestId('note-body').inputValue()).toContain('planted');
    await page.getByTestId('note-open-command').click();
    await expect.poll(() => page.getByTestId('transcript-viewer').getAttribute('data-id')).toBe(dirTranscriptId);
    await expect.poll(() => page.getByTestId('transcript-output').textContent()).toContain(`${NEEDLE}-qx7.txt`);
    expect(await page.getByTestId('transcript-line').textContent()).toBe(`dir ${fixture}`);
    await screenshot(page, 'cases-2-linked-transcript');
  });

  it('(3) export, import into a fresh workstation: hashes verify; one changed byte is reported by member', async () => {
    await openCase(page, caseOne, 'evidence');
    await page.getByTestId(`evidence-row-${blobSha}`).waitFor();
    const hashesA = await page
      .locator('[data-testid^="evidence-row-"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sha256')).sort());
    await page.getByTestId('cases-export').click();
    const result = page.getByTestId('cases-export-result');
    await result.waitFor({ timeout: 30_000 });
    const zipPath = (await result.getAttribute('data-path')) ?? '';
    expect(existsSync(zipPath)).toBe(true);
    expect(Number(await result.getAttribute('data-bytes'))).toBe(statSync(zipPath).size);
    const zip = readFileSync(zipPath);
    const members = zipMemberNames(zip);
    expect(members).toContain('manifest.json');
    expect(members).toContain(`evidence/${blobSha}`);

    // One byte flipped inside the evidence member's data.
    const tamperedPath = path.join(fixture, 'tampered-case.zip');
    copyFileSync(zipPath, tamperedPath);
    const tampered = readFileSync(tamperedPath);
    const member = zipMemberData(tampered, `evidence/${blobSha}`);
    const at = member.start + Math.floor(member.length / 2);
    tampered[at] = (tampered[at] as number) ^ 0x01;
    writeFileSync(tamperedPath, tampered);

    wsB = await startWorkstation();
    pageB = await openPage(browser, wsB, { deviceOnline: false });
    await gotoCases(pageB);
    const casesBefore = await pageB.locator('[data-testid^="case-row-"]').count();

    // The tampered zip first: refused, the member named, nothing added.
    await pageB.getByTestId('cases-import-input').setInputFiles(tamperedPath);
    await expect
      .poll(() => pageB?.getByTestId('import-result').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('rejected');
    const problems = await pageB
      .getByTestId('import-problem')
      .evaluateAll((items) => items.map((li) => ({ file: li.getAttribute('data-file'), text: li.textContent })));
    expect(problems.map((p) => p.file)).toContain(`evidence/${blobSha}`);
    expect(problems.find((p) => p.file === `evidence/${blobSha}`)?.text).toMatch(
      new RegExp(`^evidence/${blobSha}: .+`),
    );
    await screenshot(pageB, 'cases-3-import-rejected');
    // The list as main has it now (the page reloads it when it opens again).
    await pageB.getByTestId('nav-devices').click();
    await gotoCases(pageB);
    await pageB.locator('[data-testid="case-list"]').waitFor();
    await sleep(300);
    expect(await pageB.locator('[data-testid^="case-row-"]').count()).toBe(casesBefore);

    // The real one: imported, the same hashes, re-verified.
    await pageB.getByTestId('cases-import-input').setInputFiles(zipPath);
    await expect
      .poll(() => pageB?.getByTestId('import-result').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('ok');
    const importedId = await caseIdByTitle(pageB, CASE_ONE);
    expect(await pageB.getByTestId('import-result').getAttribute('data-case-id')).toBe(importedId);
    await openCase(pageB, importedId, 'evidence');
    await pageB.getByTestId(`evidence-row-${blobSha}`).waitFor();
    const hashesB = await pageB
      .locator('[data-testid^="evidence-row-"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sha256')).sort());
    expect(hashesB).toEqual(hashesA);
    await pageB.getByTestId(`evidence-row-${blobSha}`).click();
    await pageB.getByTestId('evidence-verify').click();
    await expect
      .poll(() => pageB?.getByTestId('evidence-integrity').getAttribute('data-state'), { timeout: 15_000 })
      .toBe('ok');
    expect(await pageB.getByTestId('evidence-sha1').textContent()).toBe(sha('sha1', blob));
    const storedB = path.join(wsB.dataDir, 'cases', 'evidence', blobSha.slice(0, 2), blobSha);
    expect(readFileSync(storedB).equals(blob)).toBe(true);
    expect(statSync(storedB).mode & 0o777).toBe(0o444);
    // Notes and transcripts came along: the linked note still opens the command's transcript.
    await openCase(pageB, importedId, 'notes');
    await pageB.getByTestId(`note-item-${linkedNoteId}`).click();
    await pageB.getByTestId('note-open-command').click();
    await expect.poll(() => pageB?.getByTestId('transcript-output').textContent()).toContain(`${NEEDLE}-qx7.txt`);
    await screenshot(pageB, 'cases-3-imported');
    await pageB.close();
    pageB = undefined;
    await wsB.cleanup();
    wsB = undefined;
  });

  it('(4) with the saved service stopped: unreachable, and cases, notes, evidence and search all work', async () => {
    // Connect to a service with a profile file (the embedded service's own admin profile), so that the
    // saved choice is that service; then restart: nothing answers at that address any more.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(path.join(ws.dataDir, 'service', 'admin.profile.json'));
    await page.getByTestId('profile-connect').click();
    await expect
      .poll(() => page.getByTestId('workspace-mode').textContent(), { timeout: 15_000 })
      .toBe('connected to a service');
    await ws.stop();
    await restartA({ deviceOnline: false });

    const status = page.getByTestId('status-workspace');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('unreachable');
    expect(await status.textContent()).toMatch(/^service unreachable: .+ — retrying; cases and evidence work offline$/);
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('devices-unreachable').waitFor();

    // A new case and a note, offline.
    const offline = await createCase(page, 'Offline review');
    await page.getByTestId('cases-offline').waitFor();
    await page.getByTestId('note-new').click();
    await page.getByTestId('note-editor').waitFor();
    await page.getByTestId('note-title').fill('On the plane');
    await page.getByTestId('note-body').fill('Reviewed the dropper offline.');
    await expect.poll(() => page.getByTestId('note-save-state').getAttribute('data-state')).toBe('saved');
    expect(await page.getByTestId(`case-row-${offline}`).textContent()).toContain('1 notes');

    // Evidence acquired earlier: hashes and a preview.
    await openCase(page, caseOne, 'evidence');
    await page.getByTestId(`evidence-row-${blobSha}`).click();
    await expect.poll(() => page.getByTestId('evidence-sha256').textContent()).toBe(blobSha);
    await page.getByTestId('evidence-preview-mode-hex').click();
    await expect.poll(() => page.getByTestId('evidence-preview').getAttribute('data-mode')).toBe('hex');
    expect(await previewFirstLine(page, 0)).toBe(hexdumpLine(blob, 0));

    // Search finds the word in the transcript recorded earlier (the `dir` listing), and opens it.
    await page.getByTestId('search-input').fill(NEEDLE);
    const hit = page.locator('[data-testid="search-hit"][data-kind="transcript"]');
    await hit.first().waitFor({ timeout: 15_000 });
    expect(await hit.first().locator('mark').first().textContent()).toMatch(new RegExp(NEEDLE, 'i'));
    // The linked note mentions it too.
    await page.locator(`[data-testid="search-hit"][data-kind="note"][data-id="${linkedNoteId}"]`).waitFor();
    await page.locator(`[data-testid="search-hit"][data-kind="transcript"][data-id="${dirTranscriptId}"]`).click();
    await expect.poll(() => page.getByTestId('transcript-viewer').getAttribute('data-id')).toBe(dirTranscriptId);
    await expect.poll(() => page.getByTestId('transcript-output').textContent()).toContain(`${NEEDLE}-qx7.txt`);
    await screenshot(page, 'cases-4-offline');
  });
});
