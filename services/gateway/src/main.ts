/** Start the gateway: read config, connect NATS, create the app, wire signals. No logic here. */
import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { createGateway } from './app.js';
import { gatewayConfigSpec } from './config.js';

const { config, warnings } = loadConfig(gatewayConfigSpec);
const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
installLastResort(logger, 'gateway');
for (const w of warnings) logger.warn(`!!! ${w} — never run like this in production !!!`);

// not awaited: the gateway listens (/readyz 503) while the first connection is still being waited for
const nc = connectBus({
  servers: config.NATS_URL,
  name: `parley-gateway-${config.GATEWAY_ID}`,
  logger,
});
const app = createGateway({ config, nc, logger });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await (await nc).drain();
});
