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
        'cli-deep-imports-server.ts',
        'main-deep-imports-client.ts',
        'cli-imports-program-surfaces.ts',
      ]),
    );
  });

  it.each(
    fixtures.filter((fixture) => fixture.expected !== 'clean').map((fixture) => [fixture.file, fixture] as const),
  )('%s fails lint', async (_file, fixture) => {
    const messages = await lintAs(fixture);
    expect(messages.map((message) => message.ruleId)).toContain(fixture.expected);
    expect(messages.every((message) => message.severity === 2)).toBe(true);
  });

  it.each(
    fixtures.filter((fixture) => fixture.expected === 'clean').map((fixture) => [fixture.file, fixture] as const),
  )('%s passes lint', async (_file, fixture) => {
    expect(await lintAs(fixture)).toEqual([]);
  });

  it('lets only the composition root of src/server import src/server/cluster', async () => {
    const core = fixtures.find((candidate) => candidate.file === 'server-core-imports-cluster.ts');
    const root = fixtures.find((candidate) => candidate.file === 'server-root-imports-cluster.ts');
    if (!core || !root) throw new Error('fixture missing');
    const [message] = await lintAs(core);
    expect(message?.message).toBe(
      'src/server/batch/fixture.ts may not import from src/server/cluster (../cluster/log-stream.js): define the interface here, implement it in cluster/, wire it in service.ts.',
    );
    // The same import from cluster/ itself is fine (the cluster code may import anything of the core and its own).
    expect(await lintAs({ ...core, lintAs: 'src/server/cluster/fixture.ts' })).toEqual([]);
    expect(await lintAs(root)).toEqual([]);
  });

  it('explains the rule in the message', async () => {
    const fixture = fixtures.find((candidate) => candidate.file === 'shared-imports-server.ts');
    if (!fixture) throw new Error('fixture missing');
    const [message] = await lintAs(fixture);
    expect(message?.message).toBe('src/shared may not import from src/server (allowed: shared).');
  });

  it('names the public surface to import instead of a deep import', async () => {
    const cli = fixtures.find((candidate) => candidate.file === 'cli-deep-imports-server.ts');
    const main = fixtures.find((candidate) => candidate.file === 'main-deep-imports-client.ts');
    if (!cli || !main) throw new Error('fixture missing');
    expect((await lintAs(cli)).map((message) => message.message)).toEqual([
      'src/cli may import src/server only through its public surface src/server/index.ts: import from "../server/index.js" (export what is needed there).',
    ]);
    expect((await lintAs(main)).map((message) => message.message)).toEqual([
      'src/main may import src/client only through its public surface src/client/index.ts: import from "../../client/index.js" (export what is needed there).',
    ]);
  });
});
