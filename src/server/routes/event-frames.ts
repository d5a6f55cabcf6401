/** Frames kept, newest last; a watcher further behind builds its own (the cache never grows past this). */
const DEFAULT_MAX = 8192;
/** And at most this many bytes of them (resources may be 256 KiB each). */
const DEFAULT_MAX_BYTES = 32 * 2 ** 20;

/**
 * SSE frames of events (`id`, `event`, `data` lines), encoded to bytes once per event and shared by
 * every watch stream that sends it: ten watchers of a busy store cost one JSON-to-UTF-8 encoding
 * per event, not ten. Keyed by revision, which names one event in a store.
 * @example const frames = new EventFrames(); raw.write(frames.of(item))
 */
export class EventFrames {
  private readonly frames = new Map<number, Buffer>();
  private held = 0;

  constructor(
    private readonly max = DEFAULT_MAX,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {}

  /** The frame of an event. */
  of(item: { revision: number; json: string }): Buffer {
    let frame = this.frames.get(item.revision);
    if (frame) return frame;
    frame = Buffer.from(`id: ${item.revision}\nevent: ${eventType(item.json)}\ndata: ${item.json}\n\n`);
    while (this.frames.size > 0 && (this.frames.size >= this.max || this.held + frame.length > this.maxBytes)) {
      const oldest = this.frames.keys().next().value as number;
      this.held -= this.frames.get(oldest)!.length;
      this.frames.delete(oldest);
    }
    this.frames.set(item.revision, frame);
    this.held += frame.length;
    return frame;
  }

  /** Frames held now. */
  get size(): number {
    return this.frames.size;
  }

  /** Their bytes. */
  get bytes(): number {
    return this.held;
  }
}

/** The event type, read off the serialised event without parsing it (it is the first field). */
export const eventType = (json: string): string => json.slice(9, json.indexOf('"', 9));
