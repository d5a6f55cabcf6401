/** One Server-Sent Events frame: its `id:` (when it had one), `event:` type and `data:` lines. */
export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

export interface SseParserOptions {
  /** Called with each comment line's text after the `:` (servers send them as keep-alives). */
  onComment?: (text: string) => void;
}

/**
 * Turns an SSE byte or text stream, in chunks cut anywhere, into complete frames. A blank line ends
 * a frame; `data:` lines join with `\n`; a frame without a `data:` line is dropped; lines end with
 * LF, CRLF or CR. A frame still open when the stream ends is never emitted.
 * @example const p = new SseParser((f) => frames.push(f)); res.on('data', (chunk) => p.push(chunk));
 */
export class SseParser {
  private buf = '';
  /** The last chunk ended in CR: a LF opening the next one belongs to it. */
  private skipLf = false;
  private readonly decoder = new TextDecoder();
  // CRLF first, so a pair counts as one line ending. Per parser: a frame handler may feed another.
  private readonly eol = /\r\n|\r|\n/g;
  private id: string | undefined;
  private event = 'message';
  private data = '';
  private hasData = false;

  constructor(
    private readonly onFrame: (frame: SseFrame) => void,
    private readonly options: SseParserOptions = {},
  ) {}

  /**
   * Feeds the next chunk: text or bytes (one or the other per stream). A UTF-8 character split
   * between byte chunks waits for its rest.
   */
  push(chunk: string | Uint8Array): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.skipLf && text !== '') {
      if (text.startsWith('\n')) text = text.slice(1);
      this.skipLf = false;
    }
    // What is left of earlier chunks holds no line end, so only the new text is searched: a long
    // frame arriving in many chunks costs linear time, not quadratic.
    const from = this.buf.length;
    const buf = this.buf + text;
    const lines: string[] = [];
    let pos = 0;
    if (!text.includes('\r')) {
      // The common case (servers end lines with LF) skips the regex, a few times faster.
      for (let end = buf.indexOf('\n', from); end >= 0; end = buf.indexOf('\n', pos)) {
        lines.push(buf.slice(pos, end));
        pos = end + 1;
      }
    } else {
      this.eol.lastIndex = from;
      for (let m: RegExpExecArray | null; (m = this.eol.exec(buf)); ) {
        lines.push(buf.slice(pos, m.index));
        pos = m.index + m[0].length;
        if (m[0] === '\r' && pos === buf.length) this.skipLf = true;
      }
    }
    // The rest is kept before any handler runs, so one that throws cannot make lines repeat.
    this.buf = buf.slice(pos);
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.options.onComment?.(line.slice(1));
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    const value = c < 0 ? '' : line.slice(line.charCodeAt(c + 1) === 32 ? c + 2 : c + 1);
    if (field === 'id') this.id = value;
    else if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data += (this.hasData ? '\n' : '') + value;
      this.hasData = true;
    }
  }

  private dispatch(): void {
    const frame: SseFrame = { event: this.event, data: this.data };
    if (this.id !== undefined) frame.id = this.id;
    const emit = this.hasData;
    this.id = undefined;
    this.event = 'message';
    this.data = '';
    this.hasData = false;
    if (emit) this.onFrame(frame);
  }
}
