/**
 * A small, strict XML reader for the files Windows itself writes (the task store's task definitions): elements,
 * attributes, text, CDATA; comments and processing instructions are skipped. It never evaluates a DTD: a
 * `<!DOCTYPE` is refused, and only the five predefined entities and character references are decoded (an
 * unknown entity is an error), so no entity expansion or external fetch can happen. Namespace prefixes are
 * dropped (`task:Exec` is `Exec`): task files use one default namespace.
 */

export interface XmlElement {
  /** Local name (without a namespace prefix). */
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), entities decoded, not trimmed. */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

/** Deeper than any task definition: a bound against pathological nesting. */
const MAX_DEPTH = 64;

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Text of a file as Windows writes it: UTF-16 LE (task store, with a BOM), UTF-16 BE, or UTF-8 (BOM optional). */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff)
    return Buffer.from(buf.subarray(2)).swap16().toString('utf16le');
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString('utf8');
  // No BOM: `<` followed by a NUL is UTF-16 LE, a NUL followed by `<` UTF-16 BE.
  if (buf.length >= 2 && buf[0] === 0x3c && buf[1] === 0) return buf.toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0 && buf[1] === 0x3c)
    return Buffer.from(buf.subarray(0, buf.length & ~1))
      .swap16()
      .toString('utf16le');
  return buf.toString('utf8');
}

/** Parses a document and returns its root element; malformed input throws XmlError (`line N: why`). */
export function parseXml(source: string): XmlElement {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  let pos = 0;
  let root: XmlElement | null = null;
  const stack: XmlElement[] = [];

  const fail = (why: string, at = pos): never => {
    const line = text.slice(0, at).split('\n').length;
    throw new XmlError(`line ${line}: ${why}`);
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&<]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) return fail(`unterminated entity &${ref}`, at);
      if (ref.startsWith('#')) {
        const code = /^#x[0-9a-f]+$/i.test(ref)
          ? parseInt(ref.slice(2), 16)
          : /^#[0-9]+$/.test(ref)
            ? parseInt(ref.slice(1), 10)
            : NaN;
        if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
          return fail(`bad character reference &${ref};`, at);
        return String.fromCodePoint(code);
      }
      const v = PREDEFINED[ref];
      return v ?? fail(`unknown entity &${ref}; (DTD entities are not evaluated)`, at);
    });
  const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
  const skipPast = (end: string, what: string): void => {
    const i = text.indexOf(end, pos);
    if (i < 0) fail(`unterminated ${what}`);
    pos = i + end.length;
  };

  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    const chunk = text.slice(pos, lt < 0 ? text.length : lt);
    if (chunk !== '') {
      const top = stack[stack.length - 1];
      if (top) top.text += decode(chunk, pos);
      else if (chunk.trim() !== '') fail('text outside the root element');
    }
    if (lt < 0) break;
    pos = lt;
    if (text.startsWith('<?', pos)) skipPast('?>', 'processing instruction');
    else if (text.startsWith('<!--', pos)) skipPast('-->', 'comment');
    else if (text.startsWith('<![CDATA[', pos)) {
      const top = stack[stack.length - 1];
      if (!top) fail('CDATA outside the root element');
      const end = text.indexOf(']]>', pos);
      if (end < 0) fail('unterminated CDATA section');
      top!.text += text.slice(pos + 9, end);
      pos = end + 3;
    } else if (text.startsWith('<!', pos)) fail('DTDs and declarations are not accepted');
    else if (text.startsWith('</', pos)) {
      const m = /^<\/([^\s>/]+)\s*>/.exec(text.slice(pos, pos + 512));
      if (!m) fail('malformed end tag');
      const open = stack.pop();
      if (!open || localName(m![1]!) !== open.name)
        fail(`end tag </${m![1]}> does not match ${open ? `<${open.name}>` : 'any open element'}`);
      pos += m![0].length;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(pos, pos + 512));
      if (!m) fail('malformed start tag');
      pos += m![0].length;
      const el: XmlElement = { name: localName(m![1]!), attributes: {}, children: [], text: '' };
      // Attributes up to `>` or `/>`.
      for (;;) {
        const ws = /^\s*/.exec(text.slice(pos, pos + 4096))![0].length;
        pos += ws;
        if (text.startsWith('/>', pos) || text.startsWith('>', pos)) break;
        if (ws === 0) fail(`malformed attributes in <${el.name}>`);
        const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(pos, pos + 65536));
        if (!a) fail(`malformed attribute in <${el.name}>`);
        const name = a![1]!;
        if (!name.startsWith('xmlns')) {
          const key = localName(name);
          if (key in el.attributes) fail(`duplicate attribute ${key} in <${el.name}>`);
          el.attributes[key] = decode(a![3] ?? a![4] ?? '', pos);
        }
        pos += a![0].length;
      }
      const selfClosing = text.startsWith('/>', pos);
      pos += selfClosing ? 2 : 1;
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} elements`);
        stack.push(el);
      }
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) fail('no root element');
  return root!;
}

/** The first child element named `name`. */
export function child(el: XmlElement | null | undefined, name: string): XmlElement | null {
  return el?.children.find((c) => c.name === name) ?? null;
}

/** Every child element named `name`. */
export function children(el: XmlElement | null | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

/** The trimmed text of the element at `path` (child names), or null when absent or empty. */
export function textAt(el: XmlElement | null | undefined, ...path: string[]): string | null {
  let cur: XmlElement | null | undefined = el;
  for (const name of path) cur = child(cur, name);
  const t = cur?.text.trim();
  return t ? t : null;
}
