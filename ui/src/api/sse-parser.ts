/** One Server-Sent Events frame. */
export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/**
 * Turns the text of an event stream, in whatever pieces it arrives, into frames (the
 * text/event-stream format: `field: value` lines, a blank line ends a frame, `:` lines are comments).
 * @example const p = new SseParser(); p.push('id: 3\nevent: CREATED\ndata: {}\n\n') // [{ id: '3', event: 'CREATED', data: '{}' }]
 */
export class SseParser {
  private buffer = '';

  push(text: string): SseFrame[] {
    this.buffer += text;
    const frames: SseFrame[] = [];
    let end: number;
    while ((end = this.frameEnd()) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end).replace(/^(\r?\n){2}/, '');
      const frame = parseBlock(block);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  private frameEnd(): number {
    const a = this.buffer.indexOf('\n\n');
    const b = this.buffer.indexOf('\r\n\r\n');
    if (a < 0) return b;
    return b < 0 ? a : Math.min(a, b);
  }
}

function parseBlock(block: string): SseFrame | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (id === undefined && data.length === 0) return undefined;
  return { id, event, data: data.join('\n') };
}
