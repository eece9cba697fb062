/**
 * Flow control of one console's output between main and the renderer (the scheme of VS Code's terminal: a
 * high and a low watermark of unacknowledged characters):
 *
 *   - items are batched: a batch leaves after ~16 ms, or at once when ~200 KB are waiting;
 *   - each batch has a weight (characters); the renderer acknowledges weight after xterm has parsed what
 *     the batch rendered to, piece by piece (console-terminal.ts writePieces: the shares add up to the
 *     batch's weight), in ~5 000-character units;
 *   - above HIGH_WATERMARK unacknowledged characters main forwards nothing more and keeps the items. It is
 *     two batches: the next batch travels and is formatted while xterm still parses the last one (with one
 *     batch in flight, the page sat idle for every round trip);
 *   - when that buffer passes BUFFER_PAUSE characters, the source (the service socket of this session) is
 *     paused, and resumed once the buffer is back under BUFFER_RESUME. Backpressure then reaches the agent
 *     through the service's own window.
 */
import type { ConsoleItem } from '../../shared/workstation/ipc-contract.js';

export const BATCH_MS = 16;
export const BATCH_MAX_WEIGHT = 200_000;
export const HIGH_WATERMARK = 2 * BATCH_MAX_WEIGHT;
export const BUFFER_PAUSE = 4_000_000;
export const BUFFER_RESUME = 1_000_000;

export interface OutputSink {
  /** Sends one batch to the renderer. */
  push(items: ConsoleItem[], weight: number): void;
  /** Stops/starts reading the source (the session's service socket). */
  pauseSource(): void;
  resumeSource(): void;
}

/** The characters an item stands for (what the renderer will acknowledge). */
export function weightOf(item: ConsoleItem): number {
  switch (item.type) {
    case 'text':
      return Math.max(1, item.text.length);
    case 'records':
      return Math.max(1, JSON.stringify(item.records).length);
    case 'notice':
      return Math.max(1, item.text.length);
    default:
      return 64;
  }
}

export class OutputChannel {
  private queue: { item: ConsoleItem; weight: number }[] = [];
  private queuedWeight = 0;
  private unacked = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private closed = false;

  constructor(private readonly sink: OutputSink) {}

  get unacknowledged(): number {
    return this.unacked;
  }

  get buffered(): number {
    return this.queuedWeight;
  }

  get sourcePaused(): boolean {
    return this.paused;
  }

  /** `weight`: weightOf(item), when the caller already knows it. */
  add(item: ConsoleItem, weight = weightOf(item)): void {
    if (this.closed) return;
    this.queue.push({ item, weight });
    this.queuedWeight += weight;
    if (!this.paused && this.queuedWeight > BUFFER_PAUSE) {
      this.paused = true;
      this.sink.pauseSource();
    }
    if (this.queuedWeight >= BATCH_MAX_WEIGHT) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** The renderer wrote `chars` more of this console's output. */
  ack(chars: number): void {
    this.unacked = Math.max(0, this.unacked - chars);
    if (this.queue.length > 0 && this.unacked < HIGH_WATERMARK) this.flush();
  }

  /** Forget what is in flight (the renderer that should acknowledge it went away, e.g. a page reload). */
  resetInFlight(): void {
    this.unacked = 0;
    if (this.queue.length > 0) this.flush();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.queuedWeight = 0;
    if (this.paused) {
      this.paused = false;
      this.sink.resumeSource();
    }
  }

  /** Sends what may be sent now; the rest waits for acknowledgements. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.unacked < HIGH_WATERMARK) {
      const items: ConsoleItem[] = [];
      let weight = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as { item: ConsoleItem; weight: number };
        if (items.length > 0 && weight + next.weight > BATCH_MAX_WEIGHT) break;
        this.queue.shift();
        items.push(next.item);
        weight += next.weight;
      }
      this.queuedWeight -= weight;
      this.unacked += weight;
      this.sink.push(items, weight);
    }
    if (this.paused && this.queuedWeight < BUFFER_RESUME) {
      this.paused = false;
      this.sink.resumeSource();
    }
  }
}
