import http from 'node:http';

/**
 * Many Server-Sent Events streams from one process, on raw node:http (one
 * connection each, no pooling). Each stream reports when it is open (the
 * service's first `session` event) and hands every `message` event's data
 * to `onMessage` with the arrival time (process.hrtime.bigint()); the events
 * named in `others` (a `receipt`, say) go to their own handler the same way.
 */
export interface StreamHandle {
  opened: Promise<void>;
  close(): void;
}

export function openSse(
  url: string,
  headers: Record<string, string>,
  agent: http.Agent,
  onMessage: (data: string, arrivedNs: bigint) => void,
  onEnd: (reason: string) => void,
  others: Record<string, (data: string, arrivedNs: bigint) => void> = {},
): StreamHandle {
  let resolveOpen!: () => void;
  let rejectOpen!: (e: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpen = resolve;
    rejectOpen = reject;
  });
  let isOpen = false;
  const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers }, agent }, (res) => {
    if (res.statusCode !== 200) {
      rejectOpen(new Error(`stream answered ${res.statusCode}`));
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      const arrived = process.hrtime.bigint();
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (block.includes('event: message\n')) {
          const dataLine = block.slice(block.indexOf('data: ') + 6);
          onMessage(dataLine, arrived);
        } else if (!isOpen && block.includes('event: session\n') && block.includes('"state":"open"')) {
          isOpen = true;
          resolveOpen();
        } else {
          const event = /^event: (\w+)$/m.exec(block)?.[1];
          if (event !== undefined && Object.hasOwn(others, event))
            others[event]!(block.slice(block.indexOf('data: ') + 6), arrived);
        }
      }
    });
    res.on('end', () => onEnd('ended'));
    res.on('error', () => onEnd('error'));
  });
  req.on('error', (error) => {
    if (!isOpen) rejectOpen(error);
    else onEnd('error');
  });
  return { opened, close: () => req.destroy() };
}
