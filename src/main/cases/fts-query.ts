/**
 * Turns what the analyst typed into an FTS5 query that cannot be a syntax error: every word becomes a
 * quoted phrase (FTS5's own syntax — AND, OR, NOT, NEAR(, column:, *, ^, parentheses — is then just
 * text), all words must match, and the last one matches as a prefix so results follow the typing.
 *
 * The prefix is the expensive part: for `"word"*` FTS5 merges the lists of every term starting with
 * `word` into one before it can return anything, and a common word's own list is most of the index. So
 * when the caller can name those longer terms (from the index's vocabulary, which is cheap to range over),
 * the last word becomes `("word" OR "wordy" OR "words")`, which FTS5 walks lazily and stops at the limit.
 * Short prefixes (the index keeps 2- and 3-character prefixes) and prefixes of too many terms keep `*`.
 */

/** More words than anyone types; bounds the work a pasted paragraph can cause. */
export const MAX_QUERY_WORDS = 16;
/** Expanding a prefix into more terms than this costs more than FTS5's own prefix merge. */
export const MAX_PREFIX_TERMS = 64;
/** Prefixes up to this length are served by the index's prefix indexes (migrations/0001-init.ts). */
const INDEXED_PREFIX_CHARS = 3;

/** Characters FTS5's unicode61 tokenizer keeps in tokens (letters, digits, private use); the rest separates. */
const TOKEN_CHAR = /[\p{L}\p{N}\p{Co}]/u;
const SINGLE_TOKEN = /^[\p{L}\p{N}\p{Co}\p{M}]+$/u;

const phrase = (word: string) => `"${word.replaceAll('"', '""')}"`;

/**
 * The token as unicode61 (remove_diacritics 2) stores it: lower case, diacritics removed. Close to the
 * tokenizer for Latin scripts; where it differs, only the prefix expansion misses terms (the word itself
 * still matches exactly).
 */
export function foldToken(token: string): string {
  return token
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/**
 * Which terms of the index start with `folded` (longer than it), at most `limit`; the caller asks for
 * MAX_PREFIX_TERMS + 1 to learn that there are too many.
 */
export type PrefixTerms = (folded: string, limit: number) => string[];

/** The FTS5 MATCH expression, or undefined when the text holds nothing searchable (only punctuation, emoji). */
export function toFtsQuery(text: string, prefixTerms?: PrefixTerms): string | undefined {
  const words = text
    .split(/\s+/u)
    .filter((word) => TOKEN_CHAR.test(word))
    .slice(0, MAX_QUERY_WORDS);
  if (words.length === 0) return undefined;
  const last = words[words.length - 1] as string;
  const head = words.slice(0, -1).map(phrase);
  return [...head, lastWord(last, prefixTerms)].join(' AND ');
}

function lastWord(word: string, prefixTerms: PrefixTerms | undefined): string {
  const folded = foldToken(word);
  if (!prefixTerms || !SINGLE_TOKEN.test(word) || [...folded].length <= INDEXED_PREFIX_CHARS) return `${phrase(word)}*`;
  const longer = prefixTerms(folded, MAX_PREFIX_TERMS + 1);
  if (longer.length > MAX_PREFIX_TERMS) return `${phrase(word)}*`;
  return longer.length === 0 ? phrase(word) : `(${[word, ...longer].map(phrase).join(' OR ')})`;
}
