import type { RunEventBody } from '../streaming/run-event.js';

/** Where actor logic sends the events of its run (tokens, tool calls) without going through the statechart. */
export type RunEventSink = (event: RunEventBody) => void;
