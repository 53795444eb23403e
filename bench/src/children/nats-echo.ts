/** A raw NATS responder: `node nats-echo.js <nats-url> <subject>` answers every request with its own bytes. */
import { connect } from 'nats';

const [natsUrl, subject] = process.argv.slice(2);
const nc = await connect({ servers: natsUrl!, name: 'bench-echo' });
nc.subscribe(subject!, { callback: (_err, msg) => msg.respond(msg.data) });
const stop = () => void nc.drain().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
