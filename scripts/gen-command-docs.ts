// Writes docs/commands.md from the command catalog (syntax, role, limits, parameters, JSON fields and what
// each field means), and docs/permissions.md (the role × command and role × route
// matrix). `npm run docs:commands`; unit tests check both are current.
import { writeFileSync } from 'node:fs';
import { renderCommandDocs } from '../src/shared/commands/command-docs.js';
import { renderPermissionsDoc } from '../src/shared/commands/permissions.js';

writeFileSync(new URL('../docs/commands.md', import.meta.url), renderCommandDocs());
console.log('wrote docs/commands.md');
writeFileSync(new URL('../docs/permissions.md', import.meta.url), renderPermissionsDoc());
console.log('wrote docs/permissions.md');
