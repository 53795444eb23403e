#!/usr/bin/env node
// Runs jest in ESM mode against the real servers (MYSQL_URL, NATS_URL), then
// prints one plain "N passed, N failed" line that CI recognises.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const out = '.jest-results.json';
rmSync(out, { force: true });
const env = {
  ...process.env,
  NODE_OPTIONS:
    `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --disable-warning=ExperimentalWarning`.trim(),
  MYSQL_URL: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
  NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};
const args = ['node_modules/jest/bin/jest.js', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
if (existsSync(out)) {
  const res = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = res.numPendingTests + res.numTodoTests;
  console.log(
    `\n${res.numPassedTests} passed, ${res.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  if (res.numTotalTests === 0) {
    console.log('no test ran');
    process.exit(1);
  }
}
process.exit(r.status ?? 1);
