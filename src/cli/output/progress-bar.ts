import type { Terminal } from './terminal.ts';

const BAR = 30;
const REDRAW_MS = 80;

/**
 * `[#########---------] 120/250` on one line of a TTY (stderr), redrawn as work completes and
 * erased at the end. On anything but a TTY it prints nothing, so logs and pipes stay clean.
 * @example const bar = new ProgressBar(err, hosts.length); … bar.tick(); … bar.done()
 */
export class ProgressBar {
  private count = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(private readonly out: Terminal, private readonly total: number, minTotal = 2) {
    this.enabled = out.isTTY && total >= minTotal;
  }

  tick(n = 1): void {
    this.count += n;
    const now = Date.now();
    if (this.enabled && (now - this.lastDraw >= REDRAW_MS || this.count >= this.total)) {
      this.lastDraw = now;
      this.out.rewrite(ProgressBar.render(this.count, this.total));
    }
  }

  /** Erases the bar so the summary that follows starts on a clean line. */
  done(): void {
    if (this.enabled && this.lastDraw > 0) {
      this.out.rewrite(' '.repeat(BAR + 4 + 2 * String(this.total).length));
      this.out.rewrite('');
    }
  }

  /** @example ProgressBar.render(5, 10) // '[###############---------------] 5/10' */
  static render(count: number, total: number): string {
    const filled = total === 0 ? BAR : Math.round((Math.min(count, total) / total) * BAR);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${count}/${total}`;
  }
}
