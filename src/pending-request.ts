/** A request a run waits on in `waiting_input`: a question for the user, or a tool call to approve. */
export interface PendingRequest {
  requestId: string;
  kind: 'input' | 'approval';
  toolCallId: string;
  toolName: string;
  /** The question (`input`), or a description of the call to approve (`approval`). */
  prompt: string;
  /** The tool call's input. */
  input: unknown;
}

/** An answer to a pending request. */
export type RequestAnswer =
  | { kind: 'input'; value: unknown }
  | { kind: 'approval'; approved: true }
  | { kind: 'approval'; approved: false; reason: string };
