/** The README's configuration table and .env.example are the services' declarations, rendered (STYLE.md habit 7). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { renderConfigTable, renderEnvExample } from '@parley/config';
import { dialogsConfigSpec } from '../services/dialogs/src/config.js';
import { gatewayConfigSpec } from '../services/gateway/src/config.js';
import { mailerConfigSpec } from '../services/mailer/src/config.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';

const root = join(import.meta.dirname, '..');
const specs = {
  gateway: gatewayConfigSpec,
  dialogs: dialogsConfigSpec,
  notifier: notifierConfigSpec,
  mailer: mailerConfigSpec,
};
const regenerate = 'run `npm run docs:config`';

test('README.md configuration table matches the declarations', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const table = /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(readme)?.[1];
  expect({ table, hint: regenerate }).toEqual({ table: renderConfigTable(specs), hint: regenerate });
});

test('.env.example lists every declared variable with its default', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  expect({ example, hint: regenerate }).toEqual({ example: renderEnvExample(specs), hint: regenerate });
});

test('every variable of PROTOCOL.md §7 is declared by some service', () => {
  const doc = readFileSync(join(root, 'docs/protocol.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 7.'));
  const named = [...section.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)?/gm)].flatMap((m) => [m[1], m[2]]);
  const declared = new Set(Object.values(specs).flatMap((s) => Object.keys(s)));
  const missing = named.filter((n): n is string => Boolean(n) && !declared.has(n as string));
  expect(missing).toEqual([]);
});
