/**
 * The Guest API's REST side: history pages, web deployment tokens and the guest JWT,
 * authenticated sign-in, and attachment upload and transfer.
 */
export { WebDeploymentTokens } from './webDeploymentTokens';
export type { GenesysSignIn, SignInGrant } from './webDeploymentTokens';
export { AttachmentTransfer } from './attachmentTransfer';
export { GuestJwtCache } from './guestJwt';
export type { GuestJwt } from './guestJwt';
export { GuestSignIn } from './guestSignIn';
export { GuestHistory } from './history';
export type { HistoryPage } from './history';
export type { UploadBody } from './attachmentUpload';
