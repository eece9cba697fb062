/**
 * The console's output flow control, both sides together (docs/architecture.md, "Output flow control"):
 * main's OutputChannel weighs every item (weightOf) and sends batches with their weight; the renderer
 * renders a batch to text of another length, writes it in pieces (writePieces) and acknowledges each
 * piece's share. Only main computes weights: the contract is that the renderer's shares add up to exactly
 * the weight it received, whatever the rendered text is. If they fell short, main's unacknowledged count
 * would stay above its watermark and the console would stall with no error. The renderer side is the real
 * OutputRenderer and writePieces; only xterm (which would call each piece's callback once parsed) is
 * left out: the pieces are "parsed" at once here.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCH_MS,
  BUFFER_PAUSE,
  HIGH_WATERMARK,
  OutputChannel,
  weightOf,
  type OutputSink,
} from '../../../src/main/services/output-channel.js';
import { OutputRenderer, type RenderEffects } from '../../../src/renderer/src/console/output-renderer.js';
import { writePieces } from '../../../src/renderer/src/console/write-pieces.js';
import type { ConsoleItem } from '../../../src/shared/workstation/ipc-contract.js';

/** The renderer's half of one console, as console-terminal.ts does it: render, write in pieces, ack the shares. */
class RendererSide {
  private readonly renderer = new OutputRenderer();
  acknowledged = 0;
  batches = 0;
  rendered = 0;
  constructor(private readonly ack: (chars: number) => void) {}

  receive(items: readonly ConsoleItem[], weight: number): void {
    this.batches += 1;
    let out = '';
    for (const item of items) out += this.renderer.render(item, 80, {} satisfies RenderEffects);
    this.rendered += out.length;
    if (out === '') {
      this.send(weight);
      return;
    }
    for (const piece of writePieces(out, weight)) if (piece.weight > 0) this.send(piece.weight);
  }

  private send(chars: number): void {
    this.acknowledged += chars;
    this.ack(chars);
  }
}

function wire(): { channel: OutputChannel; side: RendererSide; paused: () => boolean } {
  let paused = false;
  const box: { channel?: OutputChannel } = {};
  const side = new RendererSide((chars) => box.channel?.ack(chars));
  // The renderer answers after main's push returns (an IPC round trip), never inside it.
  const pending: (() => void)[] = [];
  const sink: OutputSink = {
    push: (items, weight) => pending.push(() => side.receive(items, weight)),
    pauseSource: () => (paused = true),
    resumeSource: () => (paused = false),
  };
  const channel = new OutputChannel(sink);
  box.channel = channel;
  const drain = (): void => {
    while (pending.length > 0) (pending.shift() as () => void)();
  };
  const add = channel.add.bind(channel);
  channel.add = (item, weight) => {
    add(item, weight);
    drain();
  };
  const flush = channel.flush.bind(channel);
  channel.flush = () => {
    flush();
    drain();
  };
  return { channel, side, paused: () => paused };
}

describe('output flow control: main weighs, the renderer acknowledges the same weight', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every batch is acknowledged in full, whatever the rendered text length is: nothing stays in flight', () => {
    const { channel, side } = wire();
    const items: ConsoleItem[] = [
      {
        type: 'started',
        commandId: 'c1',
        name: 'dir',
        background: false,
        output: 'table',
        tableFields: ['name', 'size'],
      },
      { type: 'text', text: 'é日本\u0007 tab\tand a long line '.repeat(4000) },
      {
        type: 'records',
        records: Array.from({ length: 3000 }, (_, i) => ({ name: `file-${i}-${'x'.repeat(i % 50)}`, size: i * 1024 })),
      },
      { type: 'progress', bytes: 10, total: 100, rate: 5 },
      { type: 'notice', text: 'stored as evidence', tone: 'info' },
      { type: 'text', text: '' },
      { type: 'end', commandId: 'c1', status: 'completed', durationMs: 12, background: false },
    ];
    for (const item of items) channel.add(item);
    vi.advanceTimersByTime(BATCH_MS);
    const total = items.reduce((n, item) => n + weightOf(item), 0);
    expect(side.batches).toBeGreaterThan(1);
    expect(side.rendered).not.toBe(total); // the weights are not the rendered lengths: only main computes them
    expect(side.acknowledged).toBe(total);
    expect(channel.unacknowledged).toBe(0);
    expect(channel.buffered).toBe(0);
  });

  it('a flood past the pause threshold is delivered whole and the source is resumed: no silent stall', () => {
    const { channel, side, paused } = wire();
    const chunk: ConsoleItem = { type: 'text', text: `${'line of output '.repeat(6)}\n`.repeat(2000) };
    let sent = 0;
    let sawPause = false;
    // Without the renderer's acknowledgements main could send only HIGH_WATERMARK: the rest flows because
    // every share comes back.
    while (sent < BUFFER_PAUSE * 2) {
      channel.add(chunk);
      sent += weightOf(chunk);
      sawPause ||= paused();
    }
    vi.advanceTimersByTime(BATCH_MS);
    expect(sent).toBeGreaterThan(HIGH_WATERMARK * 10);
    expect(side.acknowledged).toBe(sent);
    expect(channel.unacknowledged).toBe(0);
    expect(paused()).toBe(false);
    expect(sawPause).toBe(false); // acknowledged as fast as sent, the buffer never reached the pause threshold
  });
});
