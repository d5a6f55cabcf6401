export { InventoryClient } from './inventory-client.ts';
export { HttpTransport, type TransportOptions, errorFrom } from './http-transport.ts';
export { sseWatch, sseFrames, type SseFrame, type SseRequest } from './sse-watch.ts';
export { Informer, type InformerHandlers, type InformerOptions } from './informer.ts';
