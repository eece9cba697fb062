// The workstation's consoles feed the local cases, against a real lr-server and lr-agent:
// every command becomes a transcript entry of the active case; getfile, collect and `> name.txt` land in
// the evidence store under their SHA-256 with provenance; with the service stopped the workstation starts
// in the 'unreachable' state, cases stay usable, and it reconnects by itself when the service is back.
import { createHash } from 'node:crypto';
import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/main/services/index.js';
import type { ConsoleItem, LrEvent } from '../../src/shared/workstation/ipc-contract.js';
import { createWorld, waitFor, type World } from './harness.js';

let world: World;
let services: Services | undefined;
let deviceId = '';
let appData = '';
const items: ConsoleItem[] = [];

function make(): Services {
  const s = createServices({
    version: '0.0.0-test',
    mode: 'browser-shell',
    platform: process.platform,
    dataDir: appData,
  });
  s.events.subscribe((event: LrEvent) => {
    if (event.type !== 'console.output') return;
    items.push(...event.items);
    s.consoles.ack(event.sessionId, event.weight);
  });
  return s;
}

async function runLine(s: Services, sessionId: string, line: string): Promise<Extract<ConsoleItem, { type: 'end' }>> {
  items.length = 0;
  s.consoles.run(sessionId, line);
  return waitFor(
    `${line} to end`,
    async () => items.find((i): i is Extract<ConsoleItem, { type: 'end' }> => i.type === 'end'),
    60_000,
  );
}

beforeAll(async () => {
  world = await createWorld();
  deviceId = (await world.addAgent('case-box')).deviceId;
  appData = join(world.dir, 'workstation');
  mkdirSync(appData);
  services = make();
  await services.start();
  await services.workspace.connectProfile(world.adminProfile);
});

afterAll(async () => {
  await services?.stop();
  await world.cleanup();
});

describe('consoles feed the active case', () => {
  it('records every command as shown, and stores getfile and > output as evidence with provenance', async () => {
    const s = services!;
    const created = s.cases.create('Intrusion on case-box');
    const session = await s.consoles.open('case-box');
    const folder = join(world.dir, 'suspect');
    mkdirSync(folder);
    const payload = Buffer.concat([
      Buffer.from([0x4d, 0x5a, 0x90, 0x00]),
      Buffer.from('not really a PE: '),
      Buffer.alloc(70_000, 0x41),
    ]);
    const suspect = join(folder, 'dropper-q7x.bin');
    writeFileSync(suspect, payload);
    const mtime = new Date('2026-01-02T03:04:05.000Z');
    utimesSync(suspect, mtime, mtime);

    const dir = await runLine(s, session.id, `dir ${folder}`);
    expect(dir.status).toBe('completed');
    const get = await runLine(s, session.id, `getfile ${suspect}`);
    expect(get.status).toBe('completed');
    expect(items.some((i) => i.type === 'notice' && /stored as evidence/.test(i.text))).toBe(true);
    const saved = await runLine(s, session.id, `dir ${folder} > listing.txt`);
    expect(saved.status).toBe('completed');
    await runLine(s, session.id, 'nosuchcommand');

    const transcripts = s.cases.transcripts(created.id, 0, 100);
    expect(transcripts.items.map((t) => t.line)).toEqual([
      `dir ${folder}`,
      `getfile ${suspect}`,
      `dir ${folder} > listing.txt`,
      'nosuchcommand',
    ]);
    const dirEntry = s.cases.transcript(transcripts.items[0]!.id);
    expect(dirEntry.output).toContain('dropper-q7x.bin');
    expect(dirEntry).toMatchObject({ deviceId, deviceName: 'case-box', status: 'completed', analyst: 'admin' });
    expect(s.cases.transcriptByCommand(dir.commandId!).id).toBe(dirEntry.id);
    expect(transcripts.items[3]).toMatchObject({ status: 'refused' });

    const evidence = s.cases.evidence(created.id);
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const pulled = evidence.find((e) => e.kind === 'getfile');
    expect(pulled).toMatchObject({
      sha256,
      sha1: createHash('sha1').update(payload).digest('hex'),
      md5: createHash('md5').update(payload).digest('hex'),
      size: payload.length,
      name: 'dropper-q7x.bin',
      originalPath: suspect,
      deviceId,
      deviceName: 'case-box',
      commandId: get.commandId,
      analyst: 'admin',
    });
    expect(pulled!.fileTimes.mtime).toBe(mtime.toISOString());
    const blob = join(appData, 'cases', 'evidence', sha256.slice(0, 2), sha256);
    expect(statSync(blob).mode & 0o777).toBe(0o444);
    const listing = evidence.find((e) => e.kind === 'output');
    expect(listing).toMatchObject({ name: 'listing.txt', originalPath: '' });

    const hex = await s.cases.preview(pulled!.id, 'hex', 0, 64);
    expect(hex.lines[0]).toMatch(/^00000000 {2}4d 5a 90 00/);
    expect(s.cases.search('dropper', undefined, 10).hits.some((h) => h.kind === 'transcript')).toBe(true);
  });

  it('with the service stopped: starts unreachable, cases work, and reconnects when the service is back', async () => {
    await services!.stop();
    await world.stopServer();
    services = make();
    await services.start();
    expect(services.workspace.status()).toMatchObject({ state: 'unreachable', mode: 'remote' });
    expect(services.workspace.status().error).toMatch(/cannot reach the service/);
    const s = services;
    const [active] = s.cases.list().filter((c) => c.active);
    expect(active?.title).toBe('Intrusion on case-box');
    const note = s.cases.createNote({ caseId: active!.id, title: 'offline', body: 'written on a plane' });
    expect(s.cases.notes(active!.id).map((n) => n.id)).toContain(note.id);
    expect(s.cases.search('plane', undefined, 10).hits.map((h) => h.id)).toContain(note.id);
    expect(s.cases.search('dropper', undefined, 10).hits.length).toBeGreaterThan(0);
    const [evidence] = s.cases.evidence(active!.id);
    expect((await s.cases.verify(evidence!.id)).integrity).toBe('ok');
    await expect(s.consoles.open('case-box')).rejects.toThrow(/unreachable/);

    await world.startServer();
    await waitFor('reconnected', async () => s.workspace.status().state === 'ready', 20_000);
    expect(s.workspace.status().mode).toBe('remote');
  });
});
