/** README.md's code, for the tests that run it as written (the shell examples: test/readme-examples.test.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';

/** The ```js block of README.md whose first line is `firstLine`. */
export function readmeSnippet(firstLine: string): string {
  const blocks = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').split('```js\n').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  const found = blocks.filter((b) => b.startsWith(firstLine));
  if (found.length !== 1) throw new Error(`README.md has ${found.length} js blocks starting "${firstLine}"`);
  return found[0];
}

/** README.md's webhook signature check, `verifyWebhook(header, rawBody, secret)`. */
export function readmeVerifyWebhook(): (header: string, body: string, secret: string) => boolean {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('require', `${readmeSnippet('// verify a Verigate webhook')}\nreturn verifyWebhook;`)(require);
}
