/**
 * Runs every benchmark in bench/, one process each so that none warms or pollutes another, and
 * passes their JSON lines through.
 *
 *   npm run bench
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const benches = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run-all.ts')
  .sort();
for (const file of benches) {
  execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=agentchart-source',
      new URL(file, import.meta.url).pathname,
    ],
    {
      stdio: 'inherit',
    },
  );
}
