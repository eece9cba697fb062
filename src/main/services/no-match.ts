/**
 * A search that found nothing says so. Without it a findfile with no match prints nothing at all, which
 * reads the same as a command still running, a lost connection, or a rendering fault.
 */
import { bindParams } from '../../shared/commands/bind.js';
import { CATALOG } from '../../shared/commands/catalog.js';
import { parseLine } from '../../shared/commands/grammar.js';

/** The line for a completed command that showed no rows and no text, or undefined when silence is normal. */
export function noMatchNotice(line: string, platform: string): string | undefined {
  let name: string;
  let params: Record<string, string | number | boolean>;
  try {
    const parsed = parseLine(line);
    const spec = CATALOG.find((c) => c.name === parsed.name);
    if (!spec) return undefined;
    name = spec.name;
    params = bindParams(spec, parsed);
  } catch {
    return undefined;
  }
  const text = (key: string): string | undefined => (params[key] === undefined ? undefined : String(params[key]));
  switch (name) {
    case 'findfile':
      return `no match for ${text('name') ?? '?'} under ${text('path') ?? (platform === 'win32' ? 'every fixed drive' : '/')}`;
    case 'dir':
      return `${text('path') ?? 'the current folder'} is empty`;
    case 'processes':
      if (text('pid') !== undefined) return `no process with pid ${text('pid')}`;
      if (text('name') !== undefined) return `no process named ${text('name')}`;
      return 'no process listed';
    default:
      return undefined;
  }
}
