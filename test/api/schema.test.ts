/**
 * schema.graphql is emitted from the code; this fails when they drift. Regenerate with
 * `npm run schema` (or `UPDATE_SCHEMA=1 npx jest test/api/schema` without a build).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printVerigateSchema } from '../../src/api/schema';
import { PROJECT_ROOT } from '../../src/paths';

const FILE = join(PROJECT_ROOT, 'schema.graphql');

it('schema.graphql matches the schema the code builds', async () => {
  const emitted = await printVerigateSchema();
  if (process.env.UPDATE_SCHEMA === '1') writeFileSync(FILE, emitted);
  expect(readFileSync(FILE, 'utf8')).toBe(emitted);
});
