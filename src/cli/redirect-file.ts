/**
 * `> file.txt` in `lr exec` and `lr shell`: the command's output, rendered as the screen would show it
 * (its table, or JSON with -output json), goes to a file on the analyst's machine instead, as the
 * workstation saves it to the case. The name is the one the analyst typed (parsed here, not taken from
 * the service), relative to the local folder. The file appears complete or not at all, and never
 * replaces an existing file: the grammar has no overwrite form (`>>` is refused).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeNewFileAtomic } from '../node/files.js';
import { parseLine } from '../shared/commands/grammar.js';
import { Printer } from './printer.js';
import { describeError } from '../shared/errors.js';

/**
 * The trailing `> name` and `&` of a line, parsed on the analyst's side; none for a malformed line (the
 * service refuses it in one line and logs it).
 */
export function operatorsOf(line: string): { redirect?: string; background: boolean } {
  try {
    const parsed = parseLine(line);
    return { redirect: parsed.redirect, background: parsed.background };
  } catch {
    return { background: false };
  }
}

export class RedirectFile {
  readonly path: string;
  private readonly parts: string[] = [];
  private printer: Printer | null = null;

  /** Refuses at once (before the command runs) when the file already exists. */
  constructor(name: string, dir: string) {
    this.path = resolve(dir, name);
    if (existsSync(this.path))
      throw new Error(`${this.path} already exists: '> file' never overwrites, choose another name`);
  }

  started(output: 'json' | 'table' | undefined, tableFields: string[] | undefined): void {
    this.printer = new Printer({ output, tableFields, streaming: false, write: (s) => this.parts.push(s) });
  }

  records(records: Record<string, unknown>[]): void {
    this.printer?.add(records);
  }

  text(text: string): void {
    this.printer?.text(text);
  }

  /** Writes the file; returns its size in bytes. */
  save(): number {
    this.printer?.end();
    const content = Buffer.from(this.parts.join(''), 'utf8');
    try {
      writeNewFileAtomic(this.path, content);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'EEXIST'
          ? `${this.path} appeared while the command ran: the output was not written`
          : `could not write ${this.path}: ${describeError(e)}`,
        { cause: e },
      );
    }
    return content.length;
  }
}
