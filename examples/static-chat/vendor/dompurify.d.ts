// Types for the demo server's /vendor/dompurify.js: DOMPurify's own browser build.
export { default } from 'dompurify';
