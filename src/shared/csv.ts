/** RFC 4180 CSV for exports (command log, batch results), safe to open in a spreadsheet. Pure. */

/** One field: newlines become spaces, a leading = + - @ is defused, quotes where needed. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const raw = typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean);
  // Newlines become spaces so that a line is a record, whatever a spreadsheet does with quoted newlines.
  let text = raw.replace(/[\r\n]+/g, ' ');
  // A leading = + - @ would make spreadsheets evaluate the field as a formula.
  if (/^[=+\-@\t]/.test(text)) text = `'${text}`;
  return /[",]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A header line then one line per row, CRLF-terminated. */
export function csvTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
