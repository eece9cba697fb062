/**
 * The `default:` of a `switch` that must handle every member of a union: the compiler refuses the call
 * when a member was forgotten (the value is then not `never`), and at run time a value from a newer
 * sender fails in one line instead of being dropped silently.
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${describe(value)}`);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 120) ?? String(value);
  } catch {
    return String(value);
  }
}
