import { createHmac } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import {
  parseUnsubscribeUserId,
  signUnsubscribeToken,
  UNSUBSCRIBE_PATH,
  unsubscribePath,
  verifyUnsubscribeToken,
} from '@parley/protocol';

const SECRET = 'unsubscribe-test-secret-0123456789';

describe('unsubscribe tokens', () => {
  test('a signed token verifies for its user and secret only', () => {
    const token = signUnsubscribeToken(SECRET, 42);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signUnsubscribeToken(SECRET, 42)).toBe(token);
    expect(verifyUnsubscribeToken(SECRET, 42, token)).toBe(true);
    expect(verifyUnsubscribeToken(SECRET, 43, token)).toBe(false);
    expect(verifyUnsubscribeToken(`${SECRET}x`, 42, token)).toBe(false);
    expect(signUnsubscribeToken(SECRET, 43)).not.toBe(token);
  });

  test('it is HMAC-SHA256 over the domain-separated string', () => {
    const expected = createHmac('sha256', SECRET).update('parley-unsubscribe:v1:42').digest('base64url');
    expect(signUnsubscribeToken(SECRET, 42)).toBe(expected);
  });

  test('malformed or tampered tokens and bad user ids never verify', () => {
    const token = signUnsubscribeToken(SECRET, 7);
    const first = token[0] === 'A' ? 'B' : 'A';
    // 43 characters carry 258 bits for 256: flipping the last character's lowest bit decodes to the same MAC
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const nonCanonical = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1) as string) ^ 1]}`;
    expect(Buffer.from(nonCanonical, 'base64url')).toEqual(Buffer.from(token, 'base64url'));
    for (const bad of [
      '',
      'x',
      `${token}=`,
      `${token}A`,
      token.slice(1),
      `${first}${token.slice(1)}`,
      nonCanonical,
      token.replace(/./, '.'),
      // a JWT signature over the same key is never an unsubscribe token
      createHmac('sha256', SECRET).update('eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo3fQ').digest('base64url'),
    ]) {
      expect(verifyUnsubscribeToken(SECRET, 7, bad)).toBe(false);
    }
    for (const id of [0, -7, 1.5, Number.NaN, 2 ** 53])
      expect(verifyUnsubscribeToken(SECRET, id, token)).toBe(false);
    expect(() => signUnsubscribeToken(SECRET, 0)).toThrow(RangeError);
  });

  test('the path round-trips through the gateway pattern', () => {
    const token = signUnsubscribeToken(SECRET, 9);
    const path = unsubscribePath(9, token);
    const m = UNSUBSCRIBE_PATH.exec(path);
    expect(m?.[1]).toBe('9');
    expect(m?.[2]).toBe(token);
    expect(parseUnsubscribeUserId('9')).toBe(9);
    for (const bad of ['0', '09', '-9', '9.0', 'abc', '', '99999999999999999']) {
      expect(parseUnsubscribeUserId(bad)).toBeNull();
    }
  });
});
