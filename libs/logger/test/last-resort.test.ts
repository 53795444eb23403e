/**
 * The last resort in a real child process: an uncaught exception or an
 * unhandled rejection ends the process with exit code 1 and exactly one fatal
 * line naming the error (type, code, message) and nothing of its SQL or
 * parameters; a service's own sentence replaces the generic one; driver errors
 * logged on the way never carry the SQL's values either.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, test } from '@jest/globals';

const root = join(import.meta.dirname, '../../..');
const fixture = join(import.meta.dirname, 'fixtures/last-resort-child.mjs');

beforeAll(() => {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'libs/logger'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b libs/logger failed:\n${build.stdout}${build.stderr}`);
}, 120_000);

interface Line {
  level: number;
  msg: string;
  process?: string;
  error?: { type: string; code?: string; message: string; stack?: string };
  err?: Record<string, unknown>;
}

function run(mode: string): Promise<{ code: number | null; raw: string; lines: Line[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, mode], {
      cwd: root,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${mode} child did not exit; output:\n${raw}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const lines = raw
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
      resolve({ code, raw, lines });
    });
  });
}

const fatalLines = (lines: Line[]) => lines.filter((l) => l.level >= 50);

test.each([
  ['throw', 'fixture: uncaught exception; state unknown, exiting', 'ER_PARSE_ERROR'],
  ['reject', 'fixture: unhandled promise rejection; state unknown, exiting', 'ER_LOCK_DEADLOCK'],
  ['explained', 'fixture: the database schema is missing', 'ER_NO_SUCH_TABLE'],
])('%s: exit 1 with one fatal line, no SQL, no parameters', async (mode, msg, code) => {
  const out = await run(mode);
  expect(out.code).toBe(1);
  expect(fatalLines(out.lines)).toHaveLength(1);
  const [line] = fatalLines(out.lines);
  expect(line).toMatchObject({
    level: 60,
    msg,
    service: 'fixture',
    process: 'fixture',
    error: { type: 'Error', code, message: `query failed (${code})` },
  });
  expect(out.raw).not.toContain('SECRET-BODY');
});

test('fatal called twice (two failures at once) logs one line and exits 1', async () => {
  const out = await run('fatal-twice');
  expect(out.code).toBe(1);
  expect(fatalLines(out.lines).map((l) => l.msg)).toEqual(['fixture: first reason']);
});

test('a driver error logged as err keeps its code and message but not the SQL values', async () => {
  const out = await run('log-driver-error');
  expect(out.code).toBe(0);
  const [line] = fatalLines(out.lines);
  expect(line?.err).toMatchObject({ code: 'ER_DATA_TOO_LONG', message: 'query failed (ER_DATA_TOO_LONG)' });
  expect(out.raw).not.toContain('SECRET-BODY');
});
