import { type CheckpointStore, createRuntime, defineTool, type Runtime } from 'agentchart';
import { bullmqCluster } from 'agentchart/cluster';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

/**
 * The workloads of bench/cluster, chosen by the run's input so that the API process, the workers
 * and the in-process baseline all share one model and one tool:
 * - `dispatch`: one turn that answers at once (no model latency);
 * - `io`: 5 turns, the model taking 50 ms per turn and each of the first 4 calling a tool that takes 20 ms;
 * - `long`: the same, over 40 turns (about 3 s): runs that are still going when their worker is killed.
 */
export type ClusterWorkload = 'dispatch' | 'io' | 'long';

const turnsOf: Record<ClusterWorkload, number> = { dispatch: 1, io: 5, long: 40 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The tool: waits `ms`, as a call to another service would. */
export const waitTool = defineTool({
  name: 'wait',
  description: 'Waits, as a call to another service would',
  input: z.object({ ms: z.number() }),
  execute: async ({ ms }) => {
    await sleep(ms);
    return { waited: ms };
  },
});

/** The model of every workload: the run's input names the workload. */
export function clusterWorkloadModel() {
  return scriptedModel((request) => {
    const first = request.messages[0]?.content.find((block) => block.type === 'text');
    const workload = (first?.type === 'text' ? first.text : 'dispatch') as ClusterWorkload;
    const turns = turnsOf[workload] ?? 1;
    const turn = request.messages.filter((message) => message.role === 'assistant').length;
    // The model's latency: the turn streams nothing until this opens.
    const latency = workload === 'dispatch' ? {} : { gate: sleep(50) };
    if (turn >= turns - 1) return { text: `done after ${turns} turns`, ...latency };
    return { text: `turn ${turn}`, toolCalls: [{ name: 'wait', input: { ms: 20 } }], ...latency };
  });
}

/** The expected number of turns of a workload's run. */
export function turnsOfWorkload(workload: ClusterWorkload): number {
  return turnsOf[workload];
}

/** What a runtime of the bench is built from. */
export interface ClusterBenchSettings {
  redisUrl: string;
  queue: string;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** A runtime of the bench: on the cluster of `settings`, or in-process without one. */
export function benchRuntime(store: CheckpointStore, settings?: ClusterBenchSettings): Runtime {
  return createRuntime({
    model: clusterWorkloadModel(),
    tools: [waitTool],
    store,
    limits: { maxTurns: 60 },
    ...(settings === undefined
      ? {}
      : {
          cluster: bullmqCluster({
            connection: settings.redisUrl,
            queue: settings.queue,
            ...(settings.lockDurationMs === undefined ? {} : { lockDurationMs: settings.lockDurationMs }),
            ...(settings.stalledIntervalMs === undefined
              ? {}
              : { stalledIntervalMs: settings.stalledIntervalMs }),
          }),
        }),
  });
}
