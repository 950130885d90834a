import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bornWith, createHttpServer } from '../../../src/http/server/httpServer';

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
    expect(() => bornWith(http.IncomingMessage, { request: {}, response: {} }, 'request')).toThrow(
      'must inherit from IncomingMessage.prototype',
    );
  });

  it('lays requests and responses out as Node does: fields in the object, not in a dictionary', async () => {
    // %HasFastProperties needs --allow-natives-syntax: a child process runs the check.
    const { execFileSync } = await import('node:child_process');
    const script = `
      const http = require('node:http');
      const express = require('express');
      const { createHttpServer } = require(${JSON.stringify(require.resolve('../../../src/http/server/httpServer'))});
      const app = express();
      const server = createHttpServer(app);
      server.on('request', (req, res) => {
        const fast = [%HasFastProperties(req), %HasFastProperties(res)];
        app(req, res);
        res.end(JSON.stringify(fast.concat([%HasFastProperties(req), %HasFastProperties(res)])));
      });
      server.listen(0, '127.0.0.1', async () => {
        const answer = await fetch('http://127.0.0.1:' + server.address().port + '/');
        process.stdout.write(await answer.text());
        server.closeAllConnections();
        server.close();
      });`;
    const out = execFileSync(
      process.execPath,
      ['--allow-natives-syntax', '-r', require.resolve('tsx/cjs'), '-e', script],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([true, true, true, true]);
  });
});
