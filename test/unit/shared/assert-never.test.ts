// assertNever: the run-time half of an exhaustive switch (the compile-time half is the `never` parameter).
import { describe, expect, it } from 'vitest';
import { assertNever } from '../../../src/shared/assert-never.js';

describe('assertNever', () => {
  it('fails in one line naming what it got', () => {
    const fromANewerSender = { type: 'devices.renamed', id: 'd1' } as never;
    expect(() => assertNever(fromANewerSender, 'event')).toThrow(
      /^unexpected event: \{"type":"devices.renamed","id":"d1"\}$/,
    );
  });

  it('bounds what it quotes', () => {
    let message = '';
    try {
      assertNever({ text: 'x'.repeat(10_000) } as never);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThan(200);
    expect(message).not.toContain('\n');
  });
});
