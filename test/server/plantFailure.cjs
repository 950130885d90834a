// Preloaded into the service process by lifecycle.test.ts: SIGUSR2 stands in for a bug,
// a rejected promise that nothing handles, whose message holds a bearer value.
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('planted bug: Authorization: Bearer planted-secret-value'));
});
