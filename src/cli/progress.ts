/** Where a progress line is drawn: `process.stderr`, or a fake terminal in tests. */
export interface ProgressStream {
  /** Only a terminal gets a progress line: pipes, files and CI logs get none. */
  readonly isTTY?: boolean | undefined;
  /** The terminal's width: a longer line is cut, since `\r` only returns to the start of its last row. */
  readonly columns?: number | undefined;
  write(text: string): unknown;
}

/** Carriage return, then erase the whole line (ANSI EL 2): what a redraw starts with and a clear is. */
export const CLEAR_LINE = '\r\x1b[2K';

/**
 * One status line redrawn in place on a terminal, and cleared before anything else is printed, so the
 * final output never follows a stale line. Off a terminal it writes nothing at all.
 */
export class ProgressLine {
  private drawn: string | undefined;

  constructor(private readonly stream: ProgressStream) {}

  /** Draws `text` in place of the line shown (nothing off a terminal, or when it is unchanged). */
  show(text: string): void {
    if (this.stream.isTTY !== true) return;
    const width = this.stream.columns;
    // One row: a control character (a newline or escape in a case id, say) would break the redraw.
    text = text.replace(/\p{Cc}/gu, ' ');
    const line = width !== undefined && width > 1 && text.length >= width ? text.slice(0, width - 1) : text;
    if (line === this.drawn) return;
    this.stream.write(`${CLEAR_LINE}${line}`);
    this.drawn = line;
  }

  /** Erases the line if one is shown; call it before the final output, on errors and on interrupt. */
  clear(): void {
    if (this.drawn === undefined) return;
    this.stream.write(CLEAR_LINE);
    this.drawn = undefined;
  }

  /** Runs `print` (which writes other output) with the line cleared, then draws the line again. */
  above(print: () => void): void {
    const shown = this.drawn;
    this.clear();
    print();
    if (shown !== undefined) this.show(shown);
  }
}

/** Where a command draws its progress line and hears Ctrl-C: the process's own, or fakes in tests. */
export interface TerminalIO {
  readonly progress: ProgressStream;
  readonly signals: Pick<NodeJS.EventEmitter, 'once' | 'off'>;
}

/** The process's stderr and signals. */
export const processIO: TerminalIO = { progress: process.stderr, signals: process };
