import type { AgentRunContext } from '../machines/agent-run-types.js';

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
  return { ...rest, children: mapModelTurnInput(children, ({ messages: __, ...input }) => input) };
}

/** The snapshot XState restores: the compact one with the context and the model's input put back. */
export function expandSnapshot(snapshot: Snapshot, context: AgentRunContext): Snapshot {
  const children = mapModelTurnInput(snapshot.children ?? {}, (input) => ({
    ...input,
    messages: context.messages,
  }));
  return { ...snapshot, context, children };
}

function mapModelTurnInput(
  children: NonNullable<Snapshot['children']>,
  map: (input: Record<string, unknown>) => Record<string, unknown>,
): NonNullable<Snapshot['children']> {
  const mapped: NonNullable<Snapshot['children']> = {};
  for (const [id, child] of Object.entries(children)) {
    const inner = child.snapshot as { input?: Record<string, unknown> } | undefined;
    mapped[id] =
      child.src === 'modelTurn' && inner?.input !== undefined
        ? { ...child, snapshot: { ...inner, input: map(inner.input) } }
        : child;
  }
  return mapped;
}
