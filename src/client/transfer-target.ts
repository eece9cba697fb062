/**
 * Which command lines download a file to the analyst's machine: `getfile PATH [-auto]` (resumable) and
 * `collect` (an investigation package, built anew each time). Both are run through runGetfile, which
 * writes and verifies the file; anything else goes through as is. A malformed line is not a transfer:
 * the service refuses it in one line and logs it.
 */
import { bindParams } from '../shared/commands/bind.js';
import { findCommand } from '../shared/commands/catalog.js';
import { parseLine } from '../shared/commands/grammar.js';

export interface TransferTarget {
  path: string;
  auto: boolean;
  /** Command to run instead of `getfile PATH` (collect). */
  line?: string;
  /** `-restart`: discard a partial download kept from an earlier run (never sent to the device). */
  restart?: boolean;
  /** Ended with `&`. */
  background: boolean;
  /** `-output json|table`: print the device's records (and where the file was saved) instead of the hash line. */
  output?: 'json' | 'table';
}

export function transferTarget(line: string): TransferTarget | null {
  try {
    const parsed = parseLine(line);
    const spec = findCommand(parsed.name);
    if (!spec || parsed.redirect) return null;
    if (parsed.name === 'collect') {
      bindParams(spec, parsed);
      const path = `collect-${new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}.zip`;
      return {
        path,
        auto: false,
        line: 'collect',
        background: parsed.background,
        ...(parsed.output ? { output: parsed.output } : {}),
      };
    }
    if (parsed.name !== 'getfile' || parsed.named.offset !== undefined) return null;
    const p = bindParams(spec, parsed);
    return {
      path: String(p.path),
      auto: p.auto === true,
      background: parsed.background,
      ...(p.restart === true ? { restart: true } : {}),
      ...(parsed.output ? { output: parsed.output } : {}),
    };
  } catch {
    return null;
  }
}

export function throttle<T>(fn: (v: T) => void, ms: number): (v: T) => void {
  let last = 0;
  return (v) => {
    const t = Date.now();
    if (t - last >= ms) {
      last = t;
      fn(v);
    }
  };
}
