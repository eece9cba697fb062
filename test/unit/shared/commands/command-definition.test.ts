// A command is defined in one place (its catalog entry): help, docs/commands.md, completion and the agent's
// validation are all derived from it. A fixture command gets one parameter more in its definition only, and
// the parameter shows in all four; a schema that disagrees with the definition does not compile.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, type AgentCommand, type JobRecord } from '../../../../src/agent/command.js';
import { dirCommand } from '../../../../src/agent/commands/dir.js';
import { getfileCommand } from '../../../../src/agent/commands/getfile.js';
import { AGENT_COMMANDS } from '../../../../src/agent/commands/index.js';
import { JobRunner, type AgentSender } from '../../../../src/agent/jobs.js';
import { createLinuxPlatform } from '../../../../src/agent/platform/linux.js';
import { Logger } from '../../../../src/node/log.js';
import { bindParams } from '../../../../src/shared/commands/bind.js';
import {
  CATALOG,
  commandSpec,
  defineSpec,
  type CommandSpec,
  type ParamSpec,
} from '../../../../src/shared/commands/catalog.js';
import { renderCommandDocs } from '../../../../src/shared/commands/command-docs.js';
import { helpRecord, helpText } from '../../../../src/shared/commands/command-help.js';
import { paramsSchema, type ParamsOf, type ParamsOfSpec } from '../../../../src/shared/commands/command-params.js';
import { complete } from '../../../../src/shared/commands/completion.js';
import { parseLine } from '../../../../src/shared/commands/grammar.js';
import type { FromAgent } from '../../../../src/shared/wire/protocol.js';

/** The fixture command, as a catalog entry is written. */
const probeDefinition = {
  name: 'probe',
  role: 'basic',
  side: 'agent',
  params: [
    { name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'file to probe' },
    { name: 'deep', type: 'flag', help: 'look inside' },
  ],
  summary: 'Probes a file',
  syntax: 'probe <path> [-deep]',
  examples: ['probe /etc/hosts'],
  fields: { path: 'full device path', verdict: 'what the probe found' },
  tableFields: ['verdict', 'path'],
} as const;

/** The parameter the test adds, in the definition only. */
const NEW_PARAM = { name: 'newparam', type: 'int', help: 'how many bytes to probe' } as const satisfies ParamSpec;

const before = defineSpec(probeDefinition);
const after = defineSpec({ ...probeDefinition, params: [...probeDefinition.params, NEW_PARAM] });

/** What each surface shows of `spec`, rendered by the real functions from a catalog holding only it. */
function surfaces(spec: CommandSpec) {
  const catalog = [spec];
  return {
    help: helpText(spec, 10 * 60_000, 'linux'),
    helpJson: JSON.stringify(helpRecord(spec, 10 * 60_000, 'linux')),
    docs: renderCommandDocs(catalog),
    completion: complete('probe /etc/hosts -', 'probe /etc/hosts -'.length, { commands: ['probe'], catalog })
      .candidates,
  };
}

/**
 * Runs the fixture on the real agent job runner, with its schema derived from `spec`: the job's end frame and the
 * params run() got.
 */
async function runOnAgent(
  spec: CommandSpec,
  params: Record<string, string | number | boolean>,
): Promise<{ end: FromAgent | undefined; got: unknown }> {
  const frames: FromAgent[] = [];
  const sender: AgentSender = {
    frame: (f) => void frames.push(f),
    raw: (json) => void frames.push(JSON.parse(json) as FromAgent),
    data: () => undefined,
  };
  let got: unknown;
  // Typed as any command: the compile-time link is the subject of the tests further down.
  const command: AgentCommand = {
    spec,
    schema: paramsSchema(spec),
    async run(ctx, p) {
      got = p;
      await ctx.emit({ path: '/etc/hosts', verdict: 'clean' } satisfies JobRecord);
    },
  };
  const runner = new JobRunner(
    new Map([['probe', command]]),
    createLinuxPlatform({ sysroot: '/' }),
    new Logger('test', 'off'),
    sender,
    {},
    () => null,
  );
  runner.handle({
    t: 'job.start',
    jobId: 'j1',
    sessionId: 's1',
    command: 'probe',
    params,
    cwd: '/',
    timeLimitMs: 60_000,
  });
  for (let i = 0; i < 200 && !frames.some((f) => f.t === 'job.end'); i++) await new Promise((r) => setImmediate(r));
  return { end: frames.find((f) => f.t === 'job.end'), got };
}

describe('a command defined in one place', () => {
  it('a parameter added to the definition appears in help, help -json, docs and completion', () => {
    const was = surfaces(before);
    const now = surfaces(after);
    // Absent before: what shows it comes from the definition, not from the test.
    expect(was.help).not.toContain('newparam');
    expect(was.helpJson).not.toContain('newparam');
    expect(was.docs).not.toContain('newparam');
    expect(was.completion).toEqual(['-deep', '-output', '-path']);

    expect(now.help).toContain(`  ${'-newparam <value>'.padEnd(28)} how many bytes to probe\n`);
    expect(JSON.parse(now.helpJson).params).toContainEqual({
      name: 'newparam',
      aliases: [],
      position: null,
      type: 'int',
      values: null,
      required: false,
      help: 'how many bytes to probe',
    });
    expect(now.docs).toContain('| `-newparam value` | int | no | how many bytes to probe |');
    expect(now.completion).toEqual(['-deep', '-newparam', '-output', '-path']);
    expect(
      complete('probe /x -new', 'probe /x -new'.length, { commands: ['probe'], catalog: [after] }).candidates,
    ).toEqual(['-newparam']);
    // The record fields and their meanings come from the same definition.
    expect(now.docs).toContain('| `verdict` | what the probe found |');
    expect(now.docs).toContain('Table columns: `verdict`, `path`.');
  });

  it('the agent validates the new parameter with its type: a number is taken, a word is refused in one line', async () => {
    // The console binds the line with the definition...
    expect(() => bindParams(before, parseLine('probe /etc/hosts -newparam', [before]))).toThrow(
      'probe: unknown parameter -newparam',
    );
    expect(() => bindParams(after, parseLine('probe /etc/hosts -newparam x', [after]))).toThrow(
      'probe: -newparam must be an integer',
    );
    const bound = bindParams(after, parseLine('probe /etc/hosts -newparam 64', [after]));
    expect(bound).toEqual({ path: '/etc/hosts', newparam: 64 });

    // ...and the agent checks what arrives with the schema derived from it.
    const ok = await runOnAgent(after, bound);
    expect(ok.end).toMatchObject({ t: 'job.end', status: 'completed' });
    expect(ok.got).toEqual({ path: '/etc/hosts', newparam: 64 });

    const wrong = await runOnAgent(after, { path: '/etc/hosts', newparam: 'many' });
    expect(wrong.end).toMatchObject({ t: 'job.end', status: 'refused' });
    // (the wording of a coerced number's issue is describeParamIssue's: it names the parameter in one line)
    expect((wrong.end as { error: string }).error).toMatch(/^probe: -newparam [^\n]+$/);
    expect(wrong.got).toBeUndefined();

    // Before the parameter existed the agent dropped it (unknown keys are not passed to run()).
    const old = await runOnAgent(before, { path: '/etc/hosts', newparam: 64 });
    expect(old.got).toEqual({ path: '/etc/hosts' });
  });

  it("every agent command's schema has exactly its catalog entry's parameters (plus the service's _ values)", () => {
    for (const [name, command] of AGENT_COMMANDS) {
      const spec = CATALOG.find((c) => c.name === name);
      expect(command.spec, name).toBe(spec);
      const shape = Object.keys((command.schema as z.ZodObject).shape).filter((k) => !k.startsWith('_'));
      expect(shape.sort(), name).toEqual(
        spec!.params
          .map((p) => p.name)
          .filter((n) => n !== 'output')
          .sort(),
      );
    }
  });
});

describe('the compiler links the agent to the catalog', () => {
  it("gives run() the catalog's parameter types", () => {
    expectTypeOf<ParamsOf<'dir'>>().toEqualTypeOf<{ path?: string | undefined; full_path?: boolean | undefined }>();
    expectTypeOf<Parameters<typeof dirCommand.run>[1]>().toEqualTypeOf<ParamsOf<'dir'>>();
    expectTypeOf<ParamsOf<'remediate'>['type']>().toEqualTypeOf<
      'file' | 'process' | 'service' | 'scheduledtask' | 'startupfolder' | 'registry' | 'list'
    >();
    type GetfileParams = Parameters<typeof getfileCommand.run>[1];
    expectTypeOf<Omit<GetfileParams, '_maxBytes'>>().toEqualTypeOf<ParamsOf<'getfile'>>();
    expectTypeOf<ParamsOfSpec<typeof after>>().toEqualTypeOf<{
      path: string;
      deep?: boolean | undefined;
      newparam?: number | undefined;
    }>();
  });

  it('refuses a schema that disagrees with the catalog (checked by tsc)', () => {
    const spec = commandSpec('dir');
    const run = async () => undefined;
    // A parameter of another type than the catalog's:
    // @ts-expect-error -path is a string in the catalog
    defineCommand({ spec, schema: paramsSchema(spec).extend({ path: z.number().optional() }), run });
    // A parameter the catalog does not have:
    // @ts-expect-error -depth is not a parameter of dir
    defineCommand({ spec, schema: paramsSchema(spec).extend({ depth: z.number().optional() }), run });
    // A parameter of the catalog left out (a hand-written schema):
    // @ts-expect-error -full_path is missing
    defineCommand({ spec, schema: z.object({ path: z.string().optional() }), run });
    // Required on the agent but optional in the catalog:
    // @ts-expect-error -path is optional in the catalog
    defineCommand({ spec, schema: paramsSchema(spec).extend({ path: z.string() }), run });
    // Checking more than the catalog is fine (a narrower value), and so are the service's `_` values:
    defineCommand({
      spec,
      schema: paramsSchema(spec).extend({ path: z.string().min(2).optional(), _limit: z.number() }),
      run,
    });
    // A table column must be a documented field:
    // @ts-expect-error -'size' is not among the fields
    defineSpec({ ...probeDefinition, tableFields: ['size'] });
    expect(spec.name).toBe('dir');
  });
});
