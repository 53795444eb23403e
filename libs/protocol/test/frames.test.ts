import { describe, expect, test } from '@jest/globals';
import {
  answerFrame,
  clientParams,
  errorFrame,
  FrameError,
  ParleyError,
  parseClientFrame,
  validate,
} from '@parley/protocol';

function frameError(text: string): FrameError {
  try {
    parseClientFrame(text);
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
  throw new Error('parsed');
}

describe('client frames', () => {
  test('event and parameters at the top level, request_id kept apart', () => {
    const f = parseClientFrame(
      '{"event":"dialogs.messages.load","dialog_id":8,"limit":20,"request_id":"a1"}',
    );
    expect(f).toEqual({
      event: 'dialogs.messages.load',
      request_id: 'a1',
      params: { dialog_id: 8, limit: 20 },
    });
  });

  test('bad JSON, non-objects and a missing event are bad_request under event "error"', () => {
    for (const text of ['{', '[]', '42', 'null', '"x"', '{"limit":1}']) {
      const e = frameError(text);
      expect(e.error.code).toBe('bad_request');
      expect(e.event).toBe('error');
    }
  });

  test('an unknown event answers under its own name', () => {
    const e = frameError('{"event":"dialogs.drop","request_id":7}');
    expect(e.error.code).toBe('unknown_event');
    expect(e.event).toBe('dialogs.drop');
    expect(e.request_id).toBe(7);
  });

  test('request_id over 64 characters is a validation error', () => {
    const e = frameError(JSON.stringify({ event: 'dialogs.load', request_id: 'x'.repeat(65) }));
    expect(e.error.code).toBe('validation_error');
    expect(e.error.field).toBe('request_id');
  });
});

describe('parameters (PROTOCOL.md §4)', () => {
  const load = clientParams['dialogs.messages.load'];

  test('integers as numbers or numeric strings; limit defaults to 20, 0 and null too', () => {
    expect(validate(load, { dialog_id: '8' })).toEqual({
      dialog_id: 8,
      limit: 20,
      offset: 0,
      before_id: null,
    });
    expect(validate(load, { dialog_id: 8, limit: 0, offset: null }).limit).toBe(20);
    expect(validate(load, { dialog_id: 8, limit: null }).limit).toBe(20);
    expect(validate(load, { dialog_id: 8, limit: '100', offset: '3' })).toMatchObject({
      limit: 100,
      offset: 3,
    });
  });

  test.each([
    [{}, 'dialog_id', 'required'],
    [{ dialog_id: 'abc' }, 'dialog_id', 'invalid'],
    [{ dialog_id: 0 }, 'dialog_id', 'invalid'],
    [{ dialog_id: 1.5 }, 'dialog_id', 'invalid'],
    [{ dialog_id: 1, limit: 101 }, 'limit', 'invalid'],
    [{ dialog_id: 1, limit: -1 }, 'limit', 'invalid'],
    [{ dialog_id: 1, offset: -1 }, 'offset', 'invalid'],
    [{ dialog_id: true }, 'dialog_id', 'invalid'],
  ])('%j → validation_error on %s', (input, field, reason) => {
    try {
      validate(load, input);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ParleyError);
      expect((err as ParleyError).code).toBe('validation_error');
      expect((err as ParleyError).field).toBe(field);
      expect((err as ParleyError).reason).toBe(reason);
    }
  });

  test('create: client_id at most 64 characters; body optional', () => {
    const create = clientParams['dialogs.messages.create'];
    expect(validate(create, { dialog_id: 1, file_id: '2' })).toMatchObject({
      body: null,
      file_id: 2,
      client_id: null,
    });
    expect(() => validate(create, { dialog_id: 1, body: 'x', client_id: 'c'.repeat(65) })).toThrow(
      ParleyError,
    );
  });
});

describe('server frames (PROTOCOL.md §2)', () => {
  test('answer: type, event, data, then meta and request_id only when given', () => {
    expect(JSON.stringify(answerFrame('notifications.dialogs.count', 1))).toBe(
      '{"type":"ws_send","event":"notifications.dialogs.count","data":1}',
    );
    expect(
      answerFrame('dialogs.load', [], { meta: { limit: 20, offset: 0, total: 0 }, request_id: 'x' }),
    ).toEqual({
      type: 'ws_send',
      event: 'dialogs.load',
      data: [],
      meta: { limit: 20, offset: 0, total: 0 },
      request_id: 'x',
    });
  });

  test('error frame: exception, human data, error{code,message,field}', () => {
    const f = errorFrame('dialogs.messages.load', ParleyError.invalid('dialog_id', 'required'), 'ru');
    expect(f).toEqual({
      type: 'ws_send',
      event: 'dialogs.messages.load',
      exception: true,
      data: 'Не указан `dialog_id`',
      error: { code: 'validation_error', message: 'dialog_id is required', field: 'dialog_id' },
    });
  });
});
