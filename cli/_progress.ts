/**
 * Private to cli/: a one-line progress bar on stderr, drawn only when stderr is a TTY.
 *
 * @module
 */
import process from "node:process";

/** A progress bar that prints nothing unless enabled (stderr is a TTY and not --quiet). */
export class Progress {
  #total: number;
  #done = 0;
  #start = performance.now();
  #enabled: boolean;
  #last = 0;
  #label: string;

  /**
   * @param total The number of steps.
   * @param label What is counted.
   * @param enabled Whether to draw.
   */
  constructor(total: number, label: string, enabled: boolean) {
    this.#total = total;
    this.#label = label;
    this.#enabled = enabled;
    this.#draw("");
  }

  /** Whether the bar is drawn. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Prints a line above the bar (on stdout), then redraws the bar. */
  print(line: string): void {
    if (this.#enabled) process.stderr.write("\r\x1b[2K");
    process.stdout.write(line + "\n");
    this.#draw("", true);
  }

  /** One step done. */
  tick(what: string): void {
    this.#done++;
    this.#draw(what);
  }

  #draw(what: string, force = false): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < 50 && this.#done < this.#total) return;
    this.#last = now;
    const width = 28;
    const filled = Math.round((width * this.#done) / Math.max(1, this.#total));
    const elapsed = (now - this.#start) / 1000;
    const eta = this.#done > 0 ? (elapsed / this.#done) * (this.#total - this.#done) : NaN;
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const tail = Number.isFinite(eta) && this.#done < this.#total ? ` ETA ${eta.toFixed(0)}s` : "";
    const name = what.length > 30 ? what.slice(0, 29) + "…" : what;
    process.stderr.write(
      `\r\x1b[2K${bar} ${this.#done}/${this.#total} ${this.#label} ${
        elapsed.toFixed(1)
      }s${tail} ${name}`,
    );
  }

  /** Clears the bar. */
  done(): void {
    if (this.#enabled) process.stderr.write("\r\x1b[2K");
  }
}
