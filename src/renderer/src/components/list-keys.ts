/**
 * Arrow keys in a list of rows (the Log, a case's transcripts and evidence): the row the key leads to.
 * ArrowDown/ArrowUp step (from nothing selected: the first row), Enter opens the row in view (the first).
 */
export function listKeyTarget(key: string, current: number, count: number): number | undefined {
  if (count <= 0) return undefined;
  switch (key) {
    case 'ArrowDown':
      return current < 0 ? 0 : Math.min(count - 1, current + 1);
    case 'ArrowUp':
      return current < 0 ? 0 : Math.max(0, current - 1);
    case 'Enter':
      return current < 0 ? 0 : current;
    default:
      return undefined;
  }
}
