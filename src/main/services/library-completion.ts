/**
 * The library's file names for Tab completion of `run` and `putfile` in a console: fetched from the service
 * only when the word being completed is a library name, and kept a few seconds (one Tab after another
 * does not ask again). No names (an error, a user who may not list the library): nothing is offered.
 */
import { completesLibrary } from '../../shared/commands/completion.js';
import type { Workspace } from './workspace.js';

const KEEP_MS = 5_000;

let cached: { generation: number; at: number; names: readonly string[] } | undefined;

export async function libraryNamesFor(
  workspace: Workspace,
  line: string,
  cursor: number,
): Promise<readonly string[] | undefined> {
  if (!completesLibrary(line, cursor)) return undefined;
  try {
    const connection = workspace.current();
    if (cached && cached.generation === connection.generation && Date.now() - cached.at < KEEP_MS) return cached.names;
    const names = (await connection.library.list()).map((f) => f.name);
    cached = { generation: connection.generation, at: Date.now(), names };
    return names;
  } catch {
    return undefined;
  }
}
