/**
 * Links from a console to the evidence it stored: main prints `open it in Cases: evidence/<case>/<item>`
 * (src/main/cases/evidence-notice.ts) in the notice colour; a click opens the Cases page on that item.
 * Only text in the notice colour is a link: device output is escaped and printed in the default colour, so
 * a device cannot print a look-alike reference that would be clickable.
 */
import type { IBufferCell, ILink, Terminal } from '@xterm/xterm';
import { useAppStore } from '../state/app-store.js';
import { useCasesStore } from '../state/cases-store.js';

const REFERENCE = /evidence\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,64})/g;
/** SGR 36 (cyan): the palette index notices are written in (output-renderer.ts). */
const NOTICE_PALETTE_INDEX = 6;

function isNoticeColour(cell: IBufferCell | undefined): boolean {
  return cell !== undefined && cell.isFgPalette() && cell.getFgColor() === NOTICE_PALETTE_INDEX;
}

/** Opens the Cases page on one evidence item. */
export function openEvidence(caseId: string, evidenceId: string): void {
  useCasesStore.getState().openEvidence(caseId, evidenceId);
  useAppStore.getState().showSection('cases');
  void useCasesStore.getState().reload();
}

export function registerEvidenceLinks(term: Terminal): void {
  term.registerLinkProvider({
    provideLinks(bufferLineNumber, callback) {
      const line = term.buffer.active.getLine(bufferLineNumber - 1);
      if (!line) return callback(undefined);
      const text = line.translateToString(true);
      const links: ILink[] = [];
      for (const match of text.matchAll(REFERENCE)) {
        const start = match.index;
        // Columns equal string offsets here: the reference and what precedes it on its line are ASCII.
        if (!isNoticeColour(line.getCell(start)) || !isNoticeColour(line.getCell(start + match[0].length - 1)))
          continue;
        const [, caseId = '', evidenceId = ''] = match;
        links.push({
          range: {
            start: { x: start + 1, y: bufferLineNumber },
            end: { x: start + match[0].length, y: bufferLineNumber },
          },
          text: match[0],
          activate: () => openEvidence(caseId, evidenceId),
        });
      }
      callback(links.length > 0 ? links : undefined);
    },
  });
}
