/**
 * What the consoles hand to the case store (src/main/services/cases.ts implements it): files pulled from a
 * device and every command as the analyst saw it. Both land in the active case; when no case is active
 * the store opens one ("Untitled case ...") so nothing is ever dropped.
 */
import type { EvidenceKind, EvidenceView, TranscriptSummary } from '../../shared/workstation/case-types.js';

export interface EvidenceProvenance {
  kind: EvidenceKind;
  /** Display name (base name of the original path, or the `> name` of saved output). */
  name: string;
  deviceId: string;
  deviceName: string;
  /** Path on the device ('' for saved console output). */
  originalPath: string;
  commandId?: string | undefined;
  analyst: string;
  fileTimes: {
    mtime?: string | undefined;
    atime?: string | undefined;
    ctime?: string | undefined;
    btime?: string | undefined;
  };
  /** The SHA-256 the transfer verified: the store refuses the file if its own hash differs. */
  expectedSha256?: string | undefined;
}

export interface TranscriptInput {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  commandId?: string | undefined;
  line: string;
  /** The output as shown (text; records rendered as the console rendered them). */
  output: string;
  /**
   * The caller already cut `output` (its capture stops at the store's cap): the entry is flagged and ends
   * with a line saying what the command log keeps of it. Output longer than the cap is cut and flagged anyway.
   */
  outputTruncated?: boolean | undefined;
  status: string;
  error?: string | undefined;
  analyst: string;
  startedAt: string;
  endedAt: string;
}

/** An item just stored, with the title of the case it went to (the console names it). */
export type StoredEvidence = EvidenceView & { caseTitle: string };

export interface CaseRecorder {
  /**
   * Moves `file` (a finished download or saved output in the app data folder) into the evidence store
   * under its SHA-256, read-only, and indexes it in the active case. The source file is gone afterwards.
   */
  addEvidence(file: string, provenance: EvidenceProvenance): Promise<StoredEvidence>;
  /** Appends one command to the active case's transcript (output beyond the store's cap is cut, flagged). */
  addTranscript(entry: TranscriptInput): TranscriptSummary;
}
