import { useState } from 'preact/hooks';
import type { Message } from '../../index.js';
import type { ForkBody, StudioCheckpoint } from '../studio-api.js';
import type { ApiError } from './api-client.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';
import { navigate } from './route.js';

/** The text of the last user message with text: what `input` replaces. */
function lastInput(messages: readonly Message[]): string {
  const message = messages.findLast(
    (candidate) => candidate.role === 'user' && candidate.content.some((block) => block.type === 'text'),
  );
  return message?.content.map((block) => (block.type === 'text' ? block.text : '')).join('') ?? '';
}

const optionalNumber = (text: string) => (text.trim() === '' ? undefined : Number(text));

/**
 * Forks the run from the selected checkpoint with an edited system prompt, input, model or limits,
 * then opens the fork to watch it run. Only what was changed is sent.
 */
export function ForkForm({ at, models }: { at: StudioCheckpoint; models: readonly string[] }) {
  const originalPrompt = at.settings.systemPrompt ?? '';
  const originalInput = lastInput(at.messages);
  const [systemPrompt, setSystemPrompt] = useState(originalPrompt);
  const [input, setInput] = useState(originalInput);
  const [modelId, setModelId] = useState('');
  const [maxTurns, setMaxTurns] = useState('');
  const [maxTotalTokens, setMaxTotalTokens] = useState('');
  const [maxCostUsd, setMaxCostUsd] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const limits = {
      ...(optionalNumber(maxTurns) === undefined ? {} : { maxTurns: optionalNumber(maxTurns) }),
      ...(optionalNumber(maxTotalTokens) === undefined
        ? {}
        : { maxTotalTokens: optionalNumber(maxTotalTokens) }),
      ...(optionalNumber(maxCostUsd) === undefined ? {} : { maxCostUsd: optionalNumber(maxCostUsd) }),
    } as NonNullable<ForkBody['limits']>;
    const body: ForkBody = {
      ...(systemPrompt === originalPrompt ? {} : { systemPrompt }),
      ...(input === originalInput || input.trim() === '' ? {} : { input }),
      ...(modelId === '' ? {} : { modelId }),
      ...(Object.keys(limits).length === 0 ? {} : { limits }),
      description: `forked in the studio from ${at.checkpoint.id}`,
    };
    setBusy(true);
    setError(undefined);
    try {
      const { runId } = await api.fork(at.checkpoint.id, body);
      navigate({ view: 'runs', runId });
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const id = 'fork';
  return (
    <details class="fork-form">
      <summary>Fork from checkpoint #{at.checkpoint.stepNum}</summary>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label for={`${id}-system-prompt`}>System prompt</label>
        <textarea
          id={`${id}-system-prompt`}
          rows={3}
          value={systemPrompt}
          onInput={(event) => setSystemPrompt(event.currentTarget.value)}
        />
        <label for={`${id}-input`}>Input (replaces the last user message)</label>
        <textarea
          id={`${id}-input`}
          rows={2}
          value={input}
          onInput={(event) => setInput(event.currentTarget.value)}
        />
        <label for={`${id}-model`}>Model</label>
        <select
          id={`${id}-model`}
          value={modelId}
          onChange={(event) => setModelId(event.currentTarget.value)}
        >
          <option value="">the run's ({at.settings.modelId ?? 'default'})</option>
          {models.map((model) => (
            <option value={model} key={model}>
              {model}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Limits (empty: the checkpoint's)</legend>
          <label for={`${id}-max-turns`}>Max turns ({at.limits.maxTurns})</label>
          <input
            id={`${id}-max-turns`}
            type="number"
            min={1}
            step={1}
            value={maxTurns}
            onInput={(event) => setMaxTurns(event.currentTarget.value)}
          />
          <label for={`${id}-max-tokens`}>Max total tokens ({at.limits.maxTotalTokens ?? 'none'})</label>
          <input
            id={`${id}-max-tokens`}
            type="number"
            min={1}
            step={1}
            value={maxTotalTokens}
            onInput={(event) => setMaxTotalTokens(event.currentTarget.value)}
          />
          <label for={`${id}-max-cost`}>Max cost, USD ({at.limits.maxCostUsd ?? 'none'})</label>
          <input
            id={`${id}-max-cost`}
            type="number"
            min={0}
            step="any"
            value={maxCostUsd}
            onInput={(event) => setMaxCostUsd(event.currentTarget.value)}
          />
        </fieldset>
        <button type="submit" disabled={busy}>
          Fork and run
        </button>
        <ErrorNotice error={error} />
      </form>
    </details>
  );
}
