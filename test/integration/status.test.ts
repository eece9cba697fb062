// `status ID` finds any command of the device in the log, not only the current session's, and prints its
// output with real line breaks; a command of another device is not shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

describe('status ID', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('hotel');
    await w.addAgent('india');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('shows a command of an earlier session of the device, its output on real lines', async () => {
    const first = await w.lr(['exec', 'hotel', 'help dir', '--json']);
    expect(first.code).toBe(0);
    const id = (JSON.parse(first.stdout) as { commandId: string }).commandId;

    // A new session (each lr exec opens its own), by another analyst.
    const analyst = await w.addUser('juliet', 'basic');
    const shown = await w.lr(['exec', 'hotel', `status ${id}`], analyst);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${id}  help dir`);
    expect(shown.stdout).toMatch(
      /state: completed {3}by admin \(session \w+\) {3}started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
    );
    expect(shown.stdout).toContain('\ndir — Lists a directory\nusage: dir [path] [-full_path]\n');
    expect(shown.stdout).not.toContain('\\x0a');

    const json = await w.lr(['exec', 'hotel', `status ${id} -output json`], analyst);
    expect(json.code).toBe(0);
    const [record] = JSON.parse(json.stdout) as { id: string; state: string; output: string }[];
    expect(record).toMatchObject({ id, state: 'completed' });
    expect(record?.output).toContain('usage: dir [path]');

    // Another device's session does not show it.
    const other = await w.lr(['exec', 'india', `status ${id}`], analyst);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`status: no command ${id} on india`);
  }, 60_000);
});
