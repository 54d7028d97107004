import type { RunHandle } from './run/run-handle.js';
import type { Runtime } from './runtime.js';
import type { RuntimeConfig } from './runtime-config.js';

/** What `runtime.work` takes. */
export interface WorkOptions {
  /** How many runs this process executes at once (default 8). Parked runs hold no slot. */
  concurrency?: number;
  /**
   * Signals on which the worker shuts down gracefully: it stops taking runs, checkpoints its live
   * ones and hands them back to the queue at once (default `['SIGTERM', 'SIGINT']`; `[]` for none).
   */
  shutdownSignals?: readonly NodeJS.Signals[];
}

/** A process working for a cluster (`runtime.work`). */
export interface ClusterWorker {
  /** This worker's id (host, pid and a random suffix). */
  readonly id: string;
  /** The runs it holds now. */
  running(): string[];
  /**
   * Stops taking runs, checkpoints the live ones and hands them back to the queue, so that they
   * continue on another worker without waiting for the stall timeout. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * What a cluster gets from `createRuntime`: the configuration, and a local runtime that executes
 * runs in this process (a worker's), reads the store, and tells when a run it executes is live with
 * its owner epoch.
 */
export interface ClusterHost {
  config: RuntimeConfig;
  /** The runtime that executes runs here. Parked runs leave it (`unloadParked`). */
  local: Runtime;
  /** The live handle of a run here, loading it from its latest checkpoint if it is only stored. */
  load(runId: string): Promise<RunHandle>;
  /** The handle of a run that is live here now, if it is. */
  liveHandle(runId: string): RunHandle | undefined;
  /** Resolves once every event logged so far is in the store's event log. */
  eventsFlushed(): Promise<void>;
  /**
   * Resolves once the checkpoints a run live here asked for so far are written (at once if it is
   * not live here: a run that left wrote its checkpoints first); rejects if one could not be.
   */
  checkpointsFlushed(runId: string): Promise<void>;
  /** Called when a run this process executes is live, with the owner epoch its writes carry. */
  onRunLive(listener: (runId: string, epoch: number) => void): () => void;
}

/**
 * A distributed engine that runs execute on (`bullmqCluster` from `agentchart/cluster`). The core
 * never imports it: it hands the cluster a {@link ClusterHost}, and the cluster gives back the
 * runtime whose calls dispatch.
 */
export interface RuntimeCluster {
  readonly kind: 'agentchart-cluster';
  attach(host: ClusterHost): Runtime;
}
