import { PAGE_ORIGIN } from './stack';

/** A minimal EventSource over fetch: named events, `error` when the connection fails or ends. */
export class FetchEventSource extends EventTarget {
  static opened: FetchEventSource[] = [];
  private readonly controller = new AbortController();
  private closed = false;

  constructor(readonly url: string) {
    super();
    FetchEventSource.opened.push(this);
    void this.run();
  }

  close(): void {
    this.closed = true;
    this.controller.abort();
  }

  private async run(): Promise<void> {
    try {
      const res = await fetch(this.url, {
        headers: { Accept: 'text/event-stream', Origin: PAGE_ORIGIN },
        signal: this.controller.signal,
      });
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
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
          }
          if (data.length > 0 && !this.closed) this.dispatchEvent(new MessageEvent(event, { data: data.join('\n') }));
        }
      }
    } catch {
      // aborted, refused or failed: reported below like a browser would
    }
    if (!this.closed) this.dispatchEvent(new Event('error'));
  }
}
