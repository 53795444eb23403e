/** `.env` in development (PROTOCOL.md §7): the file fills gaps, the environment wins, production ignores it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from '@jest/globals';
import { loadDotEnv } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-dotenv-'));
const file = join(dir, '.env');
writeFileSync(file, 'PARLEY_DOTENV_A=from-file\nPARLEY_DOTENV_B="quoted value"\nPARLEY_DOTENV_C=from-file\n');
const nodeEnv = process.env.NODE_ENV;

afterEach(() => {
  for (const k of ['PARLEY_DOTENV_A', 'PARLEY_DOTENV_B', 'PARLEY_DOTENV_C']) delete process.env[k];
  process.env.NODE_ENV = nodeEnv;
});

test('variables missing from the environment come from the file; set ones are kept', () => {
  process.env.PARLEY_DOTENV_C = 'from-shell';
  expect(loadDotEnv(file)).toBe(true);
  expect(process.env.PARLEY_DOTENV_A).toBe('from-file');
  expect(process.env.PARLEY_DOTENV_B).toBe('quoted value');
  expect(process.env.PARLEY_DOTENV_C).toBe('from-shell');
});

test('no file, or production: nothing is read', () => {
  expect(loadDotEnv(join(dir, 'missing.env'))).toBe(false);
  process.env.NODE_ENV = 'production';
  expect(loadDotEnv(file)).toBe(false);
  expect(process.env.PARLEY_DOTENV_A).toBeUndefined();
});
