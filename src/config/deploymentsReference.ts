import fs from 'node:fs';
import path from 'node:path';
import { DEPLOYMENT_VARIABLES, SECRET_KEYS } from './deploymentVariables';

/**
 * The deployments file's section of docs/configuration.md, written by reference.ts with the rest of the page: the
 * prose is here, the table of keys comes from DEPLOYMENT_VARIABLES, and the example is docs/deployments.example.yaml,
 * which test/config/deploymentsFile.test.ts parses, so the page shows a file the service reads.
 */

export const DEPLOYMENTS_EXAMPLE = 'docs/deployments.example.yaml';

const code = (value: string) => `\`${value}\``;

/** The file key of each entry, whether it is required, and the variable of one deployment it replaces. */
function keyTable(): string {
  const rows = [
    ['`name`', 'yes', 'none: a short id for metrics and logs, `^[a-z][a-z0-9-]{0,31}$`, unique in the file'],
    ...Object.entries(DEPLOYMENT_VARIABLES).map(([variable, key]) => [
      SECRET_KEYS.has(key) ? `${code(key)} or ${code(`${key}Env`)}` : code(key),
      ['region', 'deploymentId', 'origins'].includes(key)
        ? 'yes'
        : ['identity.issuer', 'identity.audience'].includes(key)
          ? 'with `identity`'
          : 'no',
      `[${code(variable)}](#${variable.toLowerCase()})`,
    ]),
  ];
  return [
    '| Key | Required | Replaces |',
    '| --- | --- | --- |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}

/** The section, with the example file's text from the repository root `root`. */
export function deploymentsFileMarkdown(root: string): string {
  const example = fs.readFileSync(path.join(root, DEPLOYMENTS_EXAMPLE), 'utf8').trimEnd();
  return [
    '## The deployments file',
    'Instead of the variables of one deployment, [`DEPLOYMENTS_FILE`](#deployments_file) can name a file, YAML or ' +
      'JSON, that lists Messenger deployments under `deployments:`, each with its region, deployment id, allowed ' +
      'origins, the Origin presented to Genesys, its own OAuth client, identity tokens, sign-in callbacks and ' +
      'availability settings. What applies to the whole process (`SESSION_SECRET`, `PORT`, limits, Redis, logs, ' +
      'metrics and traces) stays in variables.',
    'How it is served:',
    [
      '- The file is read and validated at start, before the service listens, with the same rules, bounds and ' +
        'defaults as the variables it replaces. Every problem is reported together, each with the file and the key ' +
        'it is at, for example `deployments.yaml: deployments[1].origins[0]: "https://*.example.com" overlaps ' +
        '"https://shop.example.com" of deployments[0] ("brand-a"); each origin must belong to one deployment`.',
      '- Each deployment is a site of its own in the one process: its own OAuth token, Messenger configuration, ' +
        'Genesys sockets and request budgets, its own circuit to Genesys, and its own capabilities, file rules, ' +
        'sign-in and availability. No state crosses deployments.',
      "- The request's `Origin` chooses the deployment: each origin belongs to one. A request without an `Origin` (a " +
        "server's or a tool's) goes to the deployment of its session token, else to the one named by an " +
        '`X-Deployment` header; with neither, it is refused with `400`. A session token works only on its own ' +
        "deployment: each seals with keys derived from `SESSION_SECRET` and its name, and another deployment's " +
        'origin gets `401`.',
      "- With Redis, each deployment's keys sit under `REDIS_KEY_PREFIX` followed by its name and a colon " +
        '(`genesys-bff:brand-a:`): idempotency records, ended chats, limits and routing are per deployment. ' +
        'Limits such as `SESSIONS_PER_IP_PER_MINUTE` apply to each deployment on its own.',
      "- `/readyz` lists each deployment's checks as `name/check` (`brand-a/guestApi`), so one deployment's Genesys " +
        'outage shows as `degraded` in its own check and the others serve on. Log lines carry `deployment`, and ' +
        'the metrics a `deployment` label whose values are the names in the file.',
      "- With `DEPLOYMENTS_FILE` set, each of the deployment's variables in the table below is refused at start, " +
        'with the key that takes its place.',
      '- `SIGHUP` reads the file again. A new deployment is served; a removed one stops, its streams told to ' +
        'reconnect (and refused after); one whose only change is its OAuth client keeps its chats and fetches its ' +
        'next token with the new one; one changed otherwise is built anew, its streams told to reconnect. The ' +
        "other deployments' chats go on untouched. A file that fails validation is refused, every problem logged, " +
        'and the running set stays. The process-wide variables are read at start only. Without Redis, a ' +
        'deployment built anew starts with empty records (ended chats, idempotency keys, limits); `/healthz` and ' +
        '`/readyz` answer browsers of the origins the file listed at start.',
    ].join('\n'),
    'The rules of an entry:',
    [
      '- No browser origin may be allowed by two deployments: the same origin twice, an exact origin and a ' +
        'wildcard that covers it, or the same wildcard twice is an error at start. Within one deployment they may ' +
        'overlap.',
      '- A secret is given inline (`clientSecret`, `identity.jwtSecret`) or, to keep it out of the file, as the ' +
        'name of the environment variable that holds it (`clientSecretEnv`, `identity.jwtSecretEnv`); not both. ' +
        'A variable named this way must be set, and may be one of the variables the file otherwise replaces (such ' +
        'as `GENESYS_CLIENT_SECRET`).',
      '- `clientId` goes with a client secret; `identity` takes exactly one of `jwtSecret`, `jwtSecretEnv` and ' +
        '`jwksUrl`, and needs `issuer` and `audience`.',
      '- `genesysOrigin` defaults to the first exact entry of `origins`; the base URLs default to those of the ' +
        'region; numbers take the defaults and bounds of their variables.',
      '- A key the file does not know is refused, so a misspelt key is never ignored.',
    ].join('\n'),
    keyTable(),
    `A complete example ([${path.basename(DEPLOYMENTS_EXAMPLE)}](${path.basename(DEPLOYMENTS_EXAMPLE)})), ` +
      'with two deployments. As JSON it is `{ "deployments": [ { "name": "brand-a", ... } ] }`.',
    `\`\`\`yaml\n${example}\n\`\`\``,
  ].join('\n\n');
}
