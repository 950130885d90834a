import { demoPng } from '../../simulator/richReplies';
import { bearer, startStack, type Stack } from '../support/stack';

/**
 * A file's name as the guest's browser sends it: a FormData writes a name of any script as its
 * UTF-8 bytes in `filename="…"` (the WHATWG form encoding, no `filename*`), and the name reaches
 * Genesys, and comes back, as the guest wrote it.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(async () => {
  await stack?.close();
});

test.each(['Reçu été 2026.png', 'фото.png', '写真 📷.png'])(
  'the name %s is kept, letter for letter',
  async (fileName) => {
    const { token } = await stack.newSession();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(demoPng(8, 8))], { type: 'image/png' }), fileName);
    const res = await fetch(`${stack.service.url}/attachments`, { method: 'POST', headers: bearer(token), body: form });
    const { attachment } = (await res.json()) as { attachment: { fileName: string } };
    expect([res.status, attachment.fileName]).toEqual([201, fileName]);
    const presign = stack.sim.received.filter((f) => f.frame?.action === 'onAttachment').at(-1)!.frame as {
      fileName?: string;
    };
    expect(presign.fileName).toBe(fileName);
  },
);
