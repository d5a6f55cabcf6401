export { InventoryClient } from './inventory-client.ts';
export { HttpTransport, type TransportOptions, errorFrom, retryAfterDelay } from './http-transport.ts';
export { sseWatch, sseFrames, type SseRequest } from './sse-watch.ts';
export { SseParser, type SseFrame, type SseParserOptions } from './sse-parser.ts';
export { Informer, type InformerHandlers, type InformerOptions } from './informer.ts';
export { type ClientCertificate, connectionPool, readCaFile, trustedCertificates, untrustedCertificateHint } from './tls-trust.ts';
