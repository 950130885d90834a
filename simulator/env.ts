/**
 * The Genesys variables that point the BFF at a running simulator, exactly
 * as a user would set them (README.md#configuration): used by `npm run sim`, the
 * embedded default, the tests and the benchmark.
 */
export interface SimulatorAddress {
  deploymentId: string;
  urls: { loginUrl: string; apiUrl: string; cdnUrl: string; webMessagingUrl: string };
  credentials: { clientId: string; clientSecret: string };
}

export function genesysEnvFor(sim: SimulatorAddress): Record<string, string> {
  return {
    GENESYS_REGION: 'mypurecloud.com',
    GENESYS_DEPLOYMENT_ID: sim.deploymentId,
    GENESYS_CLIENT_ID: sim.credentials.clientId,
    GENESYS_CLIENT_SECRET: sim.credentials.clientSecret,
    GENESYS_LOGIN_URL: sim.urls.loginUrl,
    GENESYS_API_URL: sim.urls.apiUrl,
    GENESYS_CDN_URL: sim.urls.cdnUrl,
    GENESYS_WEBMESSAGING_URL: sim.urls.webMessagingUrl,
  };
}

/** The availability variables that point GET /availability at the simulator's queue, schedule and emergency groups. */
export function availabilityEnvFor(sim: {
  availability: { ids: { queueId: string; scheduleGroupId: string; emergencyGroupId: string } };
}): Record<string, string> {
  return {
    GENESYS_QUEUE_ID: sim.availability.ids.queueId,
    GENESYS_SCHEDULE_GROUP_ID: sim.availability.ids.scheduleGroupId,
    GENESYS_EMERGENCY_GROUP_ID: sim.availability.ids.emergencyGroupId,
  };
}

/**
 * A deployments-file entry (docs/configuration.md#the-deployments-file) for a running simulator: the same settings
 * genesysEnvFor gives as variables, under the file's keys, for the site `name` on `origins`.
 */
export function deploymentEntryFor(sim: SimulatorAddress, name: string, origins: string[]) {
  return {
    name,
    region: 'mypurecloud.com',
    deploymentId: sim.deploymentId,
    origins,
    genesysOrigin: origins[0],
    clientId: sim.credentials.clientId,
    clientSecret: sim.credentials.clientSecret,
    loginUrl: sim.urls.loginUrl,
    apiUrl: sim.urls.apiUrl,
    webMessagingUrl: sim.urls.webMessagingUrl,
    cdnUrl: sim.urls.cdnUrl,
  };
}
