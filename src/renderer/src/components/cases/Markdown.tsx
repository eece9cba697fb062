/**
 * A note's markdown, previewed: headings, paragraphs, lists, block quotes, code blocks, inline code,
 * bold, italic and links. Built as React elements from the text (never as HTML), so nothing in a note
 * (pasted from a device's output, say) can inject markup or script; links are shown, not followed.
 */
import type { ReactNode } from 'react';

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'quote'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'rule' };

const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,9}[.)]\s+(.*)$/;

export function parseBlocks(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (line.startsWith('```')) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] as string).startsWith('```')) code.push(lines[i++] as string);
      i++; // the closing fence (or the end)
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: (heading[1] as string).length, text: heading[2] as string });
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push({ kind: 'rule' });
      i++;
      continue;
    }
    const listKind = BULLET.test(line) ? BULLET : NUMBERED.test(line) ? NUMBERED : undefined;
    if (listKind) {
      const items: string[] = [];
      while (i < lines.length) {
        const m = listKind.exec(lines[i] as string);
        if (!m) break;
        items.push(m[1] as string);
        i++;
      }
      blocks.push({ kind: 'list', ordered: listKind === NUMBERED, items });
      continue;
    }
    if (line.startsWith('>')) {
      const quoted: string[] = [];
      while (i < lines.length && (lines[i] as string).startsWith('>'))
        quoted.push((lines[i++] as string).replace(/^>\s?/, ''));
      blocks.push({ kind: 'quote', text: quoted.join(' ') });
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length) {
      const l = lines[i] as string;
      if (
        l.trim() === '' ||
        l.startsWith('```') ||
        HEADING.test(l) ||
        BULLET.test(l) ||
        NUMBERED.test(l) ||
        l.startsWith('>')
      )
        break;
      paragraph.push(l);
      i++;
    }
    blocks.push({ kind: 'paragraph', text: paragraph.join('\n') });
  }
  return blocks;
}

/** `code`, **bold**, *italic* / _italic_, [text](url): the first match wins, the rest is plain text. */
const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/;

export function inline(text: string, keyPrefix = 'i'): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = text;
  let n = 0;
  while (rest.length > 0) {
    const m = INLINE.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const key = `${keyPrefix}-${n++}`;
    if (m[1] !== undefined) out.push(<code key={key}>{m[1]}</code>);
    else if (m[2] !== undefined || m[3] !== undefined)
      out.push(<strong key={key}>{inline(m[2] ?? m[3] ?? '', key)}</strong>);
    else if (m[4] !== undefined || m[5] !== undefined) out.push(<em key={key}>{inline(m[4] ?? m[5] ?? '', key)}</em>);
    else
      out.push(
        <span key={key} className="md__link" title={m[7]}>
          {m[6]} <span className="cell-dim">({m[7]})</span>
        </span>,
      );
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

export function Markdown({ source, testId }: { source: string; testId?: string }) {
  const blocks = parseBlocks(source);
  return (
    <div className="md" data-testid={testId}>
      {blocks.length === 0 && <p className="cell-dim">(empty note)</p>}
      {blocks.map((b, i) => {
        switch (b.kind) {
          case 'heading': {
            const Tag = `h${Math.min(6, b.level + 2)}` as 'h3';
            return <Tag key={i}>{inline(b.text)}</Tag>;
          }
          case 'paragraph':
            return <p key={i}>{inline(b.text)}</p>;
          case 'list': {
            const items = b.items.map((item, j) => <li key={j}>{inline(item)}</li>);
            return b.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
          }
          case 'quote':
            return <blockquote key={i}>{inline(b.text)}</blockquote>;
          case 'code':
            return (
              <pre key={i} className="log__pre">
                {b.text}
              </pre>
            );
          case 'rule':
            return <hr key={i} />;
        }
      })}
    </div>
  );
}
