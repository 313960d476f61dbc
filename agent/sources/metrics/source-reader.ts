// Reads one named metric source through the gate: skipped while off, one warning when it goes missing.
import type { SmallFileReader } from './small-file.ts';
import type { SourceGate } from './source-gate.ts';

export class SourceReader {
  private readonly files: SmallFileReader;
  private readonly gate: SourceGate;
  private readonly keepOpen: boolean;

  /** `keepOpen`: the files are on a pseudo-filesystem and may stay open between samples. */
  constructor(files: SmallFileReader, gate: SourceGate, keepOpen: boolean) {
    this.files = files;
    this.gate = gate;
    this.keepOpen = keepOpen;
  }

  /** The file's text, or undefined when the source is off or the file cannot be read. */
  read(source: string, path: string, nowMs: number): string | undefined {
    if (!this.gate.shouldTry(source, nowMs)) return undefined;
    const text = this.files.read(path, this.keepOpen);
    if (text === undefined) {
      this.gate.fail(
        source,
        nowMs,
        { path, error: this.files.lastError },
        'metric source unavailable; its metrics are off',
      );
      return undefined;
    }
    this.gate.ok(source);
    return text;
  }

  /** Reads a file whose absence is normal (no gate, no warning). */
  readOptional(path: string): string | undefined {
    return this.files.read(path);
  }

  /** Like `read`, for a text the caller could not parse: the source goes off with one warning. */
  unparsable(source: string, path: string, nowMs: number): void {
    this.gate.fail(source, nowMs, { path }, 'metric source unparsable; its metrics are off');
  }
}
