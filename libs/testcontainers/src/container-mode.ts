/**
 * Container mode: MariaDB, NATS with JetStream, Mailpit and the Parley image (one image, SERVICE picks
 * the service) on a private Docker network, through testcontainers — imported lazily, so process mode
 * never loads it. `mail.messages()` reads Mailpit's API.
 */
import { randomBytes } from 'node:crypto';
import { startedParley } from './admin.js';
import { waitReady } from './ready.js';
import type { ParleyMail, StartedParley, StartParleyOptions } from './types.js';

export const IMAGES = {
  mariadb: 'mariadb:10.11.10',
  nats: 'nats:2.10.24-alpine',
  mailpit: 'axllent/mailpit:v1.27.8',
  parley: 'parley:latest',
} as const;

/** whether a container runtime answers (testcontainers fails in ~0.3 s without one) */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainers(opts: StartParleyOptions): Promise<StartedParley> {
  const tc = await import('testcontainers');
  const { GenericContainer, Network, Wait } = tc;
  const started: Array<{ stop(): Promise<unknown> }> = [];
  const stop = async () => {
    for (const c of started.splice(0).reverse()) await c.stop().catch(() => undefined);
  };
  try {
    const network = await new Network().start();
    started.push(network);
    const db = await new GenericContainer(IMAGES.mariadb)
      .withNetwork(network)
      .withNetworkAliases('mysql')
      .withEnvironment({ MARIADB_ROOT_PASSWORD: 'root', MARIADB_DATABASE: 'parley' })
      .withWaitStrategy(Wait.forLogMessage(/ready for connections/i, 2))
      .start();
    started.push(db);
    const nats = await new GenericContainer(IMAGES.nats)
      .withNetwork(network)
      .withNetworkAliases('nats')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    started.push(nats);
    const mailpit = await new GenericContainer(IMAGES.mailpit)
      .withNetwork(network)
      .withNetworkAliases('mailpit')
      .withExposedPorts(8025)
      .withWaitStrategy(Wait.forHttp('/readyz', 8025))
      .start();
    started.push(mailpit);

    const prefix = 'parley';
    const jwtSecret = randomBytes(24).toString('hex');
    const adminToken = randomBytes(24).toString('hex');
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      NATS_URL: 'nats://nats:4222',
      MYSQL_URL: 'mysql://root:root@mysql:3306/parley',
      SUBJECT_PREFIX: prefix,
      JWT_SECRET: jwtSecret,
      ADMIN_TOKEN: adminToken,
      SMTP_URL: 'smtp://mailpit:1025',
      PORT: '8000',
      ...opts.env,
    };
    let image = opts.image ?? IMAGES.parley;
    if (opts.buildContext) {
      image = 'parley:testcontainers';
      await GenericContainer.fromDockerfile(opts.buildContext).build(image, { deleteOnExit: false });
    }
    const service = (name: string) =>
      new GenericContainer(image).withNetwork(network).withEnvironment({ ...env, SERVICE: name });
    const dialogs = await service('dialogs').start();
    started.push(dialogs);
    const gateway = await service('gateway').withExposedPorts(8000).start();
    started.push(gateway);
    for (const name of ['notifier', 'mailer']) started.push(await service(name).start());

    const httpUrl = `http://${gateway.getHost()}:${gateway.getMappedPort(8000)}`;
    const natsUrl = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
    await waitReady({ httpUrl, natsUrl, prefix, timeoutMs: opts.startTimeoutMs ?? 300_000 });
    const mailApi = `http://${mailpit.getHost()}:${mailpit.getMappedPort(8025)}/api/v1`;

    return startedParley({
      mode: 'container',
      wsUrl: `${httpUrl.replace(/^http/, 'ws')}/ws/`,
      httpUrl,
      prefix,
      adminToken,
      jwtSecret,
      messages: () => mailpitMessages(mailApi),
      stop,
    });
  } catch (err) {
    await stop();
    throw err;
  }
}

interface MailpitAddress {
  Address: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Mailpit answered ${res.status} for ${url}`);
  return (await res.json()) as T;
}

/** Every message in Mailpit, oldest first, with its text, HTML and headers. */
async function mailpitMessages(api: string): Promise<ParleyMail[]> {
  const list = await getJson<{ messages: Array<{ ID: string }> }>(`${api}/messages?limit=1000`);
  const out: ParleyMail[] = [];
  for (const { ID } of [...list.messages].reverse()) {
    const m = await getJson<{
      From: MailpitAddress;
      To: MailpitAddress[];
      Subject: string;
      Text: string;
      HTML: string;
    }>(`${api}/message/${ID}`);
    const raw = await getJson<Record<string, string[]>>(`${api}/message/${ID}/headers`);
    const headers = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v.join(', ')]));
    out.push({
      from: m.From.Address,
      to: m.To.map((t) => t.Address),
      subject: m.Subject,
      text: m.Text,
      html: m.HTML,
      headers,
    });
  }
  return out;
}
