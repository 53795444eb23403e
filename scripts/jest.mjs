#!/usr/bin/env node
// Runs jest in ESM mode against the real servers (MYSQL_URL, NATS_URL; else the
// local defaults when they answer; else the test kit's fallbacks: a private
// nats-server, testcontainers, or one sentence saying what to set), then prints
// one plain "N passed, N failed" line that CI recognises.
//
// Without arguments (`npm test`) it runs every suite, then the fault tests
// (`e2e/*.chaos.ts`: whole systems of processes SIGKILLed mid-stream) one at a
// time, after the rest, so their timings do not compete with two parallel
// workers. With arguments, jest runs once with them.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = {
  ...process.env,
  NODE_OPTIONS:
    `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --disable-warning=ExperimentalWarning`.trim(),
  // prefixes of this run start with it, so the global teardown can remove what the run left
  PARLEY_TEST_RUN: randomBytes(2).toString('hex'),
};
if (!env.MYSQL_URL && (await answers(3306))) env.MYSQL_URL = 'mysql://root@127.0.0.1:3306';
if (!env.NATS_URL && (await answers(4222))) env.NATS_URL = 'nats://127.0.0.1:4222';

const given = process.argv.slice(2);
const passes = given.length ? [given] : [[], ['--testMatch', '<rootDir>/e2e/**/*.chaos.ts', '--runInBand']];
const total = { passed: 0, failed: 0, skipped: 0, ran: 0, status: 0 };
for (const [i, args] of passes.entries()) {
  if (passes.length > 1)
    console.log(`\njest: pass ${i + 1} of ${passes.length}${args.length ? ` (${args.join(' ')})` : ''}`);
  const r = runJest(args);
  total.passed += r.passed;
  total.failed += r.failed;
  total.skipped += r.skipped;
  total.ran += r.ran;
  total.status ||= r.status;
}
if (env.NATS_URL) await dropRunStreams(env.NATS_URL, env.PARLEY_TEST_RUN);
console.log(
  `\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`,
);
if (total.ran === 0) {
  console.log('no test ran');
  process.exit(1);
}
process.exit(total.status);

/** one jest run; its counts from the JSON report */
function runJest(args) {
  const out = join(tmpdir(), `parley-jest-${process.pid}.json`);
  rmSync(out, { force: true });
  const jestArgs = ['node_modules/jest/bin/jest.js', '--json', `--outputFile=${out}`, ...args];
  const r = spawnSync(process.execPath, jestArgs, { stdio: 'inherit', env });
  const counts = { passed: 0, failed: 0, skipped: 0, ran: 0, status: r.status ?? 1 };
  if (existsSync(out)) {
    const res = JSON.parse(readFileSync(out, 'utf8'));
    counts.passed = res.numPassedTests;
    counts.failed = res.numFailedTests;
    counts.skipped = res.numPendingTests + res.numTodoTests;
    counts.ran = res.numTotalTests;
    rmSync(out, { force: true });
  }
  return counts;
}

/**
 * Delete the JetStream streams, KV and object buckets this run's suites left on
 * the shared server (their prefixes all start with `t<run id>`). Tooling, not
 * service code: the only place outside libs/bus that talks to nats directly.
 */
async function dropRunStreams(url, runId) {
  const { connect } = await import('nats');
  let nc;
  try {
    nc = await connect({ servers: url.split(','), timeout: 2000 });
    const jsm = await nc.jetstreamManager();
    const mine = new RegExp(`^(KV_|OBJ_)?t${runId}[0-9a-f]{10}_`);
    const names = [];
    for await (const s of jsm.streams.list()) if (mine.test(s.config.name)) names.push(s.config.name);
    for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
  } catch {
    // best effort: a run against a server that went away leaves its streams behind
  } finally {
    await nc?.close();
  }
}

/** whether something listens on 127.0.0.1:port */
function answers(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
