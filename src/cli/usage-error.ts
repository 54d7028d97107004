/** A mistake in how the CLI was called: an unknown command, a missing operand, a bad option value (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
