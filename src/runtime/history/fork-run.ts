import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunContext, RunLimits, RunSettings } from '../../machines/agent-run-types.js';
import { type Message, sharedPrefix } from '../../model/message.js';
import { messageSchema } from '../../model/message-schema.js';
import type { ModelClient } from '../../model/model-client.js';
import type { CheckpointStore } from '../../persistence/checkpoint-store.js';
import { buildEnvelope } from '../checkpoints/checkpointer.js';
import { type CheckpointMigrations, loadCheckpoint } from '../checkpoints/load-checkpoint.js';
import { type CancelToken, signalOf } from '../run/cancel-token.js';
import { launchRun } from '../run/launch-run.js';
import type { RunEnvironment } from '../run/run-environment.js';
import type { RunHandle } from '../run/run-handle.js';
import { inputTextOf } from '../run/run-outcome.js';
import { defined } from '../runtime-config.js';

/** What a fork changes about the run it starts from. */
export interface ForkModifications {
  systemPrompt?: string;
  /** Replaces the last user message (the one with text), dropping everything after it. */
  input?: string;
  /** A new conversation, or an edit of the old one (after `input`, if both are given). */
  messages?: readonly Message[] | ((messages: readonly Message[]) => readonly Message[]);
  /** Another model; its id is kept with the run (a restored fork finds it in `createRuntime({ models })`). */
  model?: ModelClient;
  /** Limits over the checkpoint's. */
  limits?: Partial<Omit<RunLimits, 'maxConcurrentToolCalls'>>;
  /** The names of the runtime's tools the fork may use. */
  tools?: readonly string[];
}

/** What `runtime.fork` takes. */
export interface ForkOptions {
  modifications?: ForkModifications;
  /** Stored on the fork's first checkpoint. */
  description?: string;
  tags?: string[];
  /** The fork's run id; generated when omitted. */
  runId?: string;
  signal?: AbortSignal | CancelToken;
}

const messagesSchema = z.array(messageSchema);

/**
 * Starts a new run from a checkpoint, with modifications. The original run and its checkpoints are
 * untouched: the fork has its own id, its first checkpoint records `forkOf`, and it shares the
 * stored messages of its past instead of copying them. A fork of a point where tool calls were
 * pending runs them; a fork whose conversation was changed asks the model again.
 */
export async function forkRun(
  environment: RunEnvironment & { models: Map<string, ModelClient> },
  store: CheckpointStore,
  migrations: CheckpointMigrations,
  checkpointId: string,
  options: ForkOptions,
): Promise<RunHandle> {
  const envelope = await loadCheckpoint(checkpointId, store, migrations);
  const runId = options.runId ?? `run_${randomUUID()}`;
  const { model } = options.modifications ?? {};
  if (model !== undefined) environment.models.set(model.modelId, model);
  const context = modified(
    { ...envelope.context, runId },
    options.modifications ?? {},
    environment.clock.now(),
  );
  const { messages, limits } = context;
  const label = {
    ...(options.tags === undefined ? {} : { tags: options.tags }),
    ...(options.description === undefined ? {} : { description: options.description }),
  };
  const { handle, started } = launchRun(environment, {
    runId,
    inputText: inputTextOf(messages),
    start: { input: { runId, messages, limits, context }, resumedFrom: envelope.id },
    prepare: async ({ snapshot, persisted, eventSeqs }) => {
      const place = { runId, stepNum: 0, parentId: envelope.id, forkOf: envelope.id };
      const firstCheckpoint = buildEnvelope(place, snapshot, persisted, label, environment.clock.now());
      const fork = {
        runId,
        forkOf: envelope.id,
        messages,
        firstCheckpoint,
        reservedEventSeqs: eventSeqs,
        // The messages it shares with the checkpoint are that run's, not copies.
        inherits: { checkpointId: envelope.id, count: sharedPrefix(envelope.context.messages, messages) },
      };
      return { store, record: await store.createRun(fork), created: true };
    },
    signal: signalOf(options.signal),
  });
  await started;
  return handle;
}

/** The checkpoint's context with the modifications applied, ready to start a new run from. */
function modified(context: AgentRunContext, changes: ForkModifications, now: number): AgentRunContext {
  let messages: readonly Message[] = context.messages;
  if (changes.input !== undefined) messages = withInput(messages, changes.input);
  if (changes.messages !== undefined) {
    const given = typeof changes.messages === 'function' ? changes.messages(messages) : changes.messages;
    const parsed = messagesSchema.safeParse(given);
    if (!parsed.success) {
      throw new AgentchartError({
        code: 'INVALID_ARGUMENT',
        message: `Invalid fork messages:\n${z.prettifyError(parsed.error)}`,
      });
    }
    messages = parsed.data as Message[];
  }
  const conversationChanged = messages !== context.messages;
  const settings: RunSettings = { ...context.settings };
  if (changes.systemPrompt !== undefined) settings.systemPrompt = changes.systemPrompt;
  if (changes.model !== undefined) settings.modelId = changes.model.modelId;
  if (changes.tools !== undefined) settings.toolNames = [...changes.tools];
  const { totalMs } = context.timeouts;
  return {
    ...context,
    messages: [...messages],
    limits: { ...context.limits, ...defined(changes.limits ?? {}) },
    settings,
    // A fork is a new run: its own total deadline, and nothing left over from the point it left.
    deadlines: totalMs === undefined ? {} : { total: now + totalMs },
    pausedFrom: undefined,
    error: undefined,
    // A fork explores a branch; only the run that went first speaks for the session.
    session: undefined,
    ...(conversationChanged
      ? {
          turn: messages.filter((message) => message.role === 'assistant').length,
          stopReason: undefined,
          providerStopReason: undefined,
          pendingToolCalls: [],
          toolResults: [],
          pendingRequests: [],
        }
      : {}),
  };
}

/** The conversation with its last user text message replaced, and what came after it dropped. */
function withInput(messages: readonly Message[], input: string): Message[] {
  const index = messages.findLastIndex(
    (message) => message.role === 'user' && message.content.some((block) => block.type === 'text'),
  );
  if (index === -1) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: 'The checkpoint has no user message to replace with `input`',
    });
  }
  return [...messages.slice(0, index), { role: 'user', content: [{ type: 'text', text: input }] }];
}
