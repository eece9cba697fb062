/**
 * The layering rules of eslint.config.js, shown on fixtures. Each file in test/lint-fixtures says where it
 * pretends to live (`// lint-as: src/...`) and what lint must say about it (`// expect: RULE` or `clean`);
 * it is linted with the repository's config as if it were at that path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/lint-fixtures');

// A fixture's pretended path is in no TypeScript project: the type-aware rules (not about layering) are off here.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: path.join(ROOT, 'eslint.config.js'),
  overrideConfig: {
    languageOptions: { parserOptions: { project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

interface Fixture {
  file: string;
  lintAs: string;
  expected: string;
  text: string;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((file) => /\.tsx?$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(FIXTURES, file), 'utf8');
      const lintAs = /^\/\/ lint-as: (\S+)$/m.exec(text)?.[1];
      const expected = /^\/\/ expect: (\S+)$/m.exec(text)?.[1];
      if (!lintAs || !expected) throw new Error(`${file}: needs "// lint-as:" and "// expect:" header lines`);
      return { file, lintAs, expected, text };
    });
}

async function lintAs(fixture: Fixture) {
  const [result] = await eslint.lintText(fixture.text, { filePath: path.join(ROOT, fixture.lintAs) });
  if (!result) throw new Error('no lint result');
  return result.messages;
}

const fixtures = loadFixtures();

describe('layering lint', () => {
  it('has the fixtures the acceptance criteria name', () => {
    const names = fixtures.map((fixture) => fixture.file);
    expect(names).toEqual(
      expect.arrayContaining([
        'renderer-imports-fs.ts',
        'renderer-imports-electron.ts',
        'renderer-imports-node-path.ts',
        'shared-imports-server.ts',
        'renderer-clean.tsx',
      ]),
    );
  });

  it.each(fixtures.filter((fixture) => fixture.expected !== 'clean').map((fixture) => [fixture.file, fixture] as const))(
    '%s fails lint',
    async (_file, fixture) => {
      const messages = await lintAs(fixture);
      expect(messages.map((message) => message.ruleId)).toContain(fixture.expected);
      expect(messages.every((message) => message.severity === 2)).toBe(true);
    },
  );

  it.each(fixtures.filter((fixture) => fixture.expected === 'clean').map((fixture) => [fixture.file, fixture] as const))(
    '%s passes lint',
    async (_file, fixture) => {
      expect(await lintAs(fixture)).toEqual([]);
    },
  );

  it('explains the rule in the message', async () => {
    const fixture = fixtures.find((candidate) => candidate.file === 'shared-imports-server.ts');
    if (!fixture) throw new Error('fixture missing');
    const [message] = await lintAs(fixture);
    expect(message?.message).toBe('src/shared may not import from src/server (allowed: shared).');
  });
});
