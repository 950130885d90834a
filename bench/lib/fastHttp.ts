import net from 'node:net';

/**
 * The load generator's HTTP/1.1 client: a fixed pool of keep-alive
 * connections, one request at a time on each (no pipelining), requests
 * written as one pre-assembled string, responses read by Content-Length
 * (the service always sends one for JSON). It exists because node:http's
 * client costs the machine several times more CPU per request than the raw
 * WebSocket client of the floor, and on 2 cores the load generator's CPU is
 * taken from the service under test.
 */

export interface FastResponse {
  status: number;
  body: string;
}

interface Pending {
  payload: string;
  resolve(r: FastResponse): void;
  reject(e: Error): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  private socket?: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private current?: Pending;
  private connecting?: Promise<void>;
  busy = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly onIdle: (c: Connection) => void,
  ) {}

  private connect(): Promise<void> {
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
      socket.once('connect', () => {
        this.socket = socket;
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (error) => {
        reject(error);
        this.fail(error);
      });
      socket.on('close', () => this.fail(new Error('connection closed')));
    }).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private fail(error: Error): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    const p = this.current;
    this.current = undefined;
    if (p) {
      p.reject(error);
      this.busy = false;
      this.onIdle(this);
    }
  }

  run(p: Pending): void {
    this.busy = true;
    this.current = p;
    if (this.socket) {
      this.socket.write(p.payload);
      return;
    }
    this.connect().then(
      () => this.socket!.write(p.payload),
      () => undefined,
    );
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = match ? Number(match[1]) : 0;
    const total = end + 4 + length;
    if (this.buffer.length < total) return;
    const body = this.buffer.toString('utf8', end + 4, total);
    this.buffer = this.buffer.length === total ? Buffer.alloc(0) : this.buffer.subarray(total);
    const p = this.current!;
    this.current = undefined;
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    this.busy = false;
    p.resolve({ status, body });
    this.onIdle(this);
  }

  close(): void {
    this.socket?.destroy();
  }
}

export class FastHttpPool {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly queue: Pending[] = [];
  private readonly hostHeader: string;

  constructor(baseUrl: string, size: number) {
    const url = new URL(baseUrl);
    this.hostHeader = url.host;
    for (let i = 0; i < size; i++) {
      const c = new Connection(url.hostname, Number(url.port), (conn) => this.release(conn));
      this.all.push(c);
      this.idle.push(c);
    }
  }

  private release(conn: Connection): void {
    const next = this.queue.shift();
    if (next) conn.run(next);
    else this.idle.push(conn);
  }

  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<FastResponse> {
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    const payload =
      body === undefined
        ? `${head}\r\n`
        : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      const p: Pending = { payload, resolve, reject };
      const conn = this.idle.pop();
      if (conn) conn.run(p);
      else this.queue.push(p);
    });
  }

  close(): void {
    for (const c of this.all) c.close();
  }
}
