/**
 * Development helper: print a JWT for a user id, signed with JWT_SECRET (read through the config).
 *   node dist/cli/mint-token.js <user_id> [--email a@b.c] [--first-name A] [--last-name B] [--ttl 3600]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@parley/config';
import { SignJWT } from 'jose';
import { gatewayConfigSpec } from '../config.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    email: { type: 'string' },
    'first-name': { type: 'string' },
    'last-name': { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
});
const userId = Number(positionals[0]);
const ttl = Number(values.ttl);
if (!Number.isSafeInteger(userId) || userId <= 0 || !Number.isSafeInteger(ttl) || ttl <= 0) {
  process.stderr.write(
    'usage: mint-token <user_id> [--email ..] [--first-name ..] [--last-name ..] [--ttl 3600]\n',
  );
  process.exit(64);
}
const { config, warnings } = loadConfig({
  JWT_SECRET: gatewayConfigSpec.JWT_SECRET,
  JWT_ISSUER: gatewayConfigSpec.JWT_ISSUER,
  JWT_AUDIENCE: gatewayConfigSpec.JWT_AUDIENCE,
});
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
const now = Math.floor(Date.now() / 1000);
const claims: Record<string, unknown> = { user_id: userId, username: `user${userId}`, orig_iat: now };
if (values.email) claims.email = values.email;
if (values['first-name']) claims.first_name = values['first-name'];
if (values['last-name']) claims.last_name = values['last-name'];
if (config.JWT_ISSUER) claims.iss = config.JWT_ISSUER;
if (config.JWT_AUDIENCE) claims.aud = config.JWT_AUDIENCE;
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setIssuedAt(now)
  .setExpirationTime(now + ttl)
  .sign(new TextEncoder().encode(config.JWT_SECRET));
process.stdout.write(`${token}\n`);
