/**
 * Opens the case store's database (`<cases dir>/cases.db`) and brings its schema up to date.
 *
 * WAL with synchronous=NORMAL: a committed transaction survives the app being killed (the WAL is written
 * before the commit returns); only a power cut can lose the last few commits, which for autosaved notes is
 * the "last second of typing" the issue allows. Each migration runs in a transaction together with the
 * row recording it in `schema_version`, so a crash mid-migration leaves the previous version intact.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index.js';
import { describeError } from '../../shared/errors.js';

export type CaseDb = Database.Database;

export interface OpenCaseDbOptions {
  /** Electron-ABI better-sqlite3 binding when running inside Electron (see src/main/native-binding.ts). */
  nativeBinding?: string | undefined;
}

export function openCaseDb(file: string, options: OpenCaseDbOptions = {}): CaseDb {
  let db: CaseDb;
  try {
    db = new Database(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  } catch (e) {
    throw new Error(`cannot open the case store ${file}: ${describeError(e).split('\n')[0]}`, { cause: e });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, file);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The schema version of an open database (0 for an empty one). */
export function schemaVersion(db: CaseDb): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: CaseDb, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `${file} is at schema version ${current}, newer than this workstation knows (${MIGRATIONS.length}): update the app`,
    );
  }
  const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      record.run(v + 1, new Date().toISOString());
    })();
  }
}
