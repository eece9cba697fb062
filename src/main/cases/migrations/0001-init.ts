/**
 * Schema version 1 of the workstation's case store (cases.db): cases, which one is active, notes,
 * transcripts, the evidence index, and FTS5 indexes over notes and transcripts.
 *
 * Notes and transcripts have an integer `seq` primary key (the rowid) next to their text id because FTS5's
 * external-content tables join on an integer rowid; the triggers keep the two FTS indexes in step with
 * their tables, so a search never sees a half-saved note. The search matches the last word typed as a
 * prefix (results follow the typing), so the indexes also keep 2- and 3-character prefixes: a short prefix
 * would otherwise merge the lists of every word it starts. Other triggers keep `cases.updated_at` moving
 * with the case's content, so the autosave of a note stays a single UPDATE from the store's side.
 */
export const sql = `
CREATE TABLE cases (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- At most one active case: a table of at most one row.
CREATE TABLE active_case (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  case_id TEXT NOT NULL REFERENCES cases(id)
);

CREATE TABLE evidence (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  case_id TEXT NOT NULL REFERENCES cases(id),
  sha256 TEXT NOT NULL,
  sha1 TEXT NOT NULL,
  md5 TEXT NOT NULL,
  size INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('getfile', 'collect', 'output', 'imported')),
  device_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  original_path TEXT NOT NULL,
  command_id TEXT,
  analyst TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  file_mtime TEXT,
  file_atime TEXT,
  file_ctime TEXT,
  file_btime TEXT,
  integrity TEXT NOT NULL DEFAULT 'unverified' CHECK (integrity IN ('unverified', 'ok', 'tampered', 'missing')),
  verified_at TEXT
);
CREATE INDEX evidence_case ON evidence(case_id, seq);
CREATE INDEX evidence_sha256 ON evidence(sha256);

CREATE TABLE notes (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  case_id TEXT NOT NULL REFERENCES cases(id),
  title TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '',
  command_id TEXT,
  evidence_id TEXT REFERENCES evidence(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX notes_case ON notes(case_id, seq);

CREATE TABLE transcripts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  case_id TEXT NOT NULL REFERENCES cases(id),
  session_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  command_id TEXT,
  line TEXT NOT NULL,
  output TEXT NOT NULL,
  output_chars INTEGER NOT NULL,
  output_truncated INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  error TEXT,
  analyst TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL
);
CREATE INDEX transcripts_case ON transcripts(case_id, seq);
CREATE INDEX transcripts_command ON transcripts(command_id) WHERE command_id IS NOT NULL;

CREATE VIRTUAL TABLE notes_fts USING fts5(title, body, content='notes', content_rowid='seq', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
  INSERT INTO notes_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
  INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body);
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF title, body ON notes BEGIN
  INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.seq, old.title, old.body);
  INSERT INTO notes_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
END;

CREATE VIRTUAL TABLE transcripts_fts USING fts5(line, output, content='transcripts', content_rowid='seq', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE TRIGGER transcripts_fts_insert AFTER INSERT ON transcripts BEGIN
  INSERT INTO transcripts_fts(rowid, line, output) VALUES (new.seq, new.line, new.output);
END;
CREATE TRIGGER transcripts_fts_delete AFTER DELETE ON transcripts BEGIN
  INSERT INTO transcripts_fts(transcripts_fts, rowid, line, output) VALUES ('delete', old.seq, old.line, old.output);
END;
CREATE TRIGGER transcripts_fts_update AFTER UPDATE OF line, output ON transcripts BEGIN
  INSERT INTO transcripts_fts(transcripts_fts, rowid, line, output) VALUES ('delete', old.seq, old.line, old.output);
  INSERT INTO transcripts_fts(rowid, line, output) VALUES (new.seq, new.line, new.output);
END;

-- The indexes' vocabularies: the search expands a typed prefix into the terms it starts (fts-query.ts).
CREATE VIRTUAL TABLE notes_terms USING fts5vocab(notes_fts, 'row');
CREATE VIRTUAL TABLE transcripts_terms USING fts5vocab(transcripts_fts, 'row');

CREATE TRIGGER cases_touch_note_insert AFTER INSERT ON notes BEGIN
  UPDATE cases SET updated_at = new.updated_at WHERE id = new.case_id AND updated_at < new.updated_at;
END;
CREATE TRIGGER cases_touch_note_update AFTER UPDATE OF updated_at ON notes BEGIN
  UPDATE cases SET updated_at = new.updated_at WHERE id = new.case_id AND updated_at < new.updated_at;
END;
CREATE TRIGGER cases_touch_transcript AFTER INSERT ON transcripts BEGIN
  UPDATE cases SET updated_at = new.ended_at WHERE id = new.case_id AND updated_at < new.ended_at;
END;
CREATE TRIGGER cases_touch_evidence AFTER INSERT ON evidence BEGIN
  UPDATE cases SET updated_at = new.acquired_at WHERE id = new.case_id AND updated_at < new.acquired_at;
END;
`;
