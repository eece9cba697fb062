/**
 * The agent as one executable (Node's single executable applications, built by `npm run package:agent`):
 * whether this process is such a build, and its embedded native modules.
 *
 * A SEA has no node_modules: a native module the agent needs (koffi's prebuilt binary on Windows) travels in
 * the executable as an asset and is written to a private folder once, then loaded from there. Loading a
 * native module runs its code with the agent's rights (root, SYSTEM), so the folder and the file must be ones
 * no other user could have written:
 * - the file is named by the SHA-256 of the asset, and an existing file is loaded only when its content has
 *   that hash (otherwise it is written again, through a new file renamed into place);
 * - on Linux and macOS the folder is `<tmp>/lr-agent-<uid>`, created 0700 and refused unless it is a real
 *   folder (not a link) owned by this user with no access for others;
 * - on Windows it is `%LOCALAPPDATA%\lr-agent\native` of the running account (SYSTEM's own profile for the
 *   service): %TEMP% of SYSTEM is C:\Windows\Temp, where every user may create folders, and a DLL dropped next
 *   to a loaded module is what Windows loads first for its dependencies. The folder's access list cannot be
 *   read before koffi (the FFI that reads it) is loaded: the profile folder's own list is what protects it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, win32 as winPath } from 'node:path';
import { getAsset, isSea } from 'node:sea';

/** True when this process is the agent's single executable (not node + out/bin/lr-agent.js). */
export function isSeaBuild(): boolean {
  return isSea();
}

/** The private folder native modules are written to (see the file's comment), created if missing. */
export function privateNativeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32') {
    const local = env.LOCALAPPDATA ?? (env.USERPROFILE ? winPath.join(env.USERPROFILE, 'AppData', 'Local') : undefined);
    if (!local || !winPath.isAbsolute(local))
      throw new Error('%LOCALAPPDATA% is not set: there is no private folder to load the FFI module from');
    const dir = winPath.join(local, 'lr-agent', 'native');
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const uid = process.getuid!();
  const dir = join(tmpdir(), `lr-agent-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink())
    throw new Error(`${dir} is not a plain folder: refusing to load native code from it`);
  if (st.uid !== uid)
    throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (${uid}): refusing to load native code from it`);
  if (st.mode & 0o077)
    throw new Error(
      `${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}): refusing to load native code from it`,
    );
  return dir;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

/**
 * Writes `data` as `<dir>/<sha256>-<name>` unless a file of that name with exactly that content is there
 * already, and returns its path. A file of that name with other content (a planted or damaged one) is
 * replaced, never loaded.
 */
export function materialize(dir: string, name: string, data: Uint8Array): string {
  const hash = sha256(data);
  const file = join(dir, `${hash}-${name}`);
  const existing = readOrNull(file);
  if (existing && sha256(existing) === hash) return file;
  const tmp = join(dir, `.${randomBytes(8).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    if (process.platform !== 'win32') chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

/**
 * Loads a native module (`.node`) embedded as the SEA asset `key`: written to the private folder (see above),
 * checked, and loaded with process.dlopen. Throws outside a SEA build.
 */
export function loadEmbeddedNativeModule(key: string): unknown {
  if (!isSea()) throw new Error(`not a single-executable build: no embedded ${key}`);
  const data = new Uint8Array(getAsset(key));
  const file = materialize(privateNativeDir(), key, data);
  // Between the check and the load only this account (and the administrators) can write the folder.
  const module = { exports: {} as unknown };
  process.dlopen(module, file);
  return module.exports;
}
