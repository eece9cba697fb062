// Writes docs/commands.md from the command catalog (syntax, role, limits, parameters, JSON fields) plus
// the hand-written field descriptions below. `npm run docs:commands`; a unit test checks it is current.
import { writeFileSync } from 'node:fs';
import { renderCommandDocs } from '../src/shared/command-docs.js';

writeFileSync(new URL('../docs/commands.md', import.meta.url), renderCommandDocs());
console.log('wrote docs/commands.md');
