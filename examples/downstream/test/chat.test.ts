/**
 * What a team building on Parley writes to test its app: start Parley (process mode here and in CI;
 * containers where a Docker engine runs), create users and a dialog through the admin API, let two
 * clients chat, and check the e-mail the mailer sent. Only the public packages are imported.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { type MessageDto, ParleyClient } from '@parley/client';
import {
  containerRuntimeAvailable,
  type ParleyMail,
  type StartedParley,
  type StartParleyOptions,
  startParley,
} from '@parley/testcontainers';
import WebSocket from 'ws';

const docker = await containerRuntimeAvailable();
if (!docker) console.log('container mode skipped: no Docker engine answers on this machine');

/** poll until `check` returns something truthy */
async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running: Array<{ stop(): unknown }> = [];
afterAll(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
}, 60_000);

async function chatScenario(options: StartParleyOptions): Promise<void> {
  const parley: StartedParley = await startParley(options);
  running.push(parley);

  const teacher = await parley.createUser({ first_name: 'Tanya', last_name: 'Teacher', role: 'reviewer' });
  const student = await parley.createUser({
    first_name: 'Sam',
    last_name: 'Student',
    email_notifications: true,
  });
  const dialog = await parley.createDialog([student.id, teacher.id]);

  const connect = async (token: string) => {
    const client = new ParleyClient({ url: parley.wsUrl, token, WebSocket });
    running.push({ stop: () => client.close() });
    await client.connect();
    return client;
  };
  const sam = await connect(student.token);
  const tanya = await connect(teacher.token);
  const tanyaSees: MessageDto[] = [];
  tanya.on('dialogs.messages.create', (m) => tanyaSees.push(m));
  const samSees: MessageDto[] = [];
  sam.on('dialogs.messages.create', (m) => samSees.push(m));

  const question = await sam.request('dialogs.messages.create', {
    dialog_id: dialog.id,
    body: 'How do I *start*?',
  });
  expect(question.body).toContain('<em>start</em>');
  await eventually(() => tanyaSees.find((m) => m.id === question.id), "the question on Tanya's socket");
  expect(await tanya.request('notifications.dialogs.count', {})).toBe(1);

  const answer = await tanya.request('dialogs.messages.create', {
    dialog_id: dialog.id,
    body: 'Read the README',
  });
  await eventually(() => samSees.find((m) => m.id === answer.id), "the answer on Sam's socket");
  const history = await sam.request('dialogs.messages.load', { dialog_id: dialog.id });
  expect(history.map((m) => m.markdown_body)).toEqual(['How do I *start*?', 'Read the README']);

  // each got an e-mail about the other's message
  const mailTo = (address: string) => (all: ParleyMail[]) => all.find((m) => m.to.includes(address));
  const toTanya = await eventually(
    async () => mailTo(teacher.email)(await parley.mail.messages()),
    'the mail to Tanya',
  );
  expect(toTanya.subject).toContain('Sam Student');
  expect(toTanya.text).toContain('How do I');
  expect(toTanya.headers['list-unsubscribe']).toBeDefined();
  const toSam = await eventually(
    async () => mailTo(student.email)(await parley.mail.messages()),
    'the mail to Sam',
  );
  expect(toSam.subject).toContain('Tanya Teacher');
}

describe('an app tested against Parley', () => {
  test(
    'process mode: the built services on the given MySQL and NATS',
    () => chatScenario({ mode: 'process' }),
    120_000,
  );

  // a team using the published image passes `image`; this repository builds it from its Dockerfile
  (docker ? test : test.skip)(
    'container mode: MariaDB, NATS, Mailpit and the Parley image',
    () => chatScenario({ mode: 'container', buildContext: new URL('../../..', import.meta.url).pathname }),
    600_000,
  );
});
