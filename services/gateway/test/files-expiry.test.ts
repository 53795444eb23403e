/**
 * Unattached uploads expire (dialogs' files sweeper, FILES_UNATTACHED_TTL_HOURS): an upload no
 * message carries loses its row and its bytes; one attached to a message stays. Real dialogs,
 * gateway, object store; a TTL of a few seconds.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { openFileStore } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { connectWs, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { type Backend, http, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gw: StartedGateway;

beforeAll(async () => {
  // 0.002 h = 7.2 s
  backend = await startBackend({
    config: { FILES_UNATTACHED_TTL_HOURS: 0.002, FILES_SWEEP_INTERVAL_MS: 300 },
  });
  gw = await startGateway(backend.prefix);
  await createUser(backend.dialogs.rpc, 1201);
  await createUser(backend.dialogs.rpc, 1202);
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

async function upload(token: string, name: string) {
  const f = new FormData();
  f.append('content', new Blob([new Uint8Array(randomBytes(2000))]), name);
  const res = await http(`${gw.url}/api/files/`, { method: 'POST', token, body: f });
  expect(res.status).toBe(201);
  return res.body as { id: number; content: string };
}

test('an upload no message carries is deleted (row and bytes) after the TTL; an attached one stays', async () => {
  const token = await mintToken(1201);
  const dialog = await createDialog(backend.dialogs.rpc, [1201, 1202]);
  const loose = await upload(token, 'loose.bin');
  const kept = await upload(token, 'kept.bin');
  const s = await connectWs(gw.url, { token });
  const sent = await s.request({ event: 'dialogs.messages.create', dialog_id: dialog.id, file_id: kept.id });
  expect(sent.data.file.id).toBe(kept.id);
  await s.close();

  const store = await openFileStore(gw.nc, subjects(backend.prefix));
  const keyOf = (content: string) => decodeURIComponent(content.replace(/^\/media\//, ''));
  await waitFor(async () => (await http(`${gw.url}${loose.content}`)).status === 404, {
    timeoutMs: 60_000,
    what: 'the unattached upload to expire',
  });
  await waitFor(async () => !(await store.list()).includes(keyOf(loose.content)), {
    timeoutMs: 30_000,
    what: 'the expired upload’s bytes to leave the object store',
  });
  // one more sweep after the TTL has passed for both: the attached file is still served
  await backend.dialogs.service.sweeper?.sweep();
  expect((await http(`${gw.url}${kept.content}`)).status).toBe(200);
  expect(await store.list()).toContain(keyOf(kept.content));
}, 90_000);
