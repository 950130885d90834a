import { embeddedDefaultApplies } from '../../src/demo/embeddedDefault';

/**
 * NODE_ENV as a deployment may write it: `production` with spaces around it (a YAML value, an
 * .env line) is still production, where the embedded simulator must never start in place of a
 * missing configuration.
 */
it.each(['production ', ' production', '\tproduction\n'])('treats NODE_ENV %j as production', (value) => {
  expect(embeddedDefaultApplies({ NODE_ENV: value })).toBe(false);
});
