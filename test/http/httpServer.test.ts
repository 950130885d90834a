import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bornWith, createHttpServer } from '../../src/http/httpServer';

describe('createHttpServer', () => {
  it("creates requests and responses with the app's own prototypes, so Express never re-parents them", async () => {
    const app = express();
    const seen: { req: boolean; res: boolean; reqIsIncoming: boolean; resIsServerResponse: boolean }[] = [];
    app.post('/echo', express.json(), (req, res) => {
      seen.push({
        req: Object.getPrototypeOf(req) === app.request,
        res: Object.getPrototypeOf(res) === app.response,
        reqIsIncoming: req instanceof http.IncomingMessage,
        resIsServerResponse: res instanceof http.ServerResponse,
      });
      res.status(201).json({ got: req.body, ip: req.ip, path: req.path });
    });
    const server = createHttpServer(app, { keepAliveTimeout: 1_000 });
    const born: boolean[] = [];
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
    });
    server.on('request', app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hi' }),
      });
      expect(answer.status).toBe(201);
      expect(await answer.json()).toEqual({ got: { text: 'hi' }, ip: '127.0.0.1', path: '/echo' });
      expect(born).toEqual([true]);
      expect(seen).toEqual([{ req: true, res: true, reqIsIncoming: true, resIsServerResponse: true }]);
      expect(server.keepAliveTimeout).toBe(1_000);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a prototype that does not inherit from the base', () => {
    expect(() => bornWith(http.IncomingMessage, {})).toThrow('must inherit from IncomingMessage.prototype');
  });

  it('hands a class back unchanged (it cannot be called without new)', () => {
    class Base {}
    expect(bornWith(Base, Object.create(Base.prototype) as object)).toBe(Base);
  });
});
