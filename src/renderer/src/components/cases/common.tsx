/** Small pieces shared by the Cases page's components. Everything renders as text: nothing is ever HTML. */
import type { EvidenceIntegrity } from '../../../../shared/workstation/case-types.js';

export interface SnippetPart {
  text: string;
  hit: boolean;
}

/** Splits a search snippet into plain runs and the matches the store put between « and ». */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let rest = snippet;
  while (rest.length > 0) {
    const open = rest.indexOf('«');
    const close = open < 0 ? -1 : rest.indexOf('»', open + 1);
    if (open < 0 || close < 0) {
      parts.push({ text: rest, hit: false });
      break;
    }
    if (open > 0) parts.push({ text: rest.slice(0, open), hit: false });
    if (close > open + 1) parts.push({ text: rest.slice(open + 1, close), hit: true });
    rest = rest.slice(close + 1);
  }
  return parts;
}

/** A snippet with its matches highlighted (React text nodes, never innerHTML). */
export function Snippet({ text }: { text: string }) {
  return (
    <span className="snippet" data-testid="search-hit-snippet">
      {snippetParts(text).map((part, i) =>
        part.hit ? (
          <mark key={i} className="snippet__hit">
            {part.text}
          </mark>
        ) : (
          <span key={i}>{part.text}</span>
        ),
      )}
    </span>
  );
}

const INTEGRITY_TONE: Record<EvidenceIntegrity, string> = {
  ok: 'ok',
  unverified: 'off',
  tampered: 'bad',
  missing: 'bad',
};
const INTEGRITY_LABEL: Record<EvidenceIntegrity, string> = {
  ok: 'verified',
  unverified: 'not re-verified',
  tampered: 'TAMPERED',
  missing: 'MISSING',
};

export function IntegrityPill({ integrity, testId }: { integrity: EvidenceIntegrity; testId?: string }) {
  return (
    <span className={`pill pill--${INTEGRITY_TONE[integrity]}`} data-testid={testId} data-state={integrity}>
      {INTEGRITY_LABEL[integrity]}
    </span>
  );
}

/** A command's status as a pill (completed, failed, cancelled, refused...). */
export function CommandStatusPill({ status }: { status: string }) {
  const tone =
    status === 'completed'
      ? 'ok'
      : status === 'running' || status === 'pending'
        ? 'busy'
        : status === 'cancelled' || status === 'background'
          ? 'off'
          : 'bad';
  return <span className={`pill pill--${tone}`}>{status.replace('_', ' ')}</span>;
}

/** "go to offset" input: decimal, 0x hex, or with a k/m suffix (KiB/MiB). */
export function parseOffset(text: string): number | undefined {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/[\s_,]/g, '');
  if (t === '') return undefined;
  let n: number;
  if (/^0x[0-9a-f]+$/.test(t)) n = Number.parseInt(t.slice(2), 16);
  else if (/^\d+(k|kib|m|mib|g|gib)?$/.test(t)) {
    const unit = /[kmg]/.exec(t)?.[0];
    n = Number.parseInt(t, 10) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
  } else return undefined;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Exact byte count with thousands separators, e.g. `12 345 bytes`. */
export function exactBytes(n: number): string {
  return `${n.toLocaleString('en').replace(/,/g, '\u202f')} bytes`;
}
