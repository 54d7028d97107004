import { runNotFound } from '../agentchart-error.js';
import { type Message, toolCallsOf } from '../model/message.js';
import { emptyUsage } from '../model/usage.js';
import { type CheckpointMeta, type CheckpointStatus, metaOf } from '../persistence/checkpoint-envelope.js';
import type { RunRecord } from '../persistence/run-store.js';
import type { Runtime } from '../runtime/runtime.js';
import type {
  StudioCheckpoint,
  StudioForkTree,
  StudioRun,
  StudioRunSummary,
  StudioTimelineEntry,
} from './studio-api.js';

/** The most runs the list shows, newest first. */
const maxListedRuns = 500;
/** The most runs a fork tree holds (a guard against a tree too large to draw). */
const maxTreeRuns = 200;

/** The runs list, newest first, with each run's turns, usage and cost from its latest checkpoint. */
export async function runSummaries(runtime: Runtime, status?: CheckpointStatus): Promise<StudioRunSummary[]> {
  const records = await runtime.runs.list(status === undefined ? {} : { status });
  records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.runId.localeCompare(b.runId));
  return Promise.all(
    records.slice(0, maxListedRuns).map(async (record) => {
      const [head] = await runtime.checkpoints.list({ runId: record.runId, limit: 1 });
      return summaryOf(record, head);
    }),
  );
}

function summaryOf(record: RunRecord, head: CheckpointMeta | undefined): StudioRunSummary {
  return {
    runId: record.runId,
    status: record.status,
    phase: head?.phase ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    forkOf: record.forkOf,
    steps: record.stepNum + 1,
    turns: head?.turn ?? 0,
    usage: head?.usage ?? emptyUsage(),
    costUsd: head?.costUsd ?? 0,
    summary: head?.summary ?? '',
  };
}

/** A run with its timeline: each checkpoint's step, phase, usage, tool calls and the time it took. */
export async function runView(runtime: Runtime, runId: string): Promise<StudioRun> {
  const [record, history, info] = await Promise.all([
    runtime.runs.get(runId),
    runtime.history(runId),
    runtime.status(runId),
  ]);
  if (record === undefined) throw runNotFound(runId);
  const head =
    record.headCheckpointId === null ? undefined : await runtime.checkpoints.get(record.headCheckpointId);
  const messages = head?.context.messages ?? [];
  const timeline = history.checkpoints.map((meta, index): StudioTimelineEntry => {
    const previous = history.checkpoints[index - 1];
    // A fork's first checkpoint holds the conversation it inherited: it made no calls of its own.
    const from = previous?.messageCount ?? (record.forkOf === null ? 0 : meta.messageCount);
    return {
      ...meta,
      durationMs: previous === undefined ? null : Date.parse(meta.savedAt) - Date.parse(previous.savedAt),
      toolCalls: callsIn(messages.slice(from, meta.messageCount)),
    };
  });
  return {
    run: summaryOf(record, history.checkpoints.at(-1)),
    info,
    parent: history.parent,
    children: history.children,
    timeline,
    error: head?.context.error ?? null,
  };
}

function callsIn(messages: readonly Message[]): StudioTimelineEntry['toolCalls'] {
  return messages.flatMap((message) =>
    toolCallsOf(message.content).map(({ toolCallId, toolName }) => ({ toolCallId, toolName })),
  );
}

/** A run as it was at one checkpoint: its conversation, state, pending requests and error. */
export async function checkpointView(runtime: Runtime, checkpointId: string): Promise<StudioCheckpoint> {
  const envelope = await runtime.checkpoints.get(checkpointId);
  const { context } = envelope;
  return {
    checkpoint: metaOf(envelope),
    state: envelope.snapshot.value,
    messages: context.messages,
    pendingRequests: context.pendingRequests,
    error: context.error ?? null,
    settings: context.settings,
    limits: context.limits,
  };
}

/** The fork tree a run belongs to: up to its root run, then every run forked from it, and so on. */
export async function forkTree(runtime: Runtime, runId: string): Promise<StudioForkTree> {
  let rootId = runId;
  for (let depth = 0; depth < maxTreeRuns; depth++) {
    const { parent } = await runtime.history(rootId);
    if (parent === null || (await runtime.runs.get(parent.runId)) === undefined) break;
    rootId = parent.runId;
  }
  let budget = maxTreeRuns;
  const grow = async (id: string): Promise<StudioForkTree> => {
    budget--;
    const history = await runtime.history(id);
    const children: StudioForkTree[] = [];
    for (const child of history.children) {
      if (budget <= 0) break;
      children.push(await grow(child.runId));
    }
    return { runId: id, status: history.status, forkOf: history.parent?.checkpointId ?? null, children };
  };
  return grow(rootId);
}
