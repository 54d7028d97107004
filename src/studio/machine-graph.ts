import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { StudioMachineGraph, StudioMachineTransition } from './studio-api.js';

interface TransitionLike {
  target?: readonly AnyStateNode[] | undefined;
  guard?: unknown;
}

/**
 * The graph of a statechart, walked from its own definition (`machine.root`): its top-level states
 * and every transition between them, the machine's own (`source: null`) included. Nothing about
 * the run machine is restated here, so the drawing follows the machine when it changes.
 */
export function machineGraph(machine: AnyStateMachine, version: number): StudioMachineGraph {
  const { root } = machine;
  const initial = new Set(root.initial.target.map((node) => node.key));
  const transitions: StudioMachineTransition[] = [];
  const add = (source: string | null, event: string, candidates: readonly TransitionLike[]) => {
    for (const transition of candidates) {
      for (const target of transition.target ?? []) {
        transitions.push({
          source,
          target: target.key,
          event: eventName(event),
          guard: guardName(transition.guard),
        });
      }
    }
  };
  for (const [event, candidates] of root.transitions) add(null, event, candidates);
  const states = Object.values(root.states).map((node: AnyStateNode) => {
    const internalEvents: string[] = [];
    for (const [event, candidates] of node.transitions) {
      add(node.key, event, candidates);
      if (candidates.some((transition: TransitionLike) => (transition.target ?? []).length === 0))
        internalEvents.push(eventName(event));
    }
    add(node.key, '', node.always ?? []);
    return { key: node.key, type: node.type, initial: initial.has(node.key), internalEvents };
  });
  return { id: machine.id, version, states, transitions };
}

/** `xstate.done.actor.modelTurn` reads `done: modelTurn`; an eventless transition reads `always`. */
function eventName(event: string): string {
  if (event === '') return 'always';
  const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event);
  return actorEvent === null ? event : `${actorEvent[1]}: ${actorEvent[2]}`;
}

function guardName(guard: unknown): string | null {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string')
    return (guard as { type: string }).type;
  return guard === undefined ? null : 'guard';
}
