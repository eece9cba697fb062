/**
 * The case store's migrations in order: entry N (0-based) brings the schema from version N to N + 1.
 * A migration is never edited once released; changes go into a new file (0002-....ts) appended here.
 */
import { sql as v1 } from './0001-init.js';

export const MIGRATIONS: readonly string[] = [v1];
