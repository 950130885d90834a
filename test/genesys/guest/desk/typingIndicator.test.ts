import { TypingIndicator } from '../../../../src/genesys/guest/desk/typingIndicator';

/** The guest's typing indicator: one per cooldown, free again on the guest's own echo, a failed write not counted. */
function indicator(written = true) {
  let now = 1_000;
  const writes: number[] = [];
  const typing = new TypingIndicator(
    async () => {
      writes.push(now);
      return written;
    },
    5_000,
    () => now,
  );
  return { typing, writes, advance: (ms: number) => (now += ms) };
}

describe('the cooldown', () => {
  test('a second indicator within the cooldown is not written; one at its end is', async () => {
    const { typing, writes, advance } = indicator();
    expect(await typing.send()).toBe(true);
    advance(4_999);
    expect(await typing.send()).toBe(false);
    advance(1);
    expect(await typing.send()).toBe(true);
    expect(writes).toEqual([1_000, 6_000]);
  });

  test("the guest's own echo ends it: the next indicator goes at once", async () => {
    const { typing, writes, advance } = indicator();
    await typing.send();
    advance(100);
    typing.echoed();
    expect(await typing.send()).toBe(true);
    expect(writes).toEqual([1_000, 1_100]);
  });

  test('an indicator that could not be written starts no cooldown', async () => {
    const { typing, writes } = indicator(false);
    expect(await typing.send()).toBe(false);
    expect(await typing.send()).toBe(false);
    expect(writes).toHaveLength(2);
  });
});
