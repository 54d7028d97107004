import { AgentchartError, runNotFound } from '../../agentchart-error.js';
import { deepFreeze } from '../../deep-freeze.js';
import { lastAnswerOf, type Message, toolCallsOf } from '../../model/message.js';
import type { Usage } from '../../model/usage.js';
import type { PendingRequest } from '../../pending-request.js';
import {
  type CheckpointEnvelope,
  type CheckpointMeta,
  runOfCheckpoint,
} from '../../persistence/checkpoint-envelope.js';
import type { RunRecord, RunStore } from '../../persistence/run-store.js';

/** A run's history: its checkpoints in order, and where it sits in its fork tree. */
export interface RunHistory {
  runId: string;
  status: RunRecord['status'];
  /** The checkpoint this run was forked (or resumed as a new run) from, and that checkpoint's run. */
  parent: { runId: string; checkpointId: string } | null;
  /** The runs forked from this one, with the checkpoint each started from. */
  children: { runId: string; forkOf: string }[];
  /** Oldest first: step, phase, message count, usage, cost and a summary of each. */
  checkpoints: CheckpointMeta[];
}

/** A read-only view of one point of a run. */
export interface RunPoint {
  checkpointId: string;
  runId: string;
  stepNum: number;
  phase: CheckpointEnvelope['phase'];
  status: CheckpointEnvelope['status'];
  turn: number;
  messages: readonly Message[];
  usage: Usage;
  costUsd: number;
  pendingRequests: readonly PendingRequest[];
}

/** The history of a run; `RUN_NOT_FOUND` if the store has none. */
export async function historyOf(store: RunStore, runId: string): Promise<RunHistory> {
  const record = await store.getRun(runId);
  if (record === undefined) throw runNotFound(runId);
  const [checkpoints, children] = await Promise.all([
    store.listCheckpoints({ runId, order: 'asc' }),
    store.listForks(runId),
  ]);
  const parent =
    record.forkOf === null ? null : { runId: runOfCheckpoint(record.forkOf), checkpointId: record.forkOf };
  return { runId, status: record.status, parent, children, checkpoints };
}

/** A frozen view of a checkpoint; going back this way changes nothing (resuming an old point forks). */
export function pointOf(envelope: CheckpointEnvelope): RunPoint {
  const { context } = envelope;
  return deepFreeze({
    checkpointId: envelope.id,
    runId: envelope.runId,
    stepNum: envelope.stepNum,
    phase: envelope.phase,
    status: envelope.status,
    turn: context.turn,
    messages: structuredClone(context.messages),
    usage: { ...context.usage },
    costUsd: context.costUsd,
    pendingRequests: structuredClone(context.pendingRequests),
  });
}

/** How two runs differ. */
export interface RunComparison {
  /** The latest checkpoint both runs come from (null if they share no history). */
  commonAncestor: string | null;
  /** The first message where their conversations differ, and the model turn it belongs to (null if they do not). */
  divergence: { messageIndex: number; turn: number } | null;
  a: RunSide;
  b: RunSide;
  /** The final answers, line by line. */
  outputDiff: { op: 'same' | 'removed' | 'added'; line: string }[];
  /** b minus a. */
  usageDelta: Usage & { costUsd: number; turns: number };
}

/** One side of a comparison. */
export interface RunSide {
  runId: string;
  status: RunRecord['status'];
  output: string | undefined;
  turns: number;
  checkpoints: number;
  usage: Usage;
  costUsd: number;
  /** Tool calls (name and input) this run made and the other did not. */
  toolCallsOnlyHere: { toolName: string; input: unknown }[];
}

/** Compares two runs: where they part, what each answered and spent, what each did that the other did not. */
export async function compareRuns(store: RunStore, runIdA: string, runIdB: string): Promise<RunComparison> {
  const [a, b] = await Promise.all([finalState(store, runIdA), finalState(store, runIdB)]);
  const [lineageA, lineageB] = await Promise.all([lineage(store, runIdA), lineage(store, runIdB)]);
  const callsA = toolCallKeys(a.envelope.context.messages);
  const callsB = toolCallKeys(b.envelope.context.messages);
  const side = (state: typeof a, mine: Map<string, unknown>, theirs: Map<string, unknown>): RunSide => ({
    runId: state.record.runId,
    status: state.record.status,
    output: lastAnswerOf(state.envelope.context.messages),
    turns: state.envelope.context.turn,
    checkpoints: state.checkpoints,
    usage: state.envelope.context.usage,
    costUsd: state.envelope.context.costUsd,
    toolCallsOnlyHere: [...mine.entries()]
      .filter(([key]) => !theirs.has(key))
      .map(([, call]) => call as { toolName: string; input: unknown }),
  });
  const [sideA, sideB] = [side(a, callsA, callsB), side(b, callsB, callsA)];
  const delta = (field: keyof Usage) => sideB.usage[field] - sideA.usage[field];
  return {
    commonAncestor: commonAncestor(lineageA, lineageB),
    divergence: divergence(a.envelope.context.messages, b.envelope.context.messages),
    a: sideA,
    b: sideB,
    outputDiff: lineDiff(sideA.output ?? '', sideB.output ?? ''),
    usageDelta: {
      inputTokens: delta('inputTokens'),
      outputTokens: delta('outputTokens'),
      cacheCreationInputTokens: delta('cacheCreationInputTokens'),
      cacheReadInputTokens: delta('cacheReadInputTokens'),
      costUsd: sideB.costUsd - sideA.costUsd,
      turns: sideB.turns - sideA.turns,
    },
  };
}

async function finalState(store: RunStore, runId: string) {
  const record = await store.getRun(runId);
  if (record?.headCheckpointId == null) {
    throw runNotFound(runId, 'with a checkpoint to compare');
  }
  const envelope = await store.getCheckpoint(record.headCheckpointId);
  if (envelope === undefined)
    throw new AgentchartError({
      code: 'CHECKPOINT_NOT_FOUND',
      message: `No checkpoint '${record.headCheckpointId}'`,
    });
  return { record, envelope, checkpoints: record.stepNum + 1 };
}

/** A run's ancestry: [run, up to its last step], then the run it forked from up to the fork point, and so on. */
async function lineage(store: RunStore, runId: string): Promise<{ runId: string; upTo: number }[]> {
  const chain: { runId: string; upTo: number }[] = [];
  let current: string | undefined = runId;
  let upTo = Number.POSITIVE_INFINITY;
  while (current !== undefined && chain.length < 1000) {
    const record: RunRecord | undefined = await store.getRun(current);
    if (record === undefined) break;
    chain.push({ runId: current, upTo: Math.min(upTo, record.stepNum) });
    if (record.forkOf === null) break;
    current = runOfCheckpoint(record.forkOf);
    upTo = Number(record.forkOf.slice(record.forkOf.lastIndexOf('@') + 1));
  }
  return chain;
}

function commonAncestor(
  a: { runId: string; upTo: number }[],
  b: { runId: string; upTo: number }[],
): string | null {
  for (const step of a) {
    const other = b.find((candidate) => candidate.runId === step.runId);
    if (other !== undefined) return `${step.runId}@${Math.min(step.upTo, other.upTo)}`;
  }
  return null;
}

function divergence(a: readonly Message[], b: readonly Message[]): RunComparison['divergence'] {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (JSON.stringify(a[index]) !== JSON.stringify(b[index])) {
      const turn = a.slice(0, index).filter((message) => message.role === 'assistant').length + 1;
      return { messageIndex: index, turn };
    }
  }
  return null;
}

function toolCallKeys(messages: readonly Message[]): Map<string, unknown> {
  const calls = new Map<string, unknown>();
  for (const message of messages) {
    for (const call of toolCallsOf(message.content)) {
      calls.set(JSON.stringify([call.toolName, call.input]), { toolName: call.toolName, input: call.input });
    }
  }
  return calls;
}

/** A line diff by longest common subsequence. */
function lineDiff(before: string, after: string): RunComparison['outputDiff'] {
  const a = before.split('\n');
  const b = after.split('\n');
  const lengths = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lengths[i] as number[];
      row[j] =
        a[i] === b[j]
          ? (lengths[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(lengths[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const diff: RunComparison['outputDiff'] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      diff.push({ op: 'same', line: a[i++] as string });
      j++;
    } else if (i < a.length && (j === b.length || (lengths[i + 1]?.[j] ?? 0) >= (lengths[i]?.[j + 1] ?? 0))) {
      diff.push({ op: 'removed', line: a[i++] as string });
    } else {
      diff.push({ op: 'added', line: b[j++] as string });
    }
  }
  return diff;
}
