import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveStaticFile } from '../../../src/main/hosting/static-files.js';

// <tmp>/secret.txt sits next to the served folder <tmp>/renderer.
const base = mkdtempSync(path.join(tmpdir(), 'lr-static-'));
const root = path.join(base, 'renderer');
mkdirSync(path.join(root, 'assets'), { recursive: true });
writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
writeFileSync(path.join(root, 'assets', 'app.js'), '1');
writeFileSync(path.join(base, 'secret.txt'), 'secret');
symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link.txt'));

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('resolveStaticFile', () => {
  it('serves index.html for / and files below the root with their content type', async () => {
    expect(await resolveStaticFile(root, '/')).toMatchObject({
      kind: 'file',
      filePath: path.join(root, 'index.html'),
      contentType: 'text/html; charset=utf-8',
    });
    expect(await resolveStaticFile(root, '/assets/app.js')).toMatchObject({
      kind: 'file',
      contentType: 'text/javascript; charset=utf-8',
    });
  });

  it.each([
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/assets/../../secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/./index.html',
    '/%2e/index.html',
  ])('refuses traversal %s', async (requestPath) => {
    expect(await resolveStaticFile(root, requestPath)).toMatchObject({ kind: 'refused', status: 403 });
  });

  it.each(['/..%5csecret.txt', '/%00index.html', '/%zz', 'index.html'])('refuses malformed %s', async (requestPath) => {
    expect(await resolveStaticFile(root, requestPath)).toMatchObject({ kind: 'refused', status: 400 });
  });

  it('refuses a symlink that leads out of the root', async () => {
    expect(await resolveStaticFile(root, '/link.txt')).toMatchObject({ kind: 'refused', status: 403 });
  });

  it('answers not-found for missing files and for folders', async () => {
    expect(await resolveStaticFile(root, '/missing.js')).toEqual({ kind: 'not-found' });
    expect(await resolveStaticFile(root, '/assets')).toEqual({ kind: 'not-found' });
  });
});
