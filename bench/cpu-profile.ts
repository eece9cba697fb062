/**
 * Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`, or Chrome's Profiler domain for the
 * page): each sample goes to the innermost frame of its stack that one of the stages names, so a stage's
 * time excludes the stages it calls (xterm's write callbacks acknowledge: that is flow control, not parsing).
 * Unmatched samples count as idle, garbage collection, native work of the program (in the page: style,
 * layout, paint), or other JavaScript.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Stage {
  name: string;
  /** Tested against `functionName` and `url:functionName` of each frame, from the leaf up. */
  match: RegExp;
}

/**
 * Wall-clock milliseconds (Date.now()) of a part of the profile: the profile ended at `endedAt` (its
 * process exited then); only samples between `from` and `to` count.
 */
export interface ProfileWindow {
  endedAt: number;
  from: number;
  to: number;
}

/** Milliseconds per stage, in the order given, then idle, gc, native and other JavaScript. */
export function stageTimes(file: string, stages: readonly Stage[], window?: ProfileWindow): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // Profile times are microseconds of the process's monotonic clock.
  const toProfile = (wall: number): number => profile.endTime - (window ? window.endedAt - wall : 0) * 1000;
  const from = window ? toProfile(window.from) : -Infinity;
  const to = window ? toProfile(window.to) : Infinity;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times = new Map<string, number>([
    ...stages.map((s) => [s.name, 0] as [string, number]),
    ['idle', 0],
    ['garbage collection', 0],
    ['native (program)', 0],
    ['other JavaScript', 0],
  ]);
  const memo = new Map<number, string>();
  const classify = (leaf: ProfileNode): string => {
    const known = memo.get(leaf.id);
    if (known !== undefined) return known;
    let name = 'other JavaScript';
    const leafName = leaf.callFrame.functionName;
    if (leafName === '(idle)') name = 'idle';
    else if (leafName === '(garbage collector)') name = 'garbage collection';
    else if (leafName === '(program)') name = 'native (program)';
    else {
      for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
        const frame = `${node.callFrame.url}:${node.callFrame.functionName}`;
        const stage = stages.find((s) => s.match.test(node?.callFrame.functionName ?? '') || s.match.test(frame));
        if (stage) {
          name = stage.name;
          break;
        }
      }
    }
    memo.set(leaf.id, name);
    return name;
  };
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    const stage = classify(node);
    times.set(stage, (times.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return times;
}

/** A markdown table of stage times per process: `| stage | ms | share of the process's window |`. */
export function stageTable(title: string, times: Map<string, number>): string[] {
  const total = [...times.values()].reduce((a, b) => a + b, 0);
  const rows = [...times]
    .filter(([, ms]) => ms >= 1)
    .map(([name, ms]) => `| ${name} | ${(ms / 1000).toFixed(2)} s | ${((100 * ms) / total).toFixed(0)} % |`);
  return [
    `| ${title} | CPU time | share |`,
    '|---|---|---|',
    ...rows,
    `| total (${(total / 1000).toFixed(1)} s of samples) | | |`,
  ];
}
