import nock from 'nock';

// Every test file loads its own nock (test/setup/env.ts), and each copy patches the worker's one
// `http` module. A copy left active after its file would intercept the next file's requests first
// and refuse them; release it when the file is done.
afterAll(() => {
  nock.restore();
  nock.cleanAll();
});
