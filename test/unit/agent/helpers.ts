/**
 * A JobContext for running agent commands in-process, the way the job runner does (parameters validated
 * by the command's schema, paths resolved against cwd), collecting what the command emits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentCommand, CommandResult, JobContext, JobRecord } from '../../../src/agent/command.js';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import type { PlatformLayer } from '../../../src/agent/platform/types.js';

export interface Harness {
  ctx: JobContext;
  records: JobRecord[];
  texts: string[];
  traces: string[];
  /** Binary data frames (file transfers), as sent. */
  data: Array<{ offset: number; chunk: Buffer }>;
  controller: AbortController;
}

export function makeHarness(options: { cwd?: string; platform?: PlatformLayer; sysroot?: string } = {}): Harness {
  const records: JobRecord[] = [];
  const texts: string[] = [];
  const traces: string[] = [];
  const data: Array<{ offset: number; chunk: Buffer }> = [];
  const controller = new AbortController();
  const cwd = options.cwd ?? '/';
  const platform = options.platform ?? createLinuxPlatform({ sysroot: options.sysroot ?? '/' });
  const ctx: JobContext = {
    cwd,
    signal: controller.signal,
    emit: async (r) => {
      records.push(r);
    },
    emitMany: async (rs) => {
      for (const r of rs) {
        if (controller.signal.aborted) return;
        records.push(r);
      }
    },
    text: async (t) => {
      texts.push(t);
    },
    sendData: async (offset, chunk) => {
      data.push({ offset, chunk: Buffer.from(chunk) });
    },
    trace: (level, message) => {
      traces.push(`${level}: ${message}`);
    },
    platform,
    resolvePath: (p) => path.resolve(cwd, p),
  };
  return { ctx, records, texts, traces, data, controller };
}

/** Validates `params` with the command's schema (as the runner does) and runs it. */
export async function runCommand(
  command: AgentCommand,
  harness: Harness,
  params: Record<string, string | number | boolean> = {},
): Promise<CommandResult | void> {
  const parsed = command.schema.parse(params);
  return command.run(harness.ctx, parsed);
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'lr-agent-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
