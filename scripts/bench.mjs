#!/usr/bin/env node
// `npm run bench` (after `npm run build`): compiles bench/ and runs it against the real services on
// 127.0.0.1 (MYSQL_URL, NATS_URL as for the tests). A watchdog bounds the whole run: SIGTERM at 420 s
// (the bench cleans up), SIGKILL 20 s later, and then every child PID the bench reported is killed too.
import { spawn, spawnSync } from 'node:child_process';

const TERM_AFTER_MS = 420_000;
const KILL_GRACE_MS = 20_000;

const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.json'], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const childPids = new Set();
const bench = spawn(process.execPath, ['bench/dist/main.js'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: {
    ...process.env,
    MYSQL_URL: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  },
});
bench.on('message', (m) => {
  if (m && typeof m.childPid === 'number') childPids.add(m.childPid);
});

let killTimer;
const termTimer = setTimeout(() => {
  console.error(`bench: still running after ${TERM_AFTER_MS / 1000} s, sending SIGTERM`);
  bench.kill('SIGTERM');
  killTimer = setTimeout(() => bench.kill('SIGKILL'), KILL_GRACE_MS);
}, TERM_AFTER_MS);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => bench.kill(sig));

bench.on('exit', (code, signal) => {
  clearTimeout(termTimer);
  clearTimeout(killTimer);
  for (const pid of childPids) {
    try {
      process.kill(pid, 0);
      console.error(`bench: child ${pid} outlived the bench, killing it`);
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(code ?? (signal ? 2 : 1));
});
