import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AgentchartErrorCode, errorCategoryOf, httpStatusOf, httpStatusOfCategory } from 'agentchart';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, exitCodeOfCategory } from '../src/cli/exit-code-of.js';
import { errorCodeCategories } from '../src/error-category.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

/** The rows of the README's table whose header starts with `first` (cells trimmed, without backticks). */
function tableOf(first: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  expect(start, `a README table headed '${first}'`).toBeGreaterThan(-1);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replaceAll('`', '')),
    );
  }
  return rows;
}

describe('one error table for the CLI and for services', () => {
  it('gives every code a category, an exit code and an HTTP status, as the README says', () => {
    const codes = Object.keys(errorCodeCategories) as AgentchartErrorCode[];
    const documented = tableOf('code');
    expect(documented.map(([code]) => code).sort()).toEqual([...codes].sort());
    for (const [code, category, exitCode, status] of documented) {
      const known = code as AgentchartErrorCode;
      expect([code, errorCategoryOf(known), exitCodeOf(known), httpStatusOf(known)]).toEqual([
        code,
        category,
        Number(exitCode),
        Number(status),
      ]);
    }
  });

  it("documents each category's exit code and status, and the CLI's exit codes", () => {
    const categories = tableOf('category');
    expect(
      Object.fromEntries(categories.map((cells) => [cells[0], [Number(cells[2]), Number(cells[3])]])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(httpStatusOfCategory).map(([category, status]) => [
          category,
          [exitCodeOfCategory[category as keyof typeof exitCodeOfCategory], status],
        ]),
      ),
    );
    // The CLI's table: each category named in the row of its exit code.
    const exits = tableOf('exit code');
    expect(exits.map(([exitCode]) => Number(exitCode))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [category, exitCode] of Object.entries(exitCodeOfCategory)) {
      const row = exits.find(([code]) => Number(code) === exitCode);
      expect(row?.[1]).toMatch(new RegExp(`(^|[ ,])${category}[:,]`));
    }
  });

  it('answers internal for a code it does not know (an error from a newer copy of the package)', () => {
    expect(errorCategoryOf('SOMETHING_NEW' as AgentchartErrorCode)).toBe('internal');
    expect(httpStatusOf('SOMETHING_NEW' as AgentchartErrorCode)).toBe(500);
  });
});
