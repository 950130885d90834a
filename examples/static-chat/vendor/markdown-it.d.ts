// Types for the demo server's /vendor/markdown-it.js: markdown-it's own browser build.
export { default } from 'markdown-it';
