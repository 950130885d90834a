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
    'One install serves one Messenger deployment or several. The variables of one deployment (the table below) ' +
      'describe a list of one, named `default`; [`DEPLOYMENTS_FILE`](#deployments_file) can instead name a file, ' +
      'YAML or JSON, that lists deployments under `deployments:`, each with its region, deployment id, allowed ' +
      'origins, the Origin presented to Genesys, its own OAuth client, identity tokens, sign-in callbacks, ' +
      'availability, canary and masking settings. Both are read by the same rules into the same list. What applies ' +
      'to the whole process (`SESSION_SECRET`, `PORT`, limits, Redis, logs, metrics and traces) stays in variables.',
    'How it is served:',
    [
      '- The file is read and validated at start, before the service listens, with the same rules, bounds and ' +
        'defaults as the variables it replaces. Every problem is reported together, each with the file and the key ' +
        'it is at, for example `deployments.yaml: deployments[1].origins[0]: "https://*.example.com" overlaps ' +
        '"https://shop.example.com" of deployments[0] ("brand-a"); each origin must belong to one deployment`.',
      '- The file is read with care for what may be in it: at most 1 MiB of it, asynchronously, parsed apart from ' +
        'the requests being served with a memory and time budget of its own and at most 100 YAML aliases. A file ' +
        'that is too large, nests too deep, is not a regular file, or changes while it is read is refused like an ' +
        'invalid one. Write a new file elsewhere and rename it into place.',
      '- The process builds once what every deployment shares: the connection to Redis, the ceilings on what the ' +
        'instance holds (`GUEST_SOCKET_MAX`, `UPLOADS_MAX`, open streams and connections), the per-address and ' +
        'per-session limits, the upload spool and the HTTP client to Genesys. Each deployment has its own OAuth ' +
        'token, Messenger configuration, circuit to Genesys, Genesys socket-open and request budgets, capabilities, ' +
        'file rules, sign-in and availability. Each limit below says where it holds.',
      "- The request's `Origin` chooses the deployment: each origin belongs to one. A request without an `Origin` " +
        "(an `<img>`, an opened attachment link, a server's or a tool's request) goes to the deployment that sealed " +
        'what it carries (its session token, its stream ticket, its attachment link), else to the one named by an ' +
        '`X-Deployment` header; with neither, its health, document and problem pages are served and any other ' +
        'route answers `400`. With several deployments every answer varies on `Origin`, `X-Deployment` and ' +
        "`Authorization`, so a shared cache keeps each deployment's answers apart.",
      '- A session token works only on its own deployment: each seals with keys derived from `SESSION_SECRET` and ' +
        "its name, and another deployment's origin gets `401`. With Redis, each deployment's keys sit under " +
        '`REDIS_KEY_PREFIX` followed by its name and a colon (`genesys-bff:brand-a:`). The deployment named ' +
        "`default` (the variables', or a file entry so named) keeps the tokens and keys the variables have always " +
        'had, so moving from the variables to a file entry named `default` keeps its chats.',
      "- `/readyz` lists each deployment's checks as `name/check` (`brand-a/guestApi`; `default`'s keep their " +
        "names), so one deployment's Genesys outage shows as `degraded` in its own check and the others serve on. " +
        'Log lines, request spans and metrics carry `deployment` once, the name of the deployment the work was ' +
        "for; the process's own lines (its start, Redis, the listener) carry none, and its own metric series " +
        '`default`.',
      "- With `DEPLOYMENTS_FILE` set, each of the deployment's variables in the table below is refused at start, " +
        'with the key that takes its place.',
      '- `SIGHUP` reads the file again. A new deployment is served; a removed one stops, its streams told to ' +
        'reconnect (and refused after); one whose only change is its OAuth client keeps its chats and fetches its ' +
        'next token with the new one; one changed otherwise is built anew, its streams told to reconnect, and keeps ' +
        'its records (ended chats, idempotency keys, stream tickets, sign-in cut-offs), in Redis or in the ' +
        "process's memory. The other deployments' chats go on untouched. A file that fails in any way is refused, " +
        'every problem logged, and the running set stays: a reload never ends the process. The process-wide ' +
        'variables are read at start only.',
      '- Renaming a deployment is removing it and adding another: its tokens stop opening (their keys come from ' +
        'the name), so its customers start new chats; its Redis keys expire on their own, and its metric series ' +
        'stay until the process restarts.',
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
