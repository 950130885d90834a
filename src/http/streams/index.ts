/**
 * Live streams: a guest session's events as Server-Sent Events, with resume.
 */
export { LiveStreams, resumeAfter } from './liveStreams';
export { StreamCaps } from './streamCaps';
