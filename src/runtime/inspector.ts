import { createRequire } from 'node:module';
import type { InspectionEvent, Observer } from 'xstate';
import { AgentchartError } from '../agentchart-error.js';

/** Keys whose values never leave the process for the inspector. */
const secretKey =
  /^(api[-_]?key|x-api-key|secret|client[-_]?secret|password|passwd|authorization|access[-_]?token|refresh[-_]?token|bearer|cookie|session[-_]?token)$/i;
/** Strings that look like credentials (Anthropic keys, bearer tokens). */
const secretValue = /\b(sk-ant-[\w-]{8,}|sk-[A-Za-z0-9]{20,}|Bearer\s+[\w.~+/-]{12,}=*)/g;

/**
 * A JSON copy of `value` without secrets: values under keys such as `apiKey`, `password` or
 * `authorization`, and strings that look like API keys or bearer tokens, become `[redacted]`.
 * Objects are serialized as `JSON.stringify` does (actor refs by their `toJSON`); a cycle becomes
 * `[Circular]`, and anything deeper than `maxDepth` becomes `[Too deep]`.
 */
export function redactSecrets(value: unknown, maxDepth = 64): unknown {
  const ancestors: unknown[] = [];
  const text = JSON.stringify(value, function (this: unknown, key: string, item: unknown) {
    if (key !== '' && secretKey.test(key)) return '[redacted]';
    if (typeof item === 'string') return item.replace(secretValue, '[redacted]');
    if (typeof item === 'bigint') return item.toString();
    if (typeof item !== 'object' || item === null) return item;
    while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
    if (ancestors.includes(item)) return '[Circular]';
    if (ancestors.length >= maxDepth) return '[Too deep]';
    ancestors.push(item);
    return item;
  });
  return text === undefined ? undefined : JSON.parse(text);
}

/** An inspection observer that relays to a WebSocket inspector, and can be stopped. */
export interface WebSocketInspection {
  observer: (event: InspectionEvent) => void;
  stop(): void;
}

/**
 * The Stately WebSocket inspector at `url` (what `createRuntime({ inspect: 'ws://...' })` makes):
 * deep enough for the whole statechart and a run's context. (The runtime redacts the secrets of
 * every inspection event it gives an inspector, this one included.) Needs the optional package `@statelyai/inspect`; `INVALID_ARGUMENT` without it.
 * Events before the module has loaded are held and then sent.
 */
export function webSocketInspection(url: string): WebSocketInspection {
  try {
    createRequire(import.meta.url).resolve('@statelyai/inspect');
  } catch {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `inspect: '${url}' needs the package @statelyai/inspect (npm install @statelyai/inspect)`,
    });
  }
  let held: InspectionEvent[] | undefined = [];
  let inspector: { inspect: Observer<InspectionEvent>; stop(): void } | undefined;
  let stopped = false;
  void import('@statelyai/inspect').then(({ createWebSocketInspector }) => {
    if (stopped) return;
    const created = createWebSocketInspector({
      url,
      // Deep enough for the whole statechart and a run's context (the runtime redacts every event it gives).
      serializationDepthLimit: 64,
    });
    inspector = created;
    for (const event of held ?? []) created.inspect.next?.(event);
    held = undefined;
  });
  return {
    observer: (event) => {
      if (inspector !== undefined) inspector.inspect.next?.(event);
      else held?.push(event);
    },
    stop() {
      stopped = true;
      held = undefined;
      inspector?.stop();
    },
  };
}
