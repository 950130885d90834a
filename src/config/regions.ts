/**
 * The 18 Genesys Cloud regions (docs/genesys-protocol.md#hosts-and-regions,
 * docs/genesys-protocol.md#hosts-and-regions). Configuration is keyed on the domain; the
 * AWS-style name is accepted as an alias.
 */
export interface Region {
  domain: string;
  awsRegion: string;
}

export const REGIONS: readonly Region[] = [
  { domain: 'mypurecloud.com', awsRegion: 'us-east-1' },
  { domain: 'use2.us-gov-pure.cloud', awsRegion: 'us-east-2' },
  { domain: 'usw2.pure.cloud', awsRegion: 'us-west-2' },
  { domain: 'cac1.pure.cloud', awsRegion: 'ca-central-1' },
  { domain: 'sae1.pure.cloud', awsRegion: 'sa-east-1' },
  { domain: 'mxc1.pure.cloud', awsRegion: 'mx-central-1' },
  { domain: 'mypurecloud.ie', awsRegion: 'eu-west-1' },
  { domain: 'euw2.pure.cloud', awsRegion: 'eu-west-2' },
  { domain: 'mypurecloud.de', awsRegion: 'eu-central-1' },
  { domain: 'euc2.pure.cloud', awsRegion: 'eu-central-2' },
  { domain: 'edee1.eusc-pure.cloud', awsRegion: 'eusc-de-east-1' },
  { domain: 'mec1.pure.cloud', awsRegion: 'me-central-1' },
  { domain: 'aps1.pure.cloud', awsRegion: 'ap-south-1' },
  { domain: 'apse1.pure.cloud', awsRegion: 'ap-southeast-1' },
  { domain: 'mypurecloud.com.au', awsRegion: 'ap-southeast-2' },
  { domain: 'mypurecloud.jp', awsRegion: 'ap-northeast-1' },
  { domain: 'apne2.pure.cloud', awsRegion: 'ap-northeast-2' },
  { domain: 'apne3.pure.cloud', awsRegion: 'ap-northeast-3' },
];

/**
 * Finds a region by domain or AWS-style name (case-insensitive, `_` or `-`), as the configuration reads it (trimmed).
 */
export function findRegion(value: string): Region | undefined {
  const wanted = value.toLowerCase().replace(/_/g, '-');
  return REGIONS.find((r) => r.domain === wanted || r.awsRegion === wanted);
}

interface GenesysBaseUrls {
  loginUrl: string;
  apiUrl: string;
  webMessagingUrl: string;
  cdnUrl: string;
}

export function baseUrlsFor(domain: string): GenesysBaseUrls {
  return {
    loginUrl: `https://login.${domain}`,
    apiUrl: `https://api.${domain}`,
    webMessagingUrl: `wss://webmessaging.${domain}`,
    cdnUrl: `https://api-cdn.${domain}`,
  };
}
