import { readFile } from 'node:fs/promises';
import { AgentchartError } from '../../agentchart-error.js';
import { agentRunMachineVersion } from '../../machines/agent-run-machine.js';
import { messageOf } from '../../message-of.js';
import {
  type CheckpointEnvelope,
  parseCheckpointEnvelope,
  parseCheckpointJson,
} from '../../persistence/checkpoint-envelope.js';
import type { RunStore } from '../../persistence/run-store.js';

/**
 * Upgrades of envelopes written by older versions of the run statechart, by the version they
 * upgrade from: each takes an envelope of machine version `n` and returns one of version `n + 1`.
 */
export type CheckpointMigrations = Readonly<
  Record<number, (envelope: Record<string, unknown>) => Record<string, unknown>>
>;

/** Where a run is resumed from: a checkpoint id, a path to an exported checkpoint, or an envelope. */
export type ResumeSource = string | CheckpointEnvelope | Record<string, unknown>;

/**
 * Loads and validates the checkpoint `from` names: an id is read from the store
 * (`CHECKPOINT_NOT_FOUND` if absent), a string with a `/` or ending in `.json` is read as a file,
 * an object is taken as it is. Envelopes of older machine versions are migrated or refused with
 * `CHECKPOINT_VERSION_MISMATCH`.
 */
export async function loadCheckpoint(
  from: ResumeSource,
  store: RunStore,
  migrations: CheckpointMigrations,
): Promise<CheckpointEnvelope> {
  if (typeof from === 'string' && isPath(from)) {
    let text: string;
    try {
      text = await readFile(from, 'utf8');
    } catch (cause) {
      throw new AgentchartError({
        code: 'CHECKPOINT_NOT_FOUND',
        message: `Cannot read the checkpoint file ${from}`,
        details: { path: from },
        cause,
      });
    }
    return migrate(parseCheckpointJson(text, `file ${from}`), `file ${from}`, migrations);
  }
  if (typeof from === 'string') {
    const envelope = await store.getCheckpoint(from);
    if (envelope === undefined) {
      throw new AgentchartError({
        code: 'CHECKPOINT_NOT_FOUND',
        message: `No checkpoint '${from}' in the store`,
        details: { checkpointId: from },
      });
    }
    // The store validated it already; validate again only what a migration changed.
    return migrate(envelope, `'${from}'`, migrations, envelope);
  }
  if (typeof from === 'object' && from !== null) return migrate(from, 'given as an object', migrations);
  throw new AgentchartError({
    code: 'INVALID_ARGUMENT',
    message: 'resume() takes a checkpoint id, a path to an exported checkpoint, or an envelope object',
  });
}

/**
 * The migrations agentchart itself provides, by the version they upgrade from (a runtime's own
 * `migrations` come first).
 */
export const builtInMigrations: CheckpointMigrations = {
  // Version 2 names the invoked actors; a version-1 snapshot has them under XState's generated ids.
  1: (envelope) => {
    const snapshot = envelope.snapshot as { children?: Record<string, unknown> } | undefined;
    const renamed: Record<string, string> = { '0.agentRun.plan': 'modelTurn', '0.agentRun.act': 'toolCalls' };
    const children = Object.fromEntries(
      Object.entries(snapshot?.children ?? {}).map(([id, child]) => [renamed[id] ?? id, child]),
    );
    return {
      ...envelope,
      machine: { ...(envelope.machine as object), version: 2 },
      snapshot: { ...snapshot, children },
    };
  },
};

function isPath(value: string): boolean {
  return value.includes('/') || value.includes('\\') || value.endsWith('.json');
}

function migrate(
  value: unknown,
  source: string,
  migrations: CheckpointMigrations,
  validated?: CheckpointEnvelope,
): CheckpointEnvelope {
  let envelope = value as Record<string, unknown>;
  const machine = envelope?.machine as { id?: unknown; version?: unknown } | undefined;
  if (machine === undefined || machine === null || typeof machine !== 'object' || machine.id !== 'agentRun') {
    return parseCheckpointEnvelope(value, source);
  }
  if (validated !== undefined && machine.version === agentRunMachineVersion) return validated;
  for (let version = machine.version; version !== agentRunMachineVersion; ) {
    const step =
      typeof version === 'number' ? (migrations[version] ?? builtInMigrations[version]) : undefined;
    if (step === undefined || typeof version !== 'number' || version > agentRunMachineVersion) {
      throw new AgentchartError({
        code: 'CHECKPOINT_VERSION_MISMATCH',
        message: `The checkpoint ${source} was written by version ${messageOf(version)} of the run statechart; this is version ${agentRunMachineVersion}, and no migration from ${messageOf(version)} is registered`,
        details: { source, checkpointVersion: version, machineVersion: agentRunMachineVersion },
      });
    }
    envelope = step(envelope);
    const next = (envelope?.machine as { version?: unknown } | undefined)?.version;
    if (next !== version + 1) {
      throw new AgentchartError({
        code: 'CHECKPOINT_VERSION_MISMATCH',
        message: `The migration from version ${version} returned machine version ${messageOf(next)}, not ${version + 1}`,
        details: { source },
      });
    }
    version = next;
  }
  return parseCheckpointEnvelope(envelope, source);
}
