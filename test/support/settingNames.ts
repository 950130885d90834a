import type { SettingNames } from '../../src/config/deployment';

/** A deployment's settings as its messages name them when the variables describe it (deploymentVariables.ts). */
export const VARIABLE_NAMES: SettingNames = {
  deploymentId: 'GENESYS_DEPLOYMENT_ID',
  region: 'GENESYS_REGION',
  origins: 'CORS_ALLOWED_ORIGINS',
  credentials: 'GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET',
  origin: 'GENESYS_ORIGIN (https://shop.example.com)',
};
