/**
 * What a console showed recently (its command lines and their output items, as pushed to the renderer),
 * bounded by weight: a reloaded page gets it back with the session (`lr:sessions.list`) and renders it again,
 * so a reload never blanks the consoles. The full record of each command stays the case transcript's.
 */
import type { ConsoleItem, ReplayEntry } from '../../shared/workstation/ipc-contract.js';

/** Characters (the output channel's weights) kept per session: a few screens of tables, not a findfile. */
export const REPLAY_MAX_WEIGHT = 512 * 1024;
const INPUT_WEIGHT = 64;

export class ReplayBuffer {
  private entries: { entry: ReplayEntry; weight: number }[] = [];
  private weight = 0;
  /** Older entries went to keep the buffer in bounds. */
  private trimmed = false;

  constructor(private readonly maxWeight = REPLAY_MAX_WEIGHT) {}

  /** A command line the analyst submitted, with the folder its prompt showed. */
  input(cwd: string, line: string): void {
    this.push({ type: 'input', cwd, line }, INPUT_WEIGHT + line.length);
  }

  /** A batch of output as it left for the renderer. */
  output(items: readonly ConsoleItem[], weight: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last?.entry.type === 'output' && last.weight + weight <= this.maxWeight / 8) {
      last.entry.items.push(...items);
      last.weight += weight;
      this.weight += weight;
      this.trim();
      return;
    }
    this.push({ type: 'output', items: [...items] }, weight);
  }

  snapshot(): { entries: ReplayEntry[]; trimmed: boolean } {
    return {
      entries: this.entries.map(({ entry }) =>
        entry.type === 'output' ? { type: 'output', items: [...entry.items] } : { ...entry },
      ),
      trimmed: this.trimmed,
    };
  }

  private push(entry: ReplayEntry, weight: number): void {
    this.entries.push({ entry, weight });
    this.weight += weight;
    this.trim();
  }

  /** Drops the oldest entries (always keeping the newest one) until the buffer is within bounds. */
  private trim(): void {
    while (this.weight > this.maxWeight && this.entries.length > 1) {
      const first = this.entries.shift();
      if (!first) break;
      this.weight -= first.weight;
      this.trimmed = true;
    }
  }
}
