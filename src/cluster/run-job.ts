import type { RunLimits } from '../machines/agent-run-types.js';
import type { Message } from '../model/message.js';
import type { CheckpointEnvelope } from '../persistence/checkpoint-envelope.js';
import type { ForkModifications } from '../runtime/history/fork-run.js';

/** Where a worker answers a request: the client's channel and the request's id. */
export interface ReplyAddress {
  to: string;
  id: string;
}

/** Fork modifications as a job carries them: the model by its id, messages as an array. */
export type SerializedModifications = Omit<ForkModifications, 'model' | 'messages'> & {
  modelId?: string;
  messages?: Message[];
};

/** What a job asks of a worker, for the run whose id the job carries. */
export type RunJob = (
  | { kind: 'start'; runId: string; input: string; timeoutMs?: number }
  | {
      kind: 'resume';
      runId: string;
      from: string | CheckpointEnvelope;
      options: {
        runId?: string | undefined;
        limits?: Partial<Omit<RunLimits, 'maxConcurrentToolCalls'>>;
        timeoutMs?: number;
      };
    }
  | {
      kind: 'fork';
      runId: string;
      checkpointId: string;
      modifications?: SerializedModifications;
      description?: string;
      tags?: string[];
    }
  /** Take the run up where it is: apply its waiting controls, continue it if it is moving. */
  | { kind: 'continue'; runId: string }
) & { reply?: ReplyAddress };

/** A control waiting for the worker of a run (in the run's control list). */
export interface ClusterControl {
  id: string;
  to: string;
  op: 'pause' | 'resume' | 'cancel' | 'respond' | 'approve' | 'reject';
  args: unknown[];
  /** Taken before by a worker that lost the run before it was done with it. */
  again?: true;
}

/** A worker's answer to a request or a control. */
export interface ClusterReply {
  id: string;
  value?: unknown;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}
