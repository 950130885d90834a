/**
 * Attachments: what may be uploaded, upload slots, and download links that never go stale.
 */
export { GuestAttachments } from './attachments';
export { UploadSlots } from './uploadSlots';
export { DownloadUrls } from './downloadUrls';
export {
  checkEnabled,
  MULTIPART_OVERHEAD_BYTES,
  checkFileName,
  checkNotDisguised,
  SNIFF_BYTES,
  tooLarge,
  uploadMediaType,
  typeAllowed,
} from './attachmentPolicy';
export type { UploadLimits } from './attachmentPolicy';
