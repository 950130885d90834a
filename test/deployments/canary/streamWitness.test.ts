import { StreamWitness } from '../../../src/deployments/canary/streamWitness';

/**
 * The reading end of the canary's own live stream (src/deployments/canary/streamWitness.ts): which messages reached
 * it, read from the Server-Sent Events LiveStreams writes, however they are cut into chunks, within its bounds.
 */

const message = (id: string) => `event: message\ndata: ${JSON.stringify({ id, text: 'hi' })}\n\n`;
/** Whether the witness saw `id` (resolved) or not within a short wait (its rejection's words). */
const saw = (witness: StreamWitness, id: string, waitMs = 20) =>
  witness.sawMessage(id, waitMs).then(
    () => true,
    (error: Error) => error.message,
  );

test('a message event is seen whether it came before or after it is waited for', async () => {
  const witness = new StreamWitness();
  expect(witness.write(message('m-before'))).toBe(true);
  await expect(saw(witness, 'm-before')).resolves.toBe(true);
  const later = saw(witness, 'm-after', 5_000);
  witness.write(message('m-after'));
  await expect(later).resolves.toBe(true);
});

test('an id that never came is refused after the wait, in words', async () => {
  await expect(saw(new StreamWitness(), 'm-missing', 30)).resolves.toBe(
    'the answer did not reach the live stream within 30 ms',
  );
});

test('events are read however the chunks cut them: across writes, several in one, after empty blocks', async () => {
  const witness = new StreamWitness();
  // A first write of data alone: an event without its `event:` line is a message.
  witness.write(`data: ${JSON.stringify({ id: 'm-bare' })}\n\n`);
  witness.write('event: mess');
  witness.write('age\ndata: {"id":');
  witness.write('"m-split"}\n');
  witness.write('\n');
  witness.write(`\n\n${message('m-first')}${message('m-second')}`);
  for (const id of ['m-bare', 'm-split', 'm-first', 'm-second']) await expect(saw(witness, id)).resolves.toBe(true);
});

test('only message events with a string id count: not typing, not a comment, not a broken or id-less one', async () => {
  const witness = new StreamWitness();
  witness.write(message('m-0'));
  witness.write(`event: typing\ndata: ${JSON.stringify({ id: 'm-typing' })}\n\n`);
  witness.write(': heartbeat\n\nevent: message\n\nevent: message\ndata: {"id":\n\n');
  witness.write(`event: message\ndata: ${JSON.stringify({ id: 7 })}\n\n`);
  await expect(saw(witness, 'm-typing')).resolves.toEqual(expect.stringContaining('did not reach'));
  // None of them took a place among the 64 ids remembered: with 63 more, the first is still there.
  for (let i = 1; i <= 63; i++) witness.write(message(`m-${i}`));
  await expect(saw(witness, 'm-0')).resolves.toBe(true);
});

test('it remembers the newest 64 ids', async () => {
  const witness = new StreamWitness();
  for (let i = 0; i <= 64; i++) witness.write(message(`m-${i}`));
  await expect(saw(witness, 'm-0')).resolves.toEqual(expect.stringContaining('did not reach'));
  for (const i of [1, 32, 64]) await expect(saw(witness, `m-${i}`)).resolves.toBe(true);
});

test('it holds at most 256 KiB of an unfinished event', () => {
  const witness = new StreamWitness();
  witness.write('x'.repeat(200 * 1024));
  witness.write('y'.repeat(100 * 1024));
  const pending = (witness as unknown as { pending: string }).pending;
  expect(pending).toHaveLength(256 * 1024);
  expect(pending.endsWith('y'.repeat(100 * 1024))).toBe(true);
});

test('it never asks LiveStreams to wait, and once closed (or ended) it takes nothing and says close once', async () => {
  for (const leave of ['close', 'end'] as const) {
    const witness = new StreamWitness();
    expect(witness).toMatchObject({ writableLength: 0, writableNeedDrain: false, destroyed: false });
    const closed = jest.fn();
    witness.on('close', closed);
    witness[leave]();
    witness[leave]();
    expect(closed).toHaveBeenCalledTimes(1);
    expect(witness.destroyed).toBe(true);
    expect(witness.write(message('m-late'))).toBe(false);
    await expect(saw(witness, 'm-late')).resolves.toEqual(expect.stringContaining('did not reach'));
  }
});
