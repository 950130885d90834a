import http from 'node:http';

/**
 * A lean keep-alive HTTP/1.1 client on node:http (no dependency). Each call
 * resolves with the status and the body text; `json` is parsed on demand.
 */

export interface HttpResult {
  status: number;
  text: string;
  readonly json: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  agent?: http.Agent;
  /** A new connection, closed afterwards (health polling). */
  fresh?: boolean;
}

const defaultAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'fifo' });
}

export function requestJson(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers, agent: options.fresh ? false : (options.agent ?? defaultAgent) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          let done = false;
          resolve({
            status: res.statusCode ?? 0,
            text,
            headers: res.headers,
            get json() {
              if (!done) {
                done = true;
                parsed = text ? JSON.parse(text) : undefined;
              }
              return parsed;
            },
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`timeout after ${options.timeoutMs} ms: ${url}`)));
    }
    req.end(body);
  });
}
