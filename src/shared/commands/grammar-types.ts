/** The result of parsing one console command line (see grammar.ts). */
export interface ParsedLine {
  /** Command name, lower-cased. */
  name: string;
  /** Positional words in order. */
  positionals: string[];
  /** `-name value` pairs and `-flag` switches (value `true`), by lower-cased name without the dash. */
  named: Record<string, string | true>;
  /** `-output json|table`, or a trailing positional `json`/`table` when the command takes no other positional. */
  output?: 'json' | 'table';
  /** `> name.txt`: save the rendered output as a case evidence file instead of showing it. */
  redirect?: string;
  /** Trailing `&`: run in the background. */
  background: boolean;
}

/** Parameters bound to their names from the catalog (positionals mapped to names, types checked). */
export type BoundParams = Record<string, string | number | boolean>;
