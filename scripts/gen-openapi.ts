// Writes openapi.json (the automation API's OpenAPI 3.1 document, built from the zod schemas the service
// validates with and answers by; the service serves the same document at /api/v1/openapi.json).
// `npm run docs:api`; a unit test checks the checked-in file is current.
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from '../src/server/openapi.js';

writeFileSync(new URL('../openapi.json', import.meta.url), renderOpenApi());
console.log('wrote openapi.json');
