#!/usr/bin/env node
// The image's HEALTHCHECK, for whichever service the container runs (SERVICE). An operations probe
// beside the services, not service code: it reads the same variables the service was started with.
//   gateway            GET /healthz on PORT
//   notifier, mailer   GET /healthz on METRICS_PORT (the image turns it on)
//   dialogs            a request on NATS answered by a dialogs instance (no HTTP port of its own)
import { connectBus, createRpcClient } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';

const env = process.env;
const ok = () => process.exit(0);
const fail = (why) => {
  console.error(`unhealthy: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('no answer within 4 s'), 4000).unref();

async function probe(port) {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return res.ok ? ok() : fail(`/healthz answered ${res.status}`);
}

try {
  switch (env.SERVICE) {
    case 'gateway':
      await probe(env.PORT || '8000');
      break;
    case 'notifier':
    case 'mailer':
      if (!Number(env.METRICS_PORT)) fail('METRICS_PORT is 0: nothing to probe');
      await probe(env.METRICS_PORT);
      break;
    case 'dialogs': {
      const nc = await connectBus({
        servers: (env.NATS_URL || 'nats://127.0.0.1:4222').split(','),
        name: 'healthcheck',
        logger: silentLogger(),
      });
      const rpc = createRpcClient(nc, subjects(env.SUBJECT_PREFIX || 'parley'), { timeoutMs: 3000 });
      await rpc.request('users.contacts', { user_id: 1 });
      await nc.close();
      ok();
      break;
    }
    default:
      fail(`unknown SERVICE ${env.SERVICE}`);
  }
} catch (err) {
  fail(err?.code ?? err?.message ?? String(err));
}
