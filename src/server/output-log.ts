/**
 * What the command log keeps of a command's output: the first N bytes as text (records as JSON lines),
 * the full size, and the SHA-256 of all of it, so a truncated log entry still proves what was produced.
 */
import { createHash, type Hash } from 'node:crypto';

export class OutputLog {
  private readonly hash: Hash = createHash('sha256');
  private kept = '';
  private keptBytes = 0;
  size = 0;
  truncated = false;

  constructor(private readonly limitBytes: number) {}

  append(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.hash.update(text);
    this.size += bytes;
    if (this.truncated) return;
    if (this.keptBytes + bytes <= this.limitBytes) {
      this.kept += text;
      this.keptBytes += bytes;
    } else {
      const room = this.limitBytes - this.keptBytes;
      this.kept += Buffer.from(text)
        .subarray(0, room)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
      this.keptBytes = this.limitBytes;
      this.truncated = true;
    }
  }

  appendRecords(records: Record<string, unknown>[]): void {
    let s = '';
    for (const r of records) s += JSON.stringify(r) + '\n';
    this.append(s);
  }

  text(): string {
    return this.kept;
  }

  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
