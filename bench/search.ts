/**
 * Full-text search of the workstation's cases (the target: "100 000 notes and transcript lines
 * answer in under 50 ms"). Seeds a fresh case store in a temp folder with 50 000 notes and 50 000
 * transcript entries of generated but realistic text (a Zipf-distributed vocabulary, so some words are in
 * nearly every row and some in three), then times the search the renderer calls (CasesService.search:
 * FTS5 query, newest-first order, snippets) for five kinds of query, many times each. The peer is `grep -ri` over the
 * same text written as files (a notes folder of one file per note, one log file per session), which is
 * what an analyst has without the store. Runs from src; needs no build and nothing installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaseDb } from '../src/main/cases/case-db.js';
import { CaseStore } from '../src/main/cases/case-store.js';
import { toFtsQuery } from '../src/main/cases/fts-query.js';
import { CasesService } from '../src/main/services/cases.js';
import { createEventHub } from '../src/main/services/events.js';
import { median, percentile, timeIt } from './lib.js';

const NOTES = Number(process.env.BENCH_SEARCH_NOTES ?? 50_000);
const TRANSCRIPTS = Number(process.env.BENCH_SEARCH_TRANSCRIPTS ?? 50_000);
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 300);
const PEER_RUNS = Number(process.env.BENCH_SEARCH_PEER_RUNS ?? 5);
const GOAL_MS = 50;
/** Transcript entries per session (and per file for grep). */
const ENTRIES_PER_SESSION = 100;

/** A deterministic generator (xorshift32): the same text on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'su',
  'ta',
  'ri',
  'po',
  'de',
  'va',
  'xi',
  'gu',
  'ber',
  'zan',
  'tor',
  'fel',
  'qua',
  'sho',
  'wym',
  'dri',
];

/** 20 000 made-up words; rank 0 is the most frequent. */
function vocabulary(size: number, random: () => number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const n = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
}

/** Samples ranks with P(r) ∝ 1 / (r + 1)^s (Zipf), by inverse CDF over a precomputed table. */
function zipf(size: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(size);
  let sum = 0;
  for (let r = 0; r < size; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const PROCESSES = ['sshd', 'systemd', 'cron', 'nginx', 'postgres', 'python3', 'bash', 'curl', 'kworker', 'containerd'];

export async function benchSearch(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-search-'));
  try {
    const random = rng(7);
    const words = vocabulary(20_000, random);
    const rank = zipf(words.length, 1.07, random);
    const sentence = (n: number) => Array.from({ length: n }, () => words[rank()] as string).join(' ');
    // Planted rare words: each in exactly three rows (spread over notes and transcripts).
    const rare = Array.from(
      { length: 200 },
      (_, i) => `qzrare${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`,
    );
    const rareAt = new Map<number, string>();
    for (const word of rare) {
      for (let k = 0; k < 3; k++) rareAt.set(Math.floor(random() * (NOTES + TRANSCRIPTS)), word);
    }

    // --- seed the store, and the same text as files for grep ---
    const dir = join(work, 'cases');
    mkdirSync(dir);
    // Each case holds a contiguous block of rows, as cases do; case 0 is the oldest.
    const CASES = 20;
    const caseOf = (i: number, total: number) => Math.floor((i * CASES) / total);
    const caseDir = (c: number, kind: string) => join(work, 'files', `case${c}`, kind);
    for (let c = 0; c < CASES; c++) {
      mkdirSync(caseDir(c, 'notes'), { recursive: true });
      mkdirSync(caseDir(c, 'transcripts'), { recursive: true });
    }
    const db = openCaseDb(join(dir, 'cases.db'));
    const store = new CaseStore(db);
    const seedStarted = performance.now();
    let textBytes = 0;
    const caseIds = Array.from({ length: CASES }, (_, i) => store.createCase(`Case ${i}`).id);
    db.transaction(() => {
      for (let i = 0; i < NOTES; i++) {
        const body = `${sentence(20 + Math.floor(random() * 60))}${rareAt.has(i) ? ` ${rareAt.get(i)}` : ''}\n\n- ${sentence(10)}\n`;
        const title = sentence(4);
        store.createNote({ caseId: caseIds[caseOf(i, NOTES)] as string, title, body });
        writeFileSync(join(caseDir(caseOf(i, NOTES), 'notes'), `${i}.md`), `# ${title}\n\n${body}`);
        textBytes += title.length + body.length;
      }
    })();
    let session: string[] = [];
    db.transaction(() => {
      for (let i = 0; i < TRANSCRIPTS; i++) {
        const proc = PROCESSES[i % PROCESSES.length] as string;
        const line = `processes -name ${proc} ${rareAt.has(NOTES + i) ? (rareAt.get(NOTES + i) as string) : ''}`.trim();
        const rows = Array.from(
          { length: 3 + Math.floor(random() * 8) },
          (_, r) => `${1000 + r} ${proc} /usr/sbin/${proc} ${sentence(6)}`,
        );
        const output = `PID NAME PATH ARGS\n${rows.join('\n')}\n`;
        const at = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
        store.addTranscript(caseIds[caseOf(i, TRANSCRIPTS)] as string, {
          sessionId: `s${Math.floor(i / ENTRIES_PER_SESSION)}`,
          deviceId: 'dev',
          deviceName: 'web01',
          commandId: `c${i}`,
          line,
          output,
          status: 'completed',
          analyst: 'alice',
          startedAt: at,
          endedAt: at,
        });
        session.push(`$ ${line}\n${output}`);
        textBytes += line.length + output.length;
        if (
          session.length === ENTRIES_PER_SESSION ||
          i === TRANSCRIPTS - 1 ||
          caseOf(i + 1, TRANSCRIPTS) !== caseOf(i, TRANSCRIPTS)
        ) {
          writeFileSync(join(caseDir(caseOf(i, TRANSCRIPTS), 'transcripts'), `s${i}.txt`), session.join('\n'));
          session = [];
        }
      }
    })();
    const fileCount = Number(
      spawnSync('sh', ['-c', 'find . -type f | wc -l'], { cwd: join(work, 'files') })
        .stdout.toString()
        .trim(),
    );
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const dbBytes = statSync(join(dir, 'cases.db')).size;

    // --- queries: what the renderer sends (the last word is matched as a prefix) ---
    const service = new CasesService({ dir, events: createEventHub() });
    const count = (text: string, caseId: string | undefined) => {
      const match = toFtsQuery(text) as string;
      const inDb = openCaseDb(join(dir, 'cases.db'));
      const scope = (alias: string) => (caseId ? ` AND ${alias}.case_id = '${caseId}'` : '');
      try {
        const notes = inDb
          .prepare(
            `SELECT count(*) FROM notes_fts JOIN notes n ON n.seq = notes_fts.rowid WHERE notes_fts MATCH ?${scope('n')}`,
          )
          .pluck()
          .get(match) as number;
        const transcripts = inDb
          .prepare(
            `SELECT count(*) FROM transcripts_fts JOIN transcripts t ON t.seq = transcripts_fts.rowid WHERE transcripts_fts MATCH ?${scope('t')}`,
          )
          .pluck()
          .get(match) as number;
        return notes + transcripts;
      } finally {
        inDb.close();
      }
    };
    const common = words.slice(0, 5);
    const middle = words.slice(200, 260);
    const kinds: { what: string; texts: string[]; peer: (text: string) => string; caseId?: string }[] = [
      { what: 'rare word (3 rows)', texts: rare, peer: (t) => `grep -ri ${t} .` },
      { what: 'common word (in most rows)', texts: common, peer: (t) => `grep -ri ${t} .` },
      {
        what: 'two words (common + mid-frequency)',
        texts: middle.map((m, i) => `${common[i % common.length]} ${m}`),
        peer: (t) => `grep -ril ${t.split(' ')[0]} . | xargs grep -il ${t.split(' ')[1]}`,
      },
      {
        what: 'prefix of 3 letters (`pro` …)',
        texts: middle.map((m) => m.slice(0, 3)),
        peer: (t) => `grep -riw '${t}[a-z]*' .`,
      },
      // The worst case of newest-first: the oldest case's hits come after every other case's.
      {
        what: 'common word, scoped to the oldest of 20 cases',
        texts: common,
        peer: (t) => `grep -ri ${t} case0`,
        caseId: caseIds[0] as string,
      },
    ];
    for (const kind of kinds) service.search(kind.texts[0] as string, undefined, 50); // warm the page cache
    const rows: string[] = [];
    let worst = 0;
    for (const kind of kinds) {
      const ours: number[] = [];
      let hits = 0;
      for (let q = 0; q < QUERIES; q++) {
        const text = kind.texts[q % kind.texts.length] as string;
        let result: ReturnType<CasesService['search']> | undefined;
        ours.push(timeIt(() => (result = service.search(text, kind.caseId, 50))));
        hits = Math.max(hits, result?.hits.length ?? 0);
      }
      const matches = kind.texts.slice(0, 5).map((text) => count(text, kind.caseId));
      const peer: number[] = [];
      for (let r = 0; r < PEER_RUNS; r++) {
        const text = kind.texts[r % kind.texts.length] as string;
        peer.push(
          timeIt(() =>
            spawnSync('sh', ['-c', `${kind.peer(text)} > /dev/null`], { cwd: join(work, 'files'), stdio: 'ignore' }),
          ),
        );
      }
      const o50 = median(ours);
      const o99 = percentile(ours, 99);
      worst = Math.max(worst, o99);
      const p50 = median(peer);
      rows.push(
        `| ${kind.what} | ${Math.min(...matches).toLocaleString('en-US')}–${Math.max(...matches).toLocaleString('en-US')} | ${fmt(o50)} / ${fmt(o99)} | ${fmt(p50)} / ${fmt(percentile(peer, 99))} | **${(o50 / p50).toFixed(3)}×** | < ${GOAL_MS} ms ${o99 < GOAL_MS ? '✅' : '❌'} |`,
      );
    }
    service.close();
    const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.toString().trim();
    return [
      `### Case search: ${(NOTES + TRANSCRIPTS).toLocaleString('en-US')} notes and transcript entries (FTS5; ms, p50 / p99)`,
      '',
      '| query | rows matching | ours p50 / p99 (top 50, with snippets) | `grep -ri` over the same text as files, p50 / p99 | ratio (p50) | goal (p99) |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `${NOTES.toLocaleString('en-US')} notes and ${TRANSCRIPTS.toLocaleString('en-US')} transcript entries, ${(textBytes / 1024 ** 2).toFixed(0)} MiB of text (a 20 000-word Zipf vocabulary; planted rare words), seeded in ${seedSeconds.toFixed(1)} s; cases.db ${(dbBytes / 1024 ** 2).toFixed(0)} MiB. ${QUERIES} queries per kind through \`CasesService.search\` (what \`lr:search\` runs: query building, the newest 50 hits of each index, snippets); grep ${PEER_RUNS} runs each over the same text as ${fileCount.toLocaleString('en-US')} files (a note per file, a file per session, a folder per case), page cache warm. Worst p99: ${fmt(worst)} ms. CPU: ${cpu}, ${spawnSync('nproc').stdout.toString().trim()} cores.`,
      '',
    ].join('\n');
  } finally {
    if (process.env.BENCH_SEARCH_KEEP === '1') console.error(`bench: search data kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
