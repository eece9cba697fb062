/**
 * What the console prints once a file is in the evidence store: size, hash and the title of the case it
 * went to, then a short line with a reference the workstation's terminal turns into a link to the item on
 * the Cases page (`evidence/<case id>/<evidence id>`, see the renderer's console/evidence-links.ts). The
 * reference has a line of its own so that it never wraps, whatever the case title.
 */
import type { ConsoleItem } from '../../shared/workstation/ipc-contract.js';
import type { StoredEvidence } from './recorder.js';

export function evidenceStoredNotices(what: string, evidence: StoredEvidence): ConsoleItem[] {
  return [
    {
      type: 'notice',
      tone: 'info',
      text: `${what}: stored as evidence ${evidence.name} (${evidence.size} bytes, sha256 ${evidence.sha256}) in the active case "${evidence.caseTitle}"`,
    },
    { type: 'notice', tone: 'info', text: `  open it in Cases: evidence/${evidence.caseId}/${evidence.id}` },
  ];
}
