/**
 * `npm run bench [-- NAME...]`: runs the benchmarks (all, or the named ones) and writes their tables into
 * docs/benchmarks.md, one section per benchmark, each figure next to its peer measured in the same run.
 * Needs `npm run build` first (it drives the built programs).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { benchGetfile } from './getfile.js';
import { benchCommands } from './commands.js';
import { benchCapacity } from './capacity.js';
import { benchSearch } from './search.js';
import { benchConsole } from './console.js';
import { benchCluster } from './cluster.js';
import { benchBreakdown } from './breakdown.js';
import { benchBatch } from './batch.js';
import { benchClusterGetfile } from './cluster-getfile.js';
import { benchGetfileBreakdown } from './getfile-breakdown.js';

const BENCHES: Record<string, () => Promise<string>> = {
  commands: benchCommands,
  getfile: benchGetfile,
  capacity: benchCapacity,
  search: benchSearch,
  console: benchConsole,
  cluster: benchCluster,
  breakdown: benchBreakdown,
  batch: benchBatch,
  'cluster-getfile': benchClusterGetfile,
  'getfile-breakdown': benchGetfileBreakdown,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const w of wanted)
  if (!BENCHES[w]) {
    console.error(`bench: unknown benchmark ${w} (known: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
const names = wanted.length ? wanted : Object.keys(BENCHES);
const doc = new URL('../docs/benchmarks.md', import.meta.url);
let text = existsSync(doc)
  ? readFileSync(doc, 'utf8')
  : '# Benchmarks\n\nWritten by `npm run bench`; each figure is measured side by side with its peer in the same run, on the machine named in each section.\n';
for (const name of names) {
  console.error(`bench: ${name}…`);
  const section = `<!-- bench:${name} -->\n${await (BENCHES[name] as () => Promise<string>)()}<!-- /bench:${name} -->`;
  console.log(section);
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
}
writeFileSync(doc, text);
console.error('bench: wrote docs/benchmarks.md');
