import type { AgentRunContext } from '../../machines/agent-run-types.js';

type Snapshot = Record<string, unknown> & {
  children?: Record<string, { src?: unknown; snapshot?: unknown }>;
};

/**
 * The XState snapshot as a checkpoint keeps it: without its context (the envelope holds that) and
 * without the conversation in the `modelTurn` child's input (it is always the context's messages).
 * Without this, every checkpoint would hold the conversation twice more.
 */
export function compactSnapshot(persisted: Snapshot): Snapshot {
  const { context: _, children = {}, ...rest } = persisted;
  return {
    ...rest,
    children: mapInputs(children, (input, src) => {
      if (src !== 'modelTurn') return input;
      const { messages: __, ...withoutMessages } = input;
      return withoutMessages;
    }),
  };
}

/**
 * The snapshot XState restores: the compact one with the context and the model's input put back,
 * and the run id (which a run resumed under a new id changes) in its children's input.
 */
export function expandSnapshot(snapshot: Snapshot, context: AgentRunContext): Snapshot {
  const children = mapInputs(snapshot.children ?? {}, (input, src) => ({
    ...input,
    runId: context.runId,
    ...(src === 'modelTurn' ? { messages: context.messages } : {}),
  }));
  return { ...snapshot, context, children };
}

function mapInputs(
  children: NonNullable<Snapshot['children']>,
  map: (input: Record<string, unknown>, src: unknown) => Record<string, unknown>,
): NonNullable<Snapshot['children']> {
  const mapped: NonNullable<Snapshot['children']> = {};
  for (const [id, child] of Object.entries(children)) {
    const inner = child.snapshot as { input?: Record<string, unknown> } | undefined;
    mapped[id] =
      inner?.input === undefined
        ? child
        : { ...child, snapshot: { ...inner, input: map(inner.input, child.src) } };
  }
  return mapped;
}
