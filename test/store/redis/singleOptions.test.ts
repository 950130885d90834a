import { clientOptions, singleOptions } from '../../../src/store/redis/redisConnection';

test("a password in REDIS_URL replaces REDIS_PASSWORD and nothing else of the connection's options", () => {
  const options = clientOptions(
    { kind: 'single', url: 'redis://127.0.0.1:6379', password: 'from-env', keyPrefix: 'p:', tls: true },
    1500,
  );
  const { password: _fromEnv, ...rest } = options;
  expect(singleOptions('redis://:from-url@127.0.0.1:6379', options)).toEqual({ ...rest, password: undefined });
  expect(singleOptions('redis://127.0.0.1:6379', options)).toBe(options);
});
