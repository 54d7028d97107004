/**
 * Quick start: an agent with one tool, streaming its tokens and tool calls.
 *
 *   npm run example
 *
 * With ANTHROPIC_API_KEY set it talks to Claude; without it a scripted model plays a short
 * conversation, so the example runs anywhere with no key and no server.
 */

import { createRuntime, defineTool, type ModelClient } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const forecasts: Record<string, { sky: string; celsius: number }> = {
  paris: { sky: 'light rain', celsius: 11 },
  lisbon: { sky: 'sunny', celsius: 19 },
  oslo: { sky: 'snow', celsius: -3 },
};

const getWeather = defineTool({
  name: 'get_weather',
  description: 'The current weather in a city',
  input: z.object({ city: z.string().describe('City name, for example "Paris"') }),
  execute: async ({ city }) => forecasts[city.toLowerCase()] ?? { error: `No forecast for ${city}` },
});

async function chooseModel(): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('agentchart/anthropic');
    return anthropicModel({ maxTokens: 1024 });
  }
  console.log('(ANTHROPIC_API_KEY is not set: a scripted model stands in for Claude)\n');
  return scriptedModel([
    {
      text: "I'll check the weather in both cities.",
      toolCalls: [
        { name: 'get_weather', input: { city: 'Paris' } },
        { name: 'get_weather', input: { city: 'Lisbon' } },
      ],
      usage: { inputTokens: 412, outputTokens: 96 },
      tokenDelayMs: 15,
    },
    {
      text: 'Lisbon is the better pick today: sunny and 19 °C, while Paris has light rain at 11 °C.',
      usage: { inputTokens: 575, outputTokens: 31 },
      tokenDelayMs: 15,
    },
  ]);
}

const runtime = createRuntime({
  model: await chooseModel(),
  tools: [getWeather],
  systemPrompt: 'You are a concise travel assistant. Use tools for facts.',
  limits: { maxTurns: 6 },
});

const run = runtime.start({ input: 'Paris or Lisbon for a walk today? Check the weather in both.' });

for await (const event of run) {
  switch (event.type) {
    case 'text-delta':
      process.stdout.write(event.text);
      break;
    case 'tool-call':
      console.log(`\n  -> ${event.toolName}(${JSON.stringify(event.input)})`);
      break;
    case 'tool-result':
      console.log(`  <- ${JSON.stringify(event.output)} (${event.durationMs.toFixed(1)} ms)`);
      break;
    case 'tool-error':
      console.log(`  !! ${event.code}: ${event.message}`);
      break;
    case 'retry':
      console.log(`\n  (attempt failed: ${event.message}; retrying in ${event.delayMs} ms)`);
      break;
  }
}

const result = await run.result;
console.log(
  `\n\nstatus: ${result.status}, turns: ${result.usage.turns}, tokens in/out: ${result.usage.inputTokens}/${result.usage.outputTokens}`,
);
if (result.error) console.log(`error: ${result.error.errorClass}: ${result.error.message}`);
await runtime.close();
process.exitCode = result.success ? 0 : 1;
