/**
 * What `help <command>` shows of a catalog entry: the text, and the record of `help -output json|table`.
 * Rendered from the entry alone, so a parameter added to the catalog appears in help without more.
 */
import { aliasesOf, describedOn, PLATFORMS, type CommandSpec } from './catalog.js';

/** `linux: yes   darwin: not yet   win32: not yet`: what works today on each OS. */
function supportLine(spec: CommandSpec): string {
  return PLATFORMS.map((p) => `${p}: ${spec.support[p]}`).join('   ');
}

/** help's text for one command, as it is on `platform` (the session's device). */
export function helpText(spec: CommandSpec, limitMs: number, platform: string): string {
  const { summary, examples } = describedOn(spec, platform);
  const lines = [
    `${spec.name} — ${summary}${spec.beyond ? ' (beyond the reference console)' : ''}`,
    `usage: ${spec.syntax}${aliasesOf(spec.name).length ? `   (also: ${aliasesOf(spec.name).join(', ')})` : ''}`,
    `role: ${spec.role}   time limit: ${Math.round(limitMs / 60_000)} min   runs on: ${spec.side}`,
    `works on: ${supportLine(spec)}`,
  ];
  const params = spec.params.filter((p) => p.name !== 'output');
  if (params.length) {
    lines.push('parameters:');
    for (const p of params) {
      const names = [p.name, ...(p.aliases ?? [])].map((n) => `-${n}`).join(' | ');
      const how = p.position !== undefined ? `<${p.name}> or ${names}` : p.type === 'flag' ? names : `${names} <value>`;
      lines.push(
        `  ${how.padEnd(28)} ${p.help}${p.required ? ' (required)' : ''}${p.values ? ` [${p.values.join('|')}]` : ''}`,
      );
    }
  }
  if (spec.params.some((p) => p.name === 'output'))
    lines.push('  -output json|table          json shows every field; table fewer columns');
  if (examples.length) lines.push('examples:', ...examples.map((example) => `  ${example}`));
  return lines.join('\n') + '\n';
}

/** help's record of a command (`help -output json|table`): the catalog entry, limit as enforced. */
export function helpRecord(spec: CommandSpec, limitMs: number, platform: string): Record<string, unknown> {
  const { summary, examples } = describedOn(spec, platform);
  return {
    name: spec.name,
    summary,
    syntax: spec.syntax,
    role: spec.role,
    side: spec.side,
    timeLimitMinutes: Math.round(limitMs / 60_000),
    support: { ...spec.support },
    params: spec.params.map((p) => ({
      name: p.name,
      aliases: [...(p.aliases ?? [])],
      position: p.position ?? null,
      type: p.type,
      values: p.values ? [...p.values] : null,
      required: p.required === true,
      help: p.help,
    })),
    examples: [...examples],
    beyond: spec.beyond === true,
  };
}
