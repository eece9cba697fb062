import { describe, expect, it } from 'vitest';
import { parseClientFrame } from '../../../../src/shared/wire/protocol.js';

describe('parseClientFrame', () => {
  it('accepts a valid frame, including a line of 8192 characters outside the BMP', () => {
    const line = `dir ${'😀'.repeat(8188)}`;
    expect(parseClientFrame(JSON.stringify({ t: 'command', reqId: 3, sessionId: 's1', line }))).toEqual({
      ok: true,
      value: { t: 'command', reqId: 3, sessionId: 's1', line },
    });
  });

  it('keeps the request id, session and line of an invalid frame so it can be answered and logged', () => {
    const line = 'x'.repeat(20_000);
    const r = parseClientFrame(JSON.stringify({ t: 'command', reqId: 7, sessionId: 's1', line }));
    expect(r).toMatchObject({ ok: false, t: 'command', reqId: 7, sessionId: 's1', line });
    expect(r.ok === false && r.error).toMatch(/^malformed frame: line: /);
    expect(parseClientFrame(JSON.stringify({ t: 'session.open', reqId: 9, device: 'd'.repeat(200) }))).toMatchObject({
      ok: false,
      t: 'session.open',
      reqId: 9,
    });
  });

  it('never returns a field that is itself invalid', () => {
    for (const reqId of ['7', 1.5, 1e300, null, { n: 1 }]) {
      const r = parseClientFrame(JSON.stringify({ t: 'command', reqId, sessionId: 'bad id!', line: 42 }));
      expect(r).toEqual({ ok: false, t: 'command', error: expect.stringMatching(/^malformed frame: /) });
    }
    expect(parseClientFrame('[1,2]')).toEqual({ ok: false, error: expect.stringMatching(/^malformed frame: /) });
    expect(parseClientFrame('{"t":"nope","reqId":4}')).toEqual({
      ok: false,
      reqId: 4,
      error: expect.stringMatching(/^malformed frame: /),
    });
    expect(parseClientFrame('not json')).toEqual({ ok: false, error: 'malformed frame: not JSON' });
  });
});
