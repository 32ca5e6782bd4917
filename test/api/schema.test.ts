/** schema.graphql is emitted from the code (`npm run schema`); this fails when they drift. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printVerigateSchema } from '../../src/api/schema';
import { PROJECT_ROOT } from '../../src/paths';

it('schema.graphql matches the schema the code builds', async () => {
  const committed = readFileSync(join(PROJECT_ROOT, 'schema.graphql'), 'utf8');
  expect(await printVerigateSchema()).toBe(committed);
});
