import { takeChecks } from '../support/documentedAnswers';

// Every service a test file started with startStack answered only what /openapi.json lists
// (test/support/documentedAnswers.ts); a file whose answers strayed fails here.
afterAll(() => {
  const outside = takeChecks().flatMap((check) => check());
  if (outside.length > 0) throw new Error(`Answers /openapi.json does not list:\n${outside.join('\n')}`);
});
