/** Where the CLI writes: stdout and stderr, and whether output is JSON (`--json`). */
export interface CliOutput {
  json: boolean;
  /** Writes a line to stdout. */
  out(text: string): void;
  /** Writes a line to stderr. */
  err(text: string): void;
}

/** Prints a command's answer: `value` as indented JSON with `--json`, else the text `text()` makes. */
export function print(output: CliOutput, value: unknown, text: () => string): void {
  output.out(output.json ? JSON.stringify(value, null, 2) : text());
}
