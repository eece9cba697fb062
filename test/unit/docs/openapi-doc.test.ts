// Openapi.json (checked in) is the document the service serves, generated from the zod schemas
// (npm run docs:api); its schemas compile as JSON Schema 2020-12 and it describes every automation route.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { renderOpenApi } from '../../../src/server/openapi.js';
import { ROUTES } from '../../../src/shared/commands/permissions.js';

const checkedIn = readFileSync(new URL('../../../openapi.json', import.meta.url), 'utf8');

describe('openapi.json', () => {
  it('is up to date (run npm run docs:api)', () => {
    expect(checkedIn).toBe(renderOpenApi());
  });

  it('has schemas that compile, and a path for every batch and machine action route', () => {
    const doc = JSON.parse(checkedIn) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, object> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries(doc.components.schemas))
      ajv.addSchema(schema, `#/components/schemas/${name}`);
    for (const name of Object.keys(doc.components.schemas))
      expect(ajv.getSchema(`#/components/schemas/${name}`), name).toBeDefined();
    const automation = ROUTES.filter((r) =>
      /^\/api\/v1\/(batches|machines|machineactions|results|openapi|devices\/:device\/commands)/.test(r.path),
    );
    expect(automation.length).toBeGreaterThan(10);
    for (const r of automation) {
      const path = r.path.replace(
        /:([a-z]+)/gi,
        (_, n: string) => `{${n === 'device' && !r.path.endsWith('/commands') ? 'deviceId' : n}}`,
      );
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`).toBeDefined();
    }
  });
});
