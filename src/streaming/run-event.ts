import type { AgentchartErrorCode } from '../agentchart-error.js';
import type { Usage } from '../model/usage.js';
import type { PendingRequest } from '../pending-request.js';
import type { ErrorClass } from '../run-error.js';
import type { RunResult } from '../run-result.js';

/** The phases of a run, as its statechart names them. */
export type RunPhase =
  | 'plan'
  | 'act'
  | 'observe'
  | 'paused'
  | 'waiting_input'
  | 'done'
  | 'failed'
  | 'cancelled';

/** What every run event carries. */
export interface RunEventBase {
  runId: string;
  /** Monotonic per run, starting at 0. */
  seq: number;
  /** When it happened, in milliseconds since the epoch. */
  at: number;
}

/** The body of each kind of event, without the common fields. */
export type RunEventBody =
  | {
      type: 'run-start';
      input: string;
      resumedFrom?: string;
      /** Set on a `run-start` read back from the event log, which keeps the first 1,000 characters of `input`. */
      inputTruncated?: true;
    }
  | { type: 'phase'; phase: RunPhase; turn: number }
  | { type: 'text-delta'; turn: number; text: string }
  | { type: 'thinking-delta'; turn: number; thinking: string }
  | { type: 'tool-call'; turn: number; toolCallId: string; toolName: string; input: unknown }
  | {
      type: 'tool-result';
      turn: number;
      toolCallId: string;
      toolName: string;
      output: unknown;
      durationMs: number;
      /** True when the result came from the journal (the call had completed before a restore). */
      replayed?: boolean;
    }
  | {
      type: 'tool-error';
      turn: number;
      toolCallId: string;
      toolName: string;
      code: AgentchartErrorCode;
      message: string;
      durationMs: number;
    }
  | { type: 'retry'; turn: number; attempt: number; delayMs: number; errorClass: ErrorClass; message: string }
  | { type: 'checkpoint'; checkpointId: string; stepNum: number; phase: RunPhase }
  | {
      type: 'usage';
      turn: number;
      turnUsage: Usage;
      totalUsage: Usage;
      turnCostUsd: number;
      totalCostUsd: number;
    }
  | { type: 'input-request'; request: PendingRequest }
  | { type: 'paused'; from: RunPhase }
  | { type: 'resumed'; to: RunPhase }
  | { type: 'telemetry'; name: string; durationMs: number; attributes: Record<string, string | number> }
  | { type: 'run-end'; result: RunResult };

/** One thing a run did. A discriminated union on `type`. */
export type RunEvent = RunEventBody & RunEventBase;

/** The event of one `type`. */
export type RunEventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
