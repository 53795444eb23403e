/** Uploads and downloads over HTTP, bytes in the NATS object store, metadata in a real `dialogs`. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openFileStore } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { connectWs } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { type Backend, http, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gwA: StartedGateway;
let gwB: StartedGateway;
let tokenA: string;
let tokenB: string;

/** a 1×1 PNG */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

function form(bytes: Buffer, name: string, field = 'content'): FormData {
  const f = new FormData();
  f.append('note', 'ignored');
  f.append(field, new Blob([new Uint8Array(bytes)]), name);
  return f;
}

const upload = (gw: StartedGateway, token: string, body: FormData) =>
  http(`${gw.url}/api/files/`, { method: 'POST', token, body });

async function storedNames(): Promise<string[]> {
  return (await openFileStore(gwA.nc, subjects(backend.prefix))).list();
}

beforeAll(async () => {
  backend = await startBackend();
  gwA = await startGateway(backend.prefix, { MAX_UPLOAD_BYTES: '200000' });
  gwB = await startGateway(backend.prefix);
  await createUser(backend.dialogs.rpc, 701);
  await createUser(backend.dialogs.rpc, 702);
  tokenA = await mintToken(701);
  tokenB = await mintToken(702);
});

afterAll(async () => {
  await gwA?.stop();
  await gwB?.stop();
  await backend?.stop();
});

describe('upload through A, download through B', () => {
  test('an image: 201 File, served inline with its type and nosniff', async () => {
    const res = await upload(gwA, tokenA, form(PNG, 'dot.png'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      file_name: 'dot.png',
      size: PNG.length,
      content_type: 'image/png',
      type: 2,
    });
    expect(res.body.content).toMatch(/^\/media\//);
    const got = await fetch(`${gwB.url}${res.body.content}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG)).toBe(true);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(got.headers.get('content-disposition')).toMatch(/^inline;/);
  });

  test('text and unknown bytes: sniffed, not trusted from the client, served as attachments', async () => {
    const text = await upload(
      gwA,
      tokenA,
      form(Buffer.from('привет, <script>alert(1)</script>'), 'évil.html'),
    );
    expect(text.body).toMatchObject({ content_type: 'text/plain', type: 1, file_name: 'évil.html' });
    const bin = randomBytes(150_000);
    bin[0] = 0;
    const blob = await upload(gwA, tokenA, form(bin, 'blob.bin'));
    expect(blob.body).toMatchObject({ content_type: 'application/octet-stream', type: 1, size: bin.length });
    for (const [res, bytes] of [
      [text, null],
      [blob, bin],
    ] as const) {
      const got = await fetch(`${gwB.url}${res.body.content}`);
      expect(got.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
      expect(got.headers.get('content-type')).toBe(res.body.content_type);
      const body = Buffer.from(await got.arrayBuffer());
      if (bytes) expect(body.equals(bytes)).toBe(true);
    }
  });
});

describe('refused uploads', () => {
  test('over MAX_UPLOAD_BYTES → 413 and nothing stored', async () => {
    const before = await storedNames();
    const res = await upload(gwA, tokenA, form(randomBytes(250_000), 'big.bin'));
    expect(res).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await storedNames()).toEqual(before);
  });

  test('without a token → 401; without the content field → 400', async () => {
    expect((await upload(gwA, '', form(PNG, 'a.png'))).status).toBe(401);
    const res = await upload(gwA, tokenA, form(PNG, 'a.png', 'file'));
    expect(res).toMatchObject({ status: 400, body: { code: 'validation_error', field: 'content' } });
    const notMultipart = await http(`${gwA.url}/api/files/`, {
      method: 'POST',
      token: tokenA,
      json: { a: 1 },
    });
    expect(notMultipart).toMatchObject({ status: 400, body: { code: 'bad_request' } });
  });

  test('an unknown media path → 404', async () => {
    expect(await http(`${gwB.url}/media/files/nope/x.png`)).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
  });
});

test('attaching: one’s own file works; a file uploaded by another user → forbidden', async () => {
  const dialog = await createDialog(backend.dialogs.rpc, [701, 702]);
  const mine = (await upload(gwA, tokenA, form(PNG, 'mine.png'))).body;
  const theirs = (await upload(gwB, tokenB, form(PNG, 'theirs.png'))).body;
  const s = await connectWs(gwA.url, { token: tokenA });
  const ok = await s.request({ event: 'dialogs.messages.create', dialog_id: dialog.id, file_id: mine.id });
  expect(ok.data.file).toMatchObject({ id: mine.id, content: mine.content });
  const refused = await s.request({
    event: 'dialogs.messages.create',
    dialog_id: dialog.id,
    file_id: theirs.id,
  });
  expect(refused).toMatchObject({ exception: true, error: { code: 'forbidden' } });
  await s.close();
});

test('a files bucket at FILES_BUCKET_MAX_BYTES refuses the upload (503 unavailable), keeps what it had', async () => {
  const small = await startBackend();
  const gw = await startGateway(small.prefix, { FILES_BUCKET_MAX_BYTES: '300000' });
  try {
    await createUser(small.dialogs.rpc, 703);
    const token = await mintToken(703);
    const first = await upload(gw, token, form(randomBytes(200_000), 'one.bin'));
    expect(first.status).toBe(201);
    const second = await upload(gw, token, form(randomBytes(200_000), 'two.bin'));
    expect(second).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    const names = await (await openFileStore(gw.nc, subjects(small.prefix))).list();
    expect(names).toHaveLength(1);
    const again = await fetch(`${gw.url}${first.body.content}`);
    expect((await again.arrayBuffer()).byteLength).toBe(200_000);
  } finally {
    await gw.stop();
    await small.stop();
  }
});

test('UPLOAD_BYTES_PER_USER_PER_DAY: past the day’s allowance → 429 rate_limited before storing; others unaffected', async () => {
  const gw = await startGateway(backend.prefix, { UPLOAD_BYTES_PER_USER_PER_DAY: '300000' });
  try {
    await createUser(backend.dialogs.rpc, 704);
    await createUser(backend.dialogs.rpc, 705);
    const [heavy, light] = [await mintToken(704), await mintToken(705)];
    expect((await upload(gw, heavy, form(randomBytes(200_000), 'a.bin'))).status).toBe(201);
    const before = await storedNames();
    const refused = await upload(gw, heavy, form(randomBytes(200_000), 'b.bin'));
    expect(refused).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
    expect(await storedNames()).toEqual(before);
    // what is left of the allowance still takes a small file; another user has their own
    expect((await upload(gw, heavy, form(randomBytes(50_000), 'c.bin'))).status).toBe(201);
    expect((await upload(gw, light, form(randomBytes(200_000), 'd.bin'))).status).toBe(201);
  } finally {
    await gw.stop();
  }
});
