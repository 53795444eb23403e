/**
 * How startParley() picks its mode, and what it says when it cannot start (the happy paths run in
 * examples/downstream, as a downstream team uses them).
 */
import { expect, test } from '@jest/globals';
import { chooseMode, containerRuntimeAvailable, NOTHING_TO_START_WITH, startParley } from '../src/index.js';

test('auto: processes when MySQL, NATS and a build are there, else containers, else one sentence', () => {
  const auto = { mode: 'auto' as const };
  expect(chooseMode({ ...auto, servers: true, built: true, docker: true })).toBe('process');
  expect(chooseMode({ ...auto, servers: true, built: false, docker: true })).toBe('container');
  expect(chooseMode({ ...auto, servers: false, built: true, docker: true })).toBe('container');
  expect(() => chooseMode({ ...auto, servers: true, built: false, docker: false })).toThrow(
    NOTHING_TO_START_WITH,
  );
  expect(NOTHING_TO_START_WITH.split('. ')).toHaveLength(1);
  expect(() => chooseMode({ mode: 'container', servers: true, built: true, docker: false })).toThrow(
    /Docker/,
  );
  expect(() => chooseMode({ mode: 'process', servers: false, built: true, docker: true })).toThrow(
    /MYSQL_URL/,
  );
});

test('on this machine: without a build and without Docker, startParley() says so in one sentence', async () => {
  const docker = await containerRuntimeAvailable();
  const attempt = startParley({ servicesDir: '/nonexistent', mode: docker ? 'process' : 'auto' });
  await expect(attempt).rejects.toThrow(docker ? /not built/ : NOTHING_TO_START_WITH);
});

test('process mode without a build names the missing files', async () => {
  await expect(startParley({ mode: 'process', servicesDir: '/nonexistent' })).rejects.toThrow(
    /not built \(run npm run build\): missing \/nonexistent\/dialogs\/dist\/main\.js/,
  );
});
