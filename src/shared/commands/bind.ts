/**
 * Binds a parsed command line to its catalog entry: positionals get their names, types are checked.
 * Pure TypeScript (runs in the renderer too), so the console can refuse a bad line before sending it and
 * the service applies exactly the same rules.
 *
 * Positionals map strictly by `position` (the first positional is the parameter at position 0, and so
 * on), whether or not a parameter was also given by name: naming a parameter does not shift the others.
 * So `remediate -type file /tmp/x` is refused (`-type given twice`) and must be written
 * `remediate file /tmp/x` or `remediate -type file -id /tmp/x` (the reference's names: `-id` is an alias
 * of `-target`, see ParamSpec.aliases).
 */

import { findParam, type CommandSpec, type ParamSpec } from './catalog.js';
import { describeWord, GrammarError } from './grammar.js';
import type { BoundParams, ParsedLine } from './grammar-types.js';

/** `usage: getfile <path> [-auto]`, from the catalog's syntax line. */
export function formatUsage(spec: CommandSpec): string {
  return `usage: ${spec.syntax}`;
}

const INTEGER = /^-?\d{1,16}$/;

/** Checks and converts one value; `label` is how the user named the parameter (`-pid` or `<path>`). */
function convert(command: string, param: ParamSpec, value: string, label: string): string | number | boolean {
  switch (param.type) {
    case 'flag':
      throw new GrammarError(`${command}: ${label} takes no value`);
    case 'int': {
      const number = Number(value);
      if (!INTEGER.test(value) || !Number.isSafeInteger(number))
        throw new GrammarError(`${command}: ${label} must be an integer`);
      return number;
    }
    case 'enum': {
      // Case-insensitive like the rest of the console; the catalog's spelling is what gets bound.
      const lower = value.toLowerCase();
      const match = param.values?.find((v) => v.toLowerCase() === lower);
      if (match === undefined) {
        throw new GrammarError(
          `${command}: ${label} must be one of ${(param.values ?? []).join(', ')}, not ${describeWord(value)}`,
        );
      }
      return match;
    }
    case 'string':
      if (param.required && value === '') throw new GrammarError(`${command}: ${label} must not be empty`);
      return value;
  }
}

function positionalParams(spec: CommandSpec): Map<number, ParamSpec> {
  const byPosition = new Map<number, ParamSpec>();
  for (const param of spec.params) if (param.position !== undefined) byPosition.set(param.position, param);
  return byPosition;
}

function hasOutput(spec: CommandSpec): boolean {
  return spec.params.some((p) => p.name === 'output');
}

/**
 * Maps `parsed` onto `spec`'s parameters. Flags that were not given are absent (not `false`); `output`
 * is never bound (it stays in `ParsedLine.output`). Throws `GrammarError` with a one-line message.
 */
export function bindParams(spec: CommandSpec, parsed: ParsedLine): BoundParams {
  const command = spec.name;
  const bound: BoundParams = {};
  const byPosition = positionalParams(spec);

  parsed.positionals.forEach((value, index) => {
    const param = byPosition.get(index);
    if (!param) throw new GrammarError(`${command}: too many arguments (unexpected ${describeWord(value)})`);
    if (Object.hasOwn(parsed.named, param.name))
      throw new GrammarError(`${command}: -${param.name} given twice (by position and by name)`);
    bound[param.name] = convert(command, param, value, `<${param.name}>`);
  });

  for (const [given, value] of Object.entries(parsed.named)) {
    const param = findParam(spec, given);
    if (!param) throw new GrammarError(`${command}: unknown parameter -${given}`);
    // An alias binds to the parameter's own name (`-id` is `-target`): given both ways is given twice.
    const name = param.name;
    const label = `-${given}`;
    if (Object.hasOwn(bound, name)) throw new GrammarError(`${command}: -${name} given twice`);
    if (name === 'output') {
      // The parser puts -output in ParsedLine.output; a hand-built ParsedLine may not: check it all the same.
      if (value === true) throw new GrammarError(`missing value for ${label}`);
      convert(command, param, value, label);
      continue;
    }
    if (param.type === 'flag') {
      if (value !== true) throw new GrammarError(`${command}: ${label} takes no value`);
      bound[name] = true;
      continue;
    }
    if (value === true) throw new GrammarError(`missing value for ${label}`);
    bound[name] = convert(command, param, value, label);
  }

  if (parsed.output !== undefined && !hasOutput(spec)) throw new GrammarError(`${command}: unknown parameter -output`);

  for (const param of spec.params) {
    if (param.required && !Object.hasOwn(bound, param.name)) {
      throw new GrammarError(
        `${command}: missing ${param.position !== undefined ? `<${param.name}>` : `-${param.name}`}`,
      );
    }
  }
  return bound;
}
