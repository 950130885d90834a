import express from 'express';
import { createHttpServer } from '../src/http/server/httpServer';

/**
 * Bench only (part 1): Express alone. Express 5 on the service's HTTP server
 * (createHttpServer), the JSON body parser and one `POST /messages` route
 * answering 201 with a small JSON body: no middleware, no session token, no
 * Genesys. What the framework itself costs per request on this machine,
 * measured with the same client as the service, against the CPU a service
 * may spend per message if it is to reach half the floor's throughput.
 */
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});
app.post('/messages', express.json(), (req, res) => {
  res.status(201).json({ message: { text: (req.body as { text?: unknown }).text, direction: 'Inbound' } });
});

const server = createHttpServer(app);
server.on('request', app);
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
