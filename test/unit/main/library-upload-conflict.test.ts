/**
 * Library uploads: a name already in the library is refused when the upload starts,
 * before any byte is sent, unless the analyst chose to replace it. The service connection is a fake
 * (named as such below): this tests LibraryPageService's own check, not the service.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventHub } from '../../../src/main/services/events.js';
import { LibraryPageService } from '../../../src/main/services/library.js';
import type { Workspace } from '../../../src/main/services/workspace.js';

const uploads = mkdtempSync(path.join(tmpdir(), 'lr-library-conflict-'));
afterAll(() => rmSync(uploads, { recursive: true, force: true }));

/** Fake workspace: a library-manager on a service whose library holds triage.sh. */
const fakeWorkspace = {
  current: () => ({
    generation: 1,
    me: { name: 'alice', role: 'advanced', libraryManager: true },
    library: { list: async () => [{ name: 'triage.sh' }] },
  }),
  paths: { uploads },
} as unknown as Workspace;

const meta = (name: string, overwrite: boolean) => ({
  name,
  size: 3,
  description: '',
  parametersDescription: '',
  parametersExample: '',
  overwrite,
});

describe('library upload: name conflicts', () => {
  const library = new LibraryPageService(fakeWorkspace, createEventHub());

  it('refuses a name already in the library before any byte, with a line that says what to do', async () => {
    await expect(library.begin(meta('triage.sh', false))).rejects.toThrow(
      'triage.sh is already in the library: replace it, or upload it under another name',
    );
    expect(readdirSync(uploads)).toEqual([]); // no staging file was even opened
  });

  it('starts when the analyst chose Replace, or for a free name', async () => {
    const replace = await library.begin(meta('triage.sh', true));
    const other = await library.begin(meta('triage-2.sh', false));
    expect(readdirSync(uploads)).toHaveLength(2);
    expect(library.abort(replace)).toBe(true);
    expect(library.abort(other)).toBe(true);
  });
});
