// Openapi.json describes what the service really answers. Every batch and machine action route is
// called on a real service with a real agent, and each answer (status, content type, JSON body) is checked
// against the operation's documented response with ajv (JSON Schema 2020-12). The served document is the
// checked-in one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createWorld, enrollAgent, waitFor, type World } from './harness.js';
import { api, profileOf, vendorCommand as cmd, type ApiAnswer } from './api-helpers.js';
import type { Profile } from '../../src/node/profile.js';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
const docText = readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8');
const doc = JSON.parse(docText) as { paths: Record<string, Record<string, Operation>>; components: object };
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'api', components: doc.components });

/** Problems of one answer against the documented operation (empty: it conforms). */
function conformance(method: string, template: string, a: ApiAnswer): string[] {
  const op = doc.paths[template]?.[method.toLowerCase()];
  if (!op) return [`${method} ${template} is not in openapi.json`];
  const documented = op.responses[String(a.status)];
  if (!documented)
    return [`${method} ${template}: status ${a.status} is not documented (${a.bytes.toString().slice(0, 200)})`];
  const type =
    String(a.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim() ?? '';
  const media = documented.content?.[type];
  if (!media) return [`${method} ${template} ${a.status}: content type ${type} is not documented`];
  if (type !== 'application/json' || !media.schema) return [];
  const validate = ajv.compile(
    JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', '"api#/components/')) as object,
  );
  return validate(a.json)
    ? []
    : [
        `${method} ${template} ${a.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(a.json).slice(0, 300)}`,
      ];
}

describe('openapi.json against the real service', () => {
  let w: World;
  let admin: Profile;
  let deviceId: string;
  const problems: string[] = [];
  /** Calls the service and records how the answer conforms to the document. */
  const call = async (
    method: string,
    template: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<ApiAnswer> => {
    const a = await api(admin, method, path, body, token === undefined ? admin.token : token);
    problems.push(...conformance(method, template, a));
    return a;
  };

  beforeAll(async () => {
    w = await createWorld({ apiReadsPerMinute: 1000 });
    admin = profileOf(w.adminProfile);
    deviceId = (await w.addAgent('alpha')).deviceId;
    await enrollAgent(w, 'offline-one');
    expect((await w.lr(['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
    const script = `${w.dir}/hello.sh`;
    (await import('node:fs')).writeFileSync(script, '#!/bin/bash\necho hello\n');
    expect((await w.lr(['library', 'upload', script])).code).toBe(0);
  }, 60_000);
  afterAll(async () => w?.cleanup());

  it('serves the checked-in document without an API token', async () => {
    const a = await call('GET', '/api/v1/openapi.json', '/api/v1/openapi.json', undefined, null);
    expect(a.status).toBe(200);
    expect(a.bytes.toString('utf8')).toBe(docText);
  });

  it('batch routes answer as documented', async () => {
    const created = await call('POST', '/api/v1/batches', '/api/v1/batches', {
      commands: ['processes -pid 1', 'getfile /etc/hostname', 'run hello.sh'],
      target: { devices: ['alpha'] },
      comment: 'openapi',
    });
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    await waitFor(
      'batch final',
      async () => ((await api(admin, 'GET', `/api/v1/batches/${id}`)).json as { status: string }).status !== 'running',
      30_000,
      500,
    );
    expect((await call('GET', '/api/v1/batches/{id}', `/api/v1/batches/${id}`)).status).toBe(200);
    expect((await call('GET', '/api/v1/batches', '/api/v1/batches?limit=5')).status).toBe(200);
    expect((await call('GET', '/api/v1/batches/{id}/results', `/api/v1/batches/${id}/results`)).status).toBe(200);
    expect(
      (await call('GET', '/api/v1/batches/{id}/results', `/api/v1/batches/${id}/results?format=csv&device=alpha`))
        .status,
    ).toBe(200);
    expect(
      (await call('GET', '/api/v1/batches/{id}/files/{deviceId}/{step}', `/api/v1/batches/${id}/files/${deviceId}/1`))
        .status,
    ).toBe(200);
    expect(
      (await call('GET', '/api/v1/batches/{id}/text/{deviceId}/{step}', `/api/v1/batches/${id}/text/${deviceId}/2`))
        .status,
    ).toBe(200);
    expect((await call('POST', '/api/v1/batches/{id}/cancel', `/api/v1/batches/${id}/cancel`)).status).toBe(200);
    expect((await call('GET', '/api/v1/batches/{id}', '/api/v1/batches/nosuchbatch')).status).toBe(404);
    expect(
      (await call('POST', '/api/v1/batches', '/api/v1/batches', { commands: [], target: { devices: ['alpha'] } }))
        .status,
    ).toBe(400);
    const dc = '/api/v1/devices/{device}/commands';
    const answered = await call('POST', dc, '/api/v1/devices/alpha/commands', {
      line: 'processes -pid 1',
      waitSec: 30,
    });
    expect(answered.status).toBe(200);
    expect((answered.json as { results: { rows: { pid: number }[] } }).results.rows[0]?.pid).toBe(1);
    const queued = await call('POST', dc, '/api/v1/devices/offline-one/commands', {
      line: 'processes',
      waitSec: 0,
      expiresInSec: 60,
    });
    expect(queued.status).toBe(202);
    expect(
      (
        await call(
          'POST',
          '/api/v1/batches/{id}/cancel',
          `/api/v1/batches/${(queued.json as { batch: { id: string } }).batch.id}/cancel`,
        )
      ).status,
    ).toBe(200);
    const basic = profileOf(await w.addUser('bob', 'basic'));
    const refused = await api(basic, 'POST', '/api/v1/batches', {
      commands: ['run hello.sh'],
      target: { devices: ['alpha'] },
    });
    problems.push(...conformance('POST', '/api/v1/batches', refused));
    expect(refused.status).toBe(403);
    expect(problems).toEqual([]);
  }, 60_000);

  it('machine action routes answer as documented', async () => {
    const run = '/api/v1/machines/{id}/runliveresponse';
    const created = await call('POST', run, '/api/v1/machines/alpha/runliveresponse', {
      Commands: [cmd.runScript('hello.sh'), cmd.getFile('/etc/hostname')],
      Comment: 'openapi',
    });
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    await waitFor(
      'action final',
      async () =>
        ((await api(admin, 'GET', `/api/v1/machineactions/${id}`)).json as { status: string }).status === 'Succeeded',
      30_000,
      500,
    );
    expect((await call('GET', '/api/v1/machineactions/{id}', `/api/v1/machineactions/${id}`)).status).toBe(200);
    expect((await call('GET', '/api/v1/machineactions', '/api/v1/machineactions?$top=3')).status).toBe(200);
    const linkTemplate = '/api/v1/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})';
    for (const index of [0, 1]) {
      const link = await call(
        'GET',
        linkTemplate,
        `/api/v1/machineactions/${id}/GetLiveResponseResultDownloadLink(index=${index})`,
      );
      expect(link.status).toBe(200);
      const result = await call(
        'GET',
        '/api/v1/results/{token}',
        (link.json as { value: string }).value,
        undefined,
        null,
      );
      expect(result.status).toBe(200);
      expect(
        (await call('GET', '/api/v1/results/{token}', (link.json as { value: string }).value, undefined, null)).status,
      ).toBe(410);
    }
    expect(
      (await call('GET', linkTemplate, `/api/v1/machineactions/${id}/GetLiveResponseResultDownloadLink(index=7)`))
        .status,
    ).toBe(400);
    expect(
      (await call('GET', '/api/v1/results/{token}', `/api/v1/results/${'A'.repeat(43)}`, undefined, null)).status,
    ).toBe(404);
    // A pending action on the offline machine, cancelled; a second one refused while it was pending.
    const pending = await call('POST', run, '/api/v1/machines/offline-one/runliveresponse', {
      Commands: [cmd.getFile('/etc/hostname')],
    });
    expect(pending.status).toBe(201);
    expect(
      (
        await call('POST', run, '/api/v1/machines/offline-one/runliveresponse', {
          Commands: [cmd.getFile('/etc/hostname')],
        })
      ).status,
    ).toBe(400);
    const pid = (pending.json as { id: string }).id;
    const cancelled = await call('POST', '/api/v1/machineactions/{id}/cancel', `/api/v1/machineactions/${pid}/cancel`, {
      Comment: 'not needed',
    });
    expect(cancelled.json).toMatchObject({
      status: 'Cancelled',
      cancellationRequestor: 'admin',
      cancellationComment: 'not needed',
    });
    expect((await call('GET', '/api/v1/machineactions/{id}', '/api/v1/machineactions/nosuchaction')).status).toBe(404);
    expect(
      (await call('POST', run, '/api/v1/machines/nosuchmachine/runliveresponse', { Commands: [cmd.getFile('/x')] }))
        .status,
    ).toBe(404);
    expect(
      (await call('POST', run, '/api/v1/machines/alpha/runliveresponse', { Commands: [cmd.getFile('/x')], Extra: 1 }))
        .status,
    ).toBe(400);
    const basic = profileOf(await w.addUser('bea', 'basic'));
    const refused = await api(basic, 'POST', '/api/v1/machines/alpha/runliveresponse', {
      Commands: [cmd.putFile('hello.sh')],
    });
    problems.push(...conformance('POST', run, refused));
    expect(refused.status).toBe(403);
    // The 429 answer (this token has made 5 calls starting work here, 4 in the batch test).
    let last: ApiAnswer | undefined;
    for (let i = 0; i < 10 && last?.status !== 429; i++)
      last = await call('POST', run, '/api/v1/machines/alpha/runliveresponse', { Commands: [] });
    expect(last?.status).toBe(429);
    expect(problems).toEqual([]);
  }, 90_000);
});
