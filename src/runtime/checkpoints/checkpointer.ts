import type { Clock } from '../../clock.js';
import {
  type AgentRunActor,
  type AgentRunSnapshot,
  agentRunMachineVersion,
} from '../../machines/agent-run-machine.js';
import {
  type CheckpointEnvelope,
  type CheckpointMeta,
  checkpointEnvelopeVersion,
  metaOf,
} from '../../persistence/checkpoint-envelope.js';
import type { RunRecord, RunStore } from '../../persistence/run-store.js';
import type { RunEventBody, RunPhase } from '../../streaming/run-event.js';
import { type CheckpointPolicy, isTerminal, statusOf, wantsCheckpoint } from './checkpoint-policy.js';
import { compactSnapshot } from './snapshot-codec.js';

/** What a manual checkpoint may carry. */
export interface CheckpointLabel {
  tags?: string[];
  description?: string;
}

/** Writes the checkpoints of one run, in order, one at a time. */
export interface Checkpointer {
  /**
   * Called with every new snapshot of the run; writes a checkpoint when the policy wants one.
   * `persist` makes the persisted snapshot, only then.
   */
  observe(snapshot: AgentRunSnapshot, persist: () => Record<string, unknown>): void;
  /** Writes a checkpoint of this snapshot now, whatever the policy. */
  checkpoint(
    snapshot: AgentRunSnapshot,
    persisted: Record<string, unknown>,
    label: CheckpointLabel,
  ): Promise<CheckpointMeta>;
  /** Resolves when every checkpoint asked for so far is written; rejects if one could not be. */
  flushed(): Promise<void>;
  /** Waits for the writes, then makes sure the run's record shows how it ended; rejects if a write failed. */
  finish(phase: RunPhase): Promise<void>;
}

/**
 * The actor's persisted snapshot without its context. XState's own persisting walks the whole
 * context (every message of the conversation) looking for actor references, which would make each
 * checkpoint cost more as the conversation grows; the envelope keeps the context apart anyway.
 */
export function persistWithoutContext(actor: AgentRunActor): Record<string, unknown> {
  const snapshot = actor.getSnapshot();
  return actor.logic.getPersistedSnapshot({ ...snapshot, context: {} } as never) as Record<string, unknown>;
}

/** Where a checkpoint sits in its run's history. */
export interface CheckpointPlace {
  runId: string;
  stepNum: number;
  parentId: string | null;
  forkOf: string | null;
}

/** The envelope of a run's state: its context and its snapshot made compact, at `place`. */
export function buildEnvelope(
  place: CheckpointPlace,
  snapshot: AgentRunSnapshot,
  persisted: Record<string, unknown>,
  label: CheckpointLabel = {},
  now = Date.now(),
): CheckpointEnvelope {
  const phase = snapshot.value as RunPhase;
  return {
    version: checkpointEnvelopeVersion,
    id: `${place.runId}@${place.stepNum}`,
    ...place,
    phase,
    nextPhase: nextPhaseOf(snapshot),
    savedAt: new Date(now).toISOString(),
    status: statusOf(phase),
    tags: label.tags ?? [],
    description: label.description ?? null,
    machine: { id: 'agentRun', version: agentRunMachineVersion },
    context: snapshot.context,
    snapshot: compactSnapshot(persisted) as CheckpointEnvelope['snapshot'],
  };
}

/** What {@link createCheckpointer} needs. */
export interface CheckpointerOptions {
  store: RunStore;
  /** The run's record, with its first checkpoint already written. */
  record: RunRecord;
  policy: CheckpointPolicy;
  clock: Clock;
  emit(event: RunEventBody): void;
  /** Called once, with the first write that failed; later checkpoints are not attempted. */
  onFailure(error: unknown): void;
}

/** Creates the checkpoint writer of a run whose store record is `record`. */
export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { store, policy, emit, onFailure, clock } = options;
  const { runId, forkOf } = options.record;
  let version = options.record.version;
  // Past every step the run ever wrote: a checkpoint id never names two contents.
  let stepNum = options.record.lastStepNum;
  let parentId = options.record.headCheckpointId;
  let recordedStatus = options.record.status;
  let lastPhase: RunPhase | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let failure: { error: unknown } | undefined;

  function envelopeOf(
    snapshot: AgentRunSnapshot,
    persisted: Record<string, unknown>,
    label: CheckpointLabel,
  ) {
    stepNum++;
    const place = { runId, stepNum, parentId, forkOf };
    const envelope = buildEnvelope(place, snapshot, persisted, label, clock.now());
    parentId = envelope.id;
    return envelope;
  }
  function write(envelope: CheckpointEnvelope): Promise<void> {
    const written = chain.then(async () => {
      if (failure !== undefined) throw failure.error;
      const record = await store.appendCheckpoint(envelope, version);
      version = record.version;
      recordedStatus = record.status;
      emit({
        type: 'checkpoint',
        checkpointId: envelope.id,
        stepNum: envelope.stepNum,
        phase: envelope.phase,
      });
    });
    chain = written.catch((error: unknown) => {
      if (failure !== undefined) return;
      failure = { error };
      onFailure(error);
    });
    return written;
  }

  return {
    observe(snapshot, persist) {
      const phase = snapshot.value as RunPhase;
      if (wantsCheckpoint(policy, snapshot.context, phase, lastPhase)) {
        write(envelopeOf(snapshot, persist(), {})).catch(() => {});
      }
      lastPhase = phase;
    },
    checkpoint(snapshot, persisted, label) {
      const envelope = envelopeOf(snapshot, persisted, label);
      // The description is made for whoever asked for this checkpoint (the store made its own).
      return write(envelope).then(() => metaOf(envelope));
    },
    async flushed() {
      await chain;
      if (failure !== undefined) throw failure.error;
    },
    async finish(phase) {
      await chain;
      if (failure !== undefined) throw failure.error;
      const status = statusOf(phase);
      if (!isTerminal(phase) || recordedStatus === status) return;
      const record = await store.setRunStatus(runId, status, version);
      version = record.version;
      recordedStatus = record.status;
    },
  };
}

function nextPhaseOf(snapshot: AgentRunSnapshot): RunPhase | null {
  switch (snapshot.value) {
    case 'paused':
      return snapshot.context.pausedFrom ?? 'plan';
    case 'act':
      return 'observe';
    case 'waiting_input':
      return 'act';
    default:
      return null;
  }
}
