export interface RedisNode {
  host: string;
  port: number;
}

/** Where the shared store is: one Redis (REDIS_URL), a Sentinel-watched primary, or a Redis Cluster. */
export type RedisTopology =
  | { kind: 'single'; url: string }
  | { kind: 'sentinel'; sentinels: RedisNode[]; name: string }
  | { kind: 'cluster'; nodes: RedisNode[] };

export type RedisConfig = RedisTopology & {
  keyPrefix: string;
  /** For every node (and a Sentinel's primary); a password in REDIS_URL wins. */
  password?: string;
  /** TLS to the nodes of a Sentinel or Cluster setup (REDIS_URL says it with rediss://). */
  tls: boolean;
};

/** The variables that name the shared store. */
interface RedisEnv {
  REDIS_URL?: string;
  REDIS_PASSWORD?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_TLS?: string;
}

/** `host:port, host:port`; each entry that is not one is a problem. */
function redisNodes(name: string, value: string, problems: string[]): RedisNode[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((entry) => {
      const match = /^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        problems.push(`${name}: "${entry}" is not host:port (e.g. redis-1.internal:6379)`);
        return [];
      }
      // An IPv6 host is written in brackets, its only place for them.
      return [{ host: match[1]!.replace(/[[\]]/g, ''), port }];
    });
}

export function checkRedis(e: RedisEnv, problems: string[]): RedisTopology | undefined {
  const chosen = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => e[name] !== undefined,
  );
  if (chosen.length > 1)
    problems.push(`Set one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, not ${chosen.join(' and ')}`);
  if (e.REDIS_SENTINELS === undefined && e.REDIS_SENTINEL_NAME !== undefined)
    problems.push(
      'REDIS_SENTINEL_NAME is set without REDIS_SENTINELS; ' +
        'set both (the Sentinels and the name of the primary they watch) or neither',
    );
  if (e.REDIS_TLS !== undefined && e.REDIS_TLS !== 'true' && e.REDIS_TLS !== 'false')
    problems.push(`REDIS_TLS must be true or false (got "${e.REDIS_TLS}")`);
  if (e.REDIS_TLS !== undefined && chosen.length === 0)
    problems.push(
      'REDIS_TLS is set but no Redis is (REDIS_SENTINELS or REDIS_CLUSTER_NODES; REDIS_URL says TLS with rediss://)',
    );
  if (e.REDIS_PASSWORD !== undefined && chosen.length === 0)
    problems.push('REDIS_PASSWORD is set but no Redis is; set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES too');
  if (e.REDIS_SENTINELS !== undefined) {
    const sentinels = redisNodes('REDIS_SENTINELS', e.REDIS_SENTINELS, problems);
    if (sentinels.length === 0) problems.push('REDIS_SENTINELS must name at least one Sentinel as host:port');
    if (e.REDIS_SENTINEL_NAME === undefined) {
      problems.push(
        'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the name of the primary the Sentinels watch ' +
          '(`sentinel monitor <name> ...`)',
      );
      return undefined;
    }
    return { kind: 'sentinel', sentinels, name: e.REDIS_SENTINEL_NAME };
  }
  if (e.REDIS_CLUSTER_NODES !== undefined) {
    const nodes = redisNodes('REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES, problems);
    if (nodes.length === 0) problems.push('REDIS_CLUSTER_NODES must name at least one cluster node as host:port');
    return { kind: 'cluster', nodes };
  }
  return e.REDIS_URL === undefined ? undefined : { kind: 'single', url: e.REDIS_URL };
}
