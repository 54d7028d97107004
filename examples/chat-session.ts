/**
 * A chat backend: one session per user, one run per user message. The history is bounded, two
 * requests that race on one session never lose a message, and the session is the same after a
 * restart.
 *
 *   npx tsx --conditions=agentchart-source examples/chat-session.ts
 *
 * With ANTHROPIC_API_KEY set it talks to Claude; without it a scripted model answers, counting the
 * questions it was shown.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConcurrencyError, createRuntime, type ModelClient, openStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';

async function chooseModel(): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('agentchart/anthropic');
    return anthropicModel({ maxTokens: 256 });
  }
  return scriptedModel((request) => {
    const questions = request.messages.filter(
      (message) => message.role === 'user' && message.content.some((block) => block.type === 'text'),
    );
    const last = questions.at(-1)?.content.find((block) => block.type === 'text');
    return {
      text: `(${questions.length} questions so far) You said: ${last?.type === 'text' ? last.text : ''}`,
    };
  });
}

// A new LevelDB folder, or the store AGENTCHART_STORE names (a folder or a postgres:// URL).
const path = process.env.AGENTCHART_STORE ?? mkdtempSync(join(tmpdir(), 'agentchart-chat-'));
let store = await openStore(path);
let runtime = createRuntime({ model: await chooseModel(), store, systemPrompt: 'Be brief.' });

// Each message is a run that begins with the session's history; its messages are committed to
// the session when it ends, on the version it started from.
const chat = await runtime.session('user-42', { maxHistory: 4 });
for (const text of ['Hi, I am Ada.', 'What is a statechart?', 'Thanks!']) {
  const run = await chat.run(text);
  const { result, version } = await run.committed;
  console.log(`v${version} ${text} -> ${result.output}`);
}
console.log(`history the next run sees: ${chat.history.length} of ${chat.messages.length} messages`);

// Two requests race on one session: the first to end commits; the other gets ConcurrencyError,
// and its answer stays in its own checkpoints.
const [a, b] = await Promise.all([
  chat.run('Request A', { runId: 'req-a' }),
  chat.run('Request B', { runId: 'req-b' }),
]);
const outcomes = await Promise.allSettled([a.committed, b.committed]);
for (const outcome of outcomes) {
  if (outcome.status === 'fulfilled')
    console.log(`committed ${outcome.value.runId} as v${outcome.value.version}`);
  else if (outcome.reason instanceof ConcurrencyError)
    console.log(
      `conflict: expected v${outcome.reason.expectedVersion}, session is at v${outcome.reason.actualVersion}`,
    );
}

// The retry pattern, built in: the loser reloads the session and runs its input again on the new
// history (by hand: catch ConcurrencyError, `session.reload()`, then re-run or merge).
const retrying = await Promise.all(
  ['Request C', 'Request D'].map((text) => chat.run(text, { onConflict: 'retry' })),
);
const retried = await Promise.all(retrying.map((run) => run.committed));
console.log(
  `both committed (v${retried
    .map((outcome) => outcome.version)
    .sort()
    .join(', v')}), in ${retried
    .map((outcome) => outcome.attempts)
    .sort()
    .join(' and ')} attempts`,
);

// Restart: a new process opens the same store and finds the session as it was.
await runtime.close();
await store.close();
store = await openStore(path);
runtime = createRuntime({ model: await chooseModel(), store, systemPrompt: 'Be brief.' });
const again = await runtime.session('user-42', { maxHistory: 4 });
console.log(`after restart: v${again.version}, ${again.messages.length} messages`);
const next = await (await again.run('Still there?')).committed;
console.log(`v${next.version} Still there? -> ${next.result.output}`);

await runtime.close();
await store.close();
