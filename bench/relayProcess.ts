import http from 'node:http';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { RawGuest } from './lib/guestWs';

/**
 * Bench only: the bare relay, the least any backend for frontend must do per
 * message, as its own process (RELAY=http: plain `node:http`; RELAY=express:
 * the same as Express 5 routes with the JSON body parser). One Guest API
 * socket per session, as the service keeps: `POST /guest-session` opens and
 * configures it; `POST /messages` parses the body, sends `onMessage` on the
 * session's socket and answers with the echo; `GET /messages` fetches the
 * guest JWT once per session and relays the history page; `GET /healthz`
 * answers at once. No validation, no sealing, no log: the floor of a relay.
 */

const SIM_WS = process.env.SIM_WS_URL!;
const SIM_API = new URL(process.env.SIM_API_URL!);
const DEPLOYMENT_ID = process.env.DEPLOYMENT_ID!;
const ORIGIN = 'http://localhost:3000';
const TEXT_REPLY = { 'Content-Type': 'application/json' };

interface Session {
  guest: RawGuest;
  jwt?: Promise<string>;
}
const sessions = new Map<string, Session>();
const upstream = new http.Agent({ keepAlive: true, maxSockets: 64 });

async function newSession(): Promise<string> {
  const guest = new RawGuest(SIM_WS, DEPLOYMENT_ID, ORIGIN);
  await guest.connect();
  await guest.configure();
  const id = randomUUID();
  sessions.set(id, { guest });
  return id;
}

function sessionOf(authorization: string | undefined): Session | undefined {
  return authorization ? sessions.get(authorization.slice('Bearer '.length)) : undefined;
}

async function send(session: Session, text: string): Promise<unknown> {
  const reply = await session.guest.call({
    action: 'onMessage',
    message: { type: 'Text', text, metadata: { id: randomUUID() } },
  });
  return reply.body;
}

function history(session: Session): Promise<string> {
  session.jwt ??= session.guest.getJwt();
  return session.jwt.then(
    (jwt) =>
      new Promise((resolve, reject) => {
        const req = http.get(
          {
            host: SIM_API.hostname,
            port: SIM_API.port,
            path: '/api/v2/webmessaging/messages?pageNumber=1&pageSize=25',
            agent: upstream,
            headers: { Authorization: `bearer ${jwt}` },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
      }),
  );
}

function plainHttp(): http.Server {
  return http.createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      res.writeHead(status, { ...TEXT_REPLY, 'Content-Length': payload.length });
      res.end(payload);
    };
    const fail = () => answer(502, { error: 'upstream' });
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) return answer(200, { status: 'ok' });
    if (req.method === 'POST' && req.url === '/guest-session') {
      req.resume();
      newSession().then((sessionToken) => answer(201, { sessionToken }), fail);
      return;
    }
    const session = sessionOf(req.headers.authorization);
    if (!session) return answer(401, { error: 'unknown session' });
    if (req.method === 'GET' && req.url?.startsWith('/messages')) {
      history(session).then((page) => answer(200, page), fail);
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const { text } = JSON.parse(raw) as { text: string };
      send(session, text).then((message) => answer(201, { message }), fail);
    });
  });
}

function expressRelay(): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get(['/healthz', '/readyz'], (_req, res) => void res.json({ status: 'ok' }));
  app.post(
    '/guest-session',
    (_req, res, next) => void newSession().then((sessionToken) => res.status(201).json({ sessionToken }), next),
  );
  app.post('/messages', express.json(), (req, res, next) => {
    const session = sessionOf(req.headers.authorization);
    if (!session) return void res.status(401).json({ error: 'unknown session' });
    send(session, (req.body as { text: string }).text).then((message) => res.status(201).json({ message }), next);
  });
  app.get('/messages', (req, res, next) => {
    const session = sessionOf(req.headers.authorization);
    if (!session) return void res.status(401).json({ error: 'unknown session' });
    history(session).then((page) => res.type('json').send(page), next);
  });
  return http.createServer(app);
}

const server = process.env.RELAY === 'express' ? expressRelay() : plainHttp();
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  for (const s of sessions.values()) s.guest.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
