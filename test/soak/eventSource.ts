import { PAGE_ORIGIN } from '../support/stack';

/** What one stream connection sent: the soak's checker reads these. */
export interface ConnectionLog {
  /** The `lastEventId` it was opened with (an event id, or a `t-` stream position). */
  resumedFrom?: string;
  openedAt: number;
  status?: number;
  /** Message ids in the order this connection sent them. */
  messageIds: string[];
  /** It said `replay_incomplete`. */
  replayIncomplete: boolean;
  /** The `session` states it sent, in order. */
  states: string[];
  endedAt?: number;
}

/**
 * EventSource as a browser has it, over fetch, for the browser client in Node: named events with their
 * `lastEventId`, `error` when the connection fails or ends. The page's Origin is sent as a browser would.
 * Each connection is logged for the checker through `log`.
 */
export function eventSourceFor(log: (connection: ConnectionLog) => void): typeof EventSource {
  class NodeEventSource extends EventTarget {
    private readonly controller = new AbortController();
    private closed = false;
    readonly connection: ConnectionLog;

    constructor(readonly url: string) {
      super();
      const resumedFrom = new URL(url).searchParams.get('lastEventId') ?? undefined;
      this.connection = { resumedFrom, openedAt: Date.now(), messageIds: [], replayIncomplete: false, states: [] };
      log(this.connection);
      void this.run();
    }

    close(): void {
      this.closed = true;
      this.controller.abort();
    }

    private async run(): Promise<void> {
      let lastEventId = '';
      try {
        const res = await fetch(this.url, {
          headers: { Accept: 'text/event-stream', Origin: PAGE_ORIGIN },
          signal: this.controller.signal,
        });
        this.connection.status = res.status;
        if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
          await res.text().catch(() => undefined);
          throw new Error(`stream answered ${res.status}`);
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
              else if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
            }
            if (data.length === 0 || this.closed) continue;
            this.note(event, data.join('\n'));
            this.dispatchEvent(new MessageEvent(event, { data: data.join('\n'), lastEventId }));
          }
        }
      } catch {
        // aborted, refused or failed: reported below as a browser would
      }
      this.connection.endedAt = Date.now();
      if (!this.closed) this.dispatchEvent(new Event('error'));
    }

    private note(event: string, data: string): void {
      try {
        const body = JSON.parse(data) as { id?: string; state?: string };
        if (event === 'message' && body.id) this.connection.messageIds.push(body.id);
        if (event === 'session' && body.state) {
          this.connection.states.push(body.state);
          if (body.state === 'replay_incomplete') this.connection.replayIncomplete = true;
        }
      } catch {
        // not JSON: the client ignores it too
      }
    }
  }
  return NodeEventSource as unknown as typeof EventSource;
}
