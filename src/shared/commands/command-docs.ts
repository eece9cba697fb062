/**
 * The reference page of the console commands (docs/commands.md), rendered from the catalog so that the
 * documentation cannot drift from what the service enforces. Field meanings are in each catalog entry.
 */
import { CATALOG, PLATFORMS, aliasesOf, type CommandSpec } from './catalog.js';

function paramLine(spec: CommandSpec): string[] {
  return spec.params.map((p) => {
    const names = [p.name, ...(p.aliases ?? [])];
    const named = names.map((n) => (p.type === 'flag' ? `\`-${n}\`` : `\`-${n} value\``)).join(' or ');
    const how = p.position !== undefined ? `\`<${p.name}>\` (position ${p.position + 1}) or ${named}` : named;
    return `| ${how} | ${p.type}${p.values ? ` (${p.values.join(', ')})` : ''} | ${p.required ? 'yes' : 'no'} | ${p.help} |`;
  });
}

const OS_NAMES: Readonly<Record<(typeof PLATFORMS)[number], string>> = {
  linux: 'Linux',
  darwin: 'macOS',
  win32: 'Windows',
};

/** docs/commands.md for `catalog` (the command catalog; a test passes its own). */
export function renderCommandDocs(catalog: readonly CommandSpec[] = CATALOG): string {
  const out: string[] = [
    '# Console commands',
    '',
    '<!-- Generated from src/shared/commands/catalog.ts and src/shared/commands/command-docs.ts by `npm run docs:commands`. Do not edit by hand. -->',
    '',
    'Every command is available in the workstation console, in `lr shell`, in `lr exec DEVICE "LINE"` and through the REST API, with one grammar.',
    'Roles: **basic** < **advanced** < **admin** (a role may run every command of the roles below it).',
    'Time limits are enforced by the service: when one is reached the command is cancelled **on the agent** and logged as `timed_out`.',
    '',
    '## Grammar',
    '',
    '- `command positional1 positional2 -flag -name value`: positionals in a fixed order; any parameter can be named with a dash instead (`getfile -path "/tmp/a b.txt"`).',
    '- `"..."` and `\'...\'` group words; quoted pieces touching each other join into one word (`ab"c d"` is `abc d`). Backslash is always a literal character (Windows paths survive: `C:\\Users\\x`).',
    '- A word starting with `-` and a letter is a parameter name; `-5` is a positional; a quoted `"-x"` is a positional.',
    '- `-output json|table` is accepted by every command: JSON shows every field below; table shows the table columns. A trailing positional `json`/`table` works for commands without other positionals (`connections json`).',
    "- The reference console's parameter names work too: `remediate -type file -id PATH -auto` is `remediate file PATH -auto` (`-id` is another name of `-target` in `remediate`, `undo` and `analyze`).",
    '- `... > name.txt` saves the rendered output as evidence in the current case instead of showing it. `... &` runs in the background: the console prints the command ID; `jobs`, `fg <id>` and `status <id>` follow it.',
    '- Lines are at most 8192 characters. Every refusal (syntax, role, platform, limit, policy) is a one-line error and is recorded in the command log.',
    '- Keys in consoles: Ctrl+C cancels the foreground command on the agent; Ctrl+Z sends it to the background; ↑/↓ history; Tab completes commands and flags.',
    '',
    '## Limits',
    '',
    '- Sessions: 25 per tenant, 10 per user, 1 per device; idle timeout 30 minutes (a running command or transfer is activity).',
    '- Commands: 10 minutes; `getfile`, `findfile`, `run`: 30 minutes. `getfile` 3 GB; `fileinfo` hashing 30 GB; library files 250 MB.',
    '- All configurable in the service data folder (`config.json`, `limits`).',
    '',
    '## Summary',
    '',
    'Works on: `yes`, `not yet` (planned; today the service refuses it on that OS in one line, before anything is sent) or `no` (not on that OS). `help` on a device lists what works on its OS, described for that OS.',
    '',
    `| command | role | runs on | time limit | ${PLATFORMS.join(' | ')} |`,
    `|---|---|---|---|${PLATFORMS.map(() => '---|').join('')}`,
    ...catalog.map(
      (c) =>
        `| [\`${c.name}\`](#${c.name}) | ${c.role} | ${c.side} | ${c.timeLimitMinutes} min | ${PLATFORMS.map((p) => c.support[p]).join(' | ')} |`,
    ),
    '',
  ];
  for (const c of catalog) {
    const aliases = aliasesOf(c.name);
    out.push(
      `## ${c.name}`,
      '',
      `${c.summary}.${c.beyond ? ' *(Beyond the reference console.)*' : ''}${aliases.length ? ` Also: ${aliases.map((a) => `\`${a}\``).join(', ')}.` : ''}`,
      '',
      '```',
      c.syntax,
      '```',
      '',
    );
    out.push(
      `- **Role:** ${c.role}`,
      `- **Runs on:** ${c.side}`,
      `- **Time limit:** ${c.timeLimitMinutes} minutes`,
      `- **Works on:** ${PLATFORMS.map((p) => `${p}: ${c.support[p]}`).join(', ')}`,
      '',
    );
    for (const p of PLATFORMS) {
      const os = c.onOs?.[p];
      if (os?.summary) out.push(`**On ${OS_NAMES[p]}:** ${os.summary}.`, '');
      if (os?.examples?.length) out.push(`${OS_NAMES[p]} examples:`, '', '```', ...os.examples, '```', '');
    }
    if (c.params.length)
      out.push('| parameter | type | required | meaning |', '|---|---|---|---|', ...paramLine(c), '');
    if (c.fields?.length) {
      const docs = c.fieldDocs ?? {};
      out.push(
        'JSON record fields (`-output json`):',
        '',
        '| field | meaning |',
        '|---|---|',
        ...c.fields.map((f) => `| \`${f}\` | ${docs[f] ?? ''} |`),
        '',
      );
      if (c.tableFields) out.push(`Table columns: ${c.tableFields.map((f) => `\`${f}\``).join(', ')}.`, '');
    }
    if (c.examples.length) out.push('Examples:', '', '```', ...c.examples, '```', '');
  }
  return out.join('\n');
}
