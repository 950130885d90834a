import { readReporter } from '../../client/src';

/**
 * Read receipts where there is no document (a page rendered on the server, Next.js): no tab is visible, so nothing
 * is reported, and nothing throws.
 */
test('without a document it is made, reports nothing and stops without throwing', () => {
  expect(typeof document).toBe('undefined');
  const reported: string[] = [];
  const reads = readReporter({ markRead: async (id) => void reported.push(id) });
  reads.shown([{ id: 'a1', direction: 'outbound', type: 'text', text: 'Hi', time: '' }]);
  expect(reported).toEqual([]);
  expect(() => reads.stop()).not.toThrow();
});
