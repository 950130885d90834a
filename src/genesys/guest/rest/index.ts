/**
 * The Guest API's REST side: history pages, web deployment tokens and the guest JWT,
 * authenticated sign-in, and the upload of a file's bytes.
 */
export { WebDeploymentTokens } from './webDeploymentTokens';
export type { GenesysSignIn, SignInGrant } from './webDeploymentTokens';
export { GuestJwtCache } from './guestJwt';
export type { GuestJwt } from './guestJwt';
export { GuestSignIn } from './guestSignIn';
export { GuestHistory, PROOF_PAGE_SIZE } from './history';
export type { HistoryPage, NewestPage, WholeConversation } from './history';
export { putToPresignedUrl, type UploadBody } from './attachmentUpload';
