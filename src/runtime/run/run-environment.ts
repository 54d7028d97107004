import type { Clock } from '../../clock.js';
import type { AgentRunContext, RunLimits } from '../../machines/agent-run-types.js';
import type { ModelClient } from '../../model/model-client.js';
import type { ModelPrice } from '../../model/prices.js';
import type { RetryPolicy } from '../../model/retrying-stream.js';
import type { RunResult } from '../../run-result.js';
import type { EventLogRegistry } from '../../streaming/event-log.js';
import type { ToolRegistry } from '../../tools/tool-registry.js';
import type { CheckpointDurability, CheckpointPolicy } from '../checkpoints/checkpoint-policy.js';
import type { RuntimeTimeouts } from '../runtime-config.js';
import type { RunHandle } from './run-handle.js';
import type { LeaveReason } from './run-spec.js';
import type { Supervisor } from './supervisor.js';

/** A run loaded in a runtime: the handle its caller holds, and how the runtime makes it leave. */
export interface LoadedRun {
  handle: RunHandle;
  /** Leaves this process without ending (see `RunLifecycle.leave`). */
  leave(reason: LeaveReason): Promise<void>;
  /** Resolves once every checkpoint the run asked for so far is written; rejects if one could not be. */
  checkpointsFlushed(): Promise<void>;
}

/** What every run of a runtime shares. */
export interface RunEnvironment {
  model: ModelClient;
  registry: ToolRegistry;
  systemPrompt: string | undefined;
  limits: RunLimits;
  timeouts: RuntimeTimeouts & { idleStreamMs: number };
  /** How failed model turns are tried again. */
  retry: RetryPolicy;
  /** Prices by model id or prefix. */
  prices: Readonly<Record<string, ModelPrice>>;
  /** The runtime's models by id (its `model` and its `models`), for runs whose settings name another. */
  models: Map<string, ModelClient>;
  telemetry: boolean;
  policy: CheckpointPolicy;
  durability: CheckpointDurability;
  unloadParked: boolean;
  clock: Clock;
  /** The runs loaded in this runtime, by id. */
  loaded: Map<string, LoadedRun>;
  /**
   * Tool calls still running for runs that ended or left (a call runs on after a cancel until it
   * settles, and is journaled if it returns): the runtime waits for them before it closes its store.
   */
  settling: Set<Promise<void>>;
  /** Told when a run is live here, with the owner epoch its writes carry (a cluster fences its streams by it). */
  onLive?: (runId: string, epoch: number) => void;
  /** The supervisor the runs are spawned under. */
  supervisor: Supervisor;
  /** Told of every run that ends (done, failed or cancelled), before its result resolves: sessions commit here. */
  onEnded(result: RunResult, context: AgentRunContext): Promise<void>;
  /** The event logs of the live runs. */
  eventLogs: EventLogRegistry;
  /**
   * Loads a run that left this runtime's memory (from its latest checkpoint), for an answer or a
   * resume; `RUNTIME_CLOSED` once the runtime is closed.
   */
  reload(runId: string): Promise<RunHandle>;
}
