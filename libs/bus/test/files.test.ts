/** The file store on the real NATS object store: round trip, and nothing left behind by a failed upload. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type FileStore, type NatsConnection, openFileStore } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix } from '@parley/testing';

const s = subjects(randomPrefix());
let nc: NatsConnection;
let store: FileStore;

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'files-test', logger: silentLogger() });
  store = await openFileStore(nc, s);
});

afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`OBJ_${s.filesBucket}`).catch(() => undefined);
  await nc.drain();
});

async function* chunks(data: Buffer, size: number, failAfter?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) {
    if (failAfter !== undefined && i >= failAfter) throw new Error('client went away');
    yield data.subarray(i, i + size);
  }
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of rs as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return Buffer.concat(parts);
}

test('stores a stream in chunks and reads it back, from another connection too', async () => {
  const data = randomBytes(700_000);
  expect(await store.put('files/a/photo.bin', chunks(data, 50_000))).toEqual({ size: data.length });
  const other = await connectBus({
    servers: [await natsUrl()],
    name: 'files-test-2',
    logger: silentLogger(),
  });
  const got = await (await openFileStore(other, s)).get('files/a/photo.bin');
  expect(got?.size).toBe(data.length);
  expect((await readAll(got!.data)).equals(data)).toBe(true);
  await other.drain();
  expect(await store.get('files/missing')).toBeNull();
});

test('a source that fails half way leaves nothing stored', async () => {
  const data = randomBytes(600_000);
  await expect(store.put('files/b/broken.bin', chunks(data, 64_000, 300_000))).rejects.toThrow(
    'client went away',
  );
  expect(await store.get('files/b/broken.bin')).toBeNull();
  expect(await store.list()).toEqual(['files/a/photo.bin']);
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(`OBJ_${s.filesBucket}`);
  // the one stored object: its chunks and its metadata message
  expect(info.state.messages).toBe(Math.ceil(700_000 / (128 * 1024)) + 1);
});

test('delete removes an object', async () => {
  await store.put('files/c/x.txt', chunks(Buffer.from('hello'), 5));
  await store.delete('files/c/x.txt');
  expect(await store.get('files/c/x.txt')).toBeNull();
});
