/**
 * Device names: chosen once, at enrollment (the requested `--name`, else the host name), unique per tenant
 * without regard to case, and changed afterwards only by an admin (`lr devices rename`). The agent's hello
 * never renames its device.
 */

export const MAX_DEVICE_NAME = 128;

/** Letters, digits, `.`, `_`, `-` and spaces, 1 to 128 characters, not starting or ending with a space. */
export const DEVICE_NAME = /^(?! )[\p{L}\p{N}._ -]{1,128}(?<! )$/u;

/** The one-line reason a device name is refused, or null when it is valid. */
export function deviceNameProblem(name: string): string | null {
  return DEVICE_NAME.test(name)
    ? null
    : `invalid device name ${JSON.stringify(name.slice(0, MAX_DEVICE_NAME + 1))}: letters, digits, '.', '_', '-' and spaces, 1 to ${MAX_DEVICE_NAME} characters`;
}

/** The names tried, in order, for a device asking for `base`: base, base-2, base-3… (each at most 128 characters). */
export function* nameCandidates(base: string): Generator<string> {
  yield base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    yield `${base.slice(0, MAX_DEVICE_NAME - suffix.length).trimEnd()}${suffix}`;
  }
}

/**
 * Names compare without regard to ASCII case ("Web01" is taken when "web01" exists), as SQLite's NOCASE
 * collation of the devices' unique index does.
 */
export const nameKey = (name: string): string => name.replace(/[A-Z]/g, (c) => c.toLowerCase());
