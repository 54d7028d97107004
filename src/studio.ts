/**
 * `agentchart/studio`: the studio, a web time-travel debugger for runs, to mount in your own Node
 * HTTP service (the CLI's `agentchart studio` serves the same one). The types of its JSON API are
 * exported for clients of their own.
 */
export type {
  CancelBody,
  ForkBody,
  ReplayBody,
  RequestBody,
  StudioCheckpoint,
  StudioConfig,
  StudioErrorBody,
  StudioForkTree,
  StudioMachineGraph,
  StudioMachineState,
  StudioMachineTransition,
  StudioRun,
  StudioRunSummary,
  StudioTimelineEntry,
} from './studio/studio-api.js';
export { type StudioHandler, type StudioOptions, studioHandler } from './studio/studio-handler.js';
