import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCH_MAX_WEIGHT,
  BATCH_MS,
  BUFFER_PAUSE,
  HIGH_WATERMARK,
  OutputChannel,
} from '../../../src/main/services/output-channel.js';
import type { ConsoleItem } from '../../../src/shared/workstation/ipc-contract.js';

function harness() {
  const batches: { items: ConsoleItem[]; weight: number }[] = [];
  const calls: string[] = [];
  const channel = new OutputChannel({
    push: (items, weight) => batches.push({ items, weight }),
    pauseSource: () => calls.push('pause'),
    resumeSource: () => calls.push('resume'),
  });
  return { batches, calls, channel };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('OutputChannel', () => {
  it('batches small items for ~16 ms', () => {
    const { batches, channel } = harness();
    channel.add({ type: 'text', text: 'a' });
    channel.add({ type: 'text', text: 'bc' });
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(BATCH_MS);
    expect(batches).toEqual([
      {
        items: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'bc' },
        ],
        weight: 3,
      },
    ]);
  });

  it('stops forwarding above the high watermark until acknowledged, and pauses the source when the buffer grows', () => {
    const { batches, calls, channel } = harness();
    const chunk = 'x'.repeat(50_000);
    for (let i = 0; i < HIGH_WATERMARK / 50_000 + 4; i++) channel.add({ type: 'text', text: chunk });
    vi.advanceTimersByTime(BATCH_MS);
    const sent = batches.reduce((sum, b) => sum + b.weight, 0);
    expect(sent).toBeGreaterThanOrEqual(HIGH_WATERMARK);
    expect(channel.unacknowledged).toBe(sent);
    // Nothing more goes out while unacknowledged; the buffer grows until the source is paused.
    const before = batches.length;
    for (let i = 0; i < BUFFER_PAUSE / 50_000 + 2; i++) channel.add({ type: 'text', text: chunk });
    vi.advanceTimersByTime(BATCH_MS);
    expect(batches.length).toBe(before);
    expect(calls).toEqual(['pause']);
    // Acknowledgements drain it again and resume the source.
    for (let i = 0; i < 200 && channel.buffered > 0; i++) channel.ack(channel.unacknowledged);
    expect(channel.buffered).toBe(0);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('keeps a second full batch in flight while the renderer parses the first, and sends the next on a partial acknowledgement', () => {
    const { batches, channel } = harness();
    const chunk = 'x'.repeat(50_000);
    for (let i = 0; i < (3 * BATCH_MAX_WEIGHT) / 50_000; i++) channel.add({ type: 'text', text: chunk });
    vi.advanceTimersByTime(BATCH_MS);
    // Two full batches left before any acknowledgement: the page is never idle waiting for the round trip.
    expect(batches.map((b) => b.weight)).toEqual([BATCH_MAX_WEIGHT, BATCH_MAX_WEIGHT]);
    // The renderer acknowledges the first 32 KB piece of the first batch: the third may go.
    channel.ack(32_768);
    expect(batches).toHaveLength(3);
  });

  it('keeps items in order across acknowledgements', () => {
    const { batches, channel } = harness();
    for (let i = 0; i < 100; i++) channel.add({ type: 'text', text: `${i}`.padEnd(10_000, '.') });
    vi.advanceTimersByTime(BATCH_MS);
    while (channel.buffered > 0) channel.ack(5_000);
    channel.ack(channel.unacknowledged);
    const texts = batches.flatMap((b) => b.items).map((item) => (item.type === 'text' ? parseInt(item.text, 10) : -1));
    expect(texts).toEqual([...Array(100).keys()]);
  });
});
