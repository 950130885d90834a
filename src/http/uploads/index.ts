/**
 * Multipart uploads spooled to disk at a minimum pace, and always removed.
 */
export { UploadSpool, checkDeclaredLength, discardRestOfBody, IncomingUpload } from './multipart';
export type { UploadPace } from './multipart';
