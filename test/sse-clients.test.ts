/**
 * The example service's Server-Sent Events, followed by clients nobody here wrote: the `eventsource`
 * package, and headless Chromium (Debian's `chromium`, driven by `playwright-core`).
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, startPageServer } from './fixtures/sse-harness.js';

const artifacts = join(import.meta.dirname, 'artifacts');
const chromiumPath = '/usr/bin/chromium';

const newStore = () => join(mkdtempSync(join(tmpdir(), 'agentchart-sse-')), 'store');
const input = 'Tell me about Server-Sent Events, at length please';
/** The test page, following run `runId`; with `start`, the page starts the run itself first. */
const pagePath = (runId: string, options: { service?: string; start?: boolean } = {}) =>
  `/page.html?run=${runId}${options.start ? `&input=${encodeURIComponent(input)}` : ''}${options.service === undefined ? '' : `&service=${encodeURIComponent(options.service)}`}`;

async function startRun(
  harness: Harness,
  runId: string,
  input = 'Tell me about Server-Sent Events, at length please',
) {
  const response = await fetch(`${harness.url}/runs`, {
    method: 'POST',
    body: JSON.stringify({ input, runId }),
  });
  expect(response.status).toBe(201);
}

describe('the eventsource package', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ port: 0, storePath: newStore(), tokenDelayMs: 5 });
  });
  afterAll(() => harness.close());

  /** Follows a run until the source closes for good (it does not reconnect), collecting what it saw. */
  const follow = (url: string) =>
    new Promise<{
      events: { type: string; seq: number; data: Record<string, unknown> }[];
      errors: number;
      status: number | undefined;
    }>((resolve) => {
      const events: { type: string; seq: number; data: Record<string, unknown> }[] = [];
      let errors = 0;
      const source = new EventSource(url);
      for (const type of ['run-start', 'text-delta', 'run-end', 'run-error']) {
        source.addEventListener(type, (message) =>
          events.push({ type, seq: Number(message.lastEventId), data: JSON.parse(message.data) }),
        );
      }
      source.onerror = (error) => {
        errors++;
        if (source.readyState === EventSource.CLOSED)
          resolve({ events, errors, status: (error as { code?: number }).code });
      };
    });

  it('stops at once on an unknown run (404), instead of reconnecting forever', async () => {
    const seen = await follow(`${harness.url}/runs/nope/events`);
    expect(seen).toMatchObject({ events: [], errors: 1, status: 404 });
  });

  it('follows a run to its end, then stops for good when the service answers 204', async () => {
    await startRun(harness, 'followed');
    const seen = await follow(`${harness.url}/runs/followed/events`);
    const end = seen.events.find((event) => event.type === 'run-end');
    const text = seen.events
      .filter((event) => event.type === 'text-delta')
      .map((event) => event.data.text)
      .join('');
    expect(text).toBe((end?.data.result as { output: string } | undefined)?.output);
    // After the end the stream closed; the reconnect got 204, which closed the source: one error, one close.
    expect(seen.status).toBe(204);
    expect(seen.events.filter((event) => event.type === 'run-start')).toHaveLength(1);
  });
});

const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`${chromiumPath} is missing: .ci/run installs Debian's chromium`);
  console.warn(`skipping the browser tests: ${chromiumPath} is missing (apt-get install -y chromium)`);
}

describe.skipIf(!haveChromium)('a web page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(() => browser?.close());

  /** What the page holds (see fixtures/sse-page.html). */
  interface PageState {
    seqs: number[];
    texts: Record<string, string>;
    opens: number;
    runStarts: number;
    retries: number;
    output: string | null;
    ended: boolean;
    closed: boolean;
    runErrors: unknown[];
    startStatus: number | null;
  }
  const stateOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { state: PageState }).state);
  const waitFor = (page: Page, condition: string) =>
    page.waitForFunction(condition, undefined, { timeout: 30_000 });

  /** The page assembled exactly the run's output, saw each seq once in order, and stopped after the end. */
  async function expectWhole(page: Page) {
    await waitFor(page, 'window.state.closed');
    const state = await stateOf(page);
    expect(state.ended).toBe(true);
    expect(Object.values(state.texts).join('')).toBe(state.output);
    expect(state.seqs).toEqual([...state.seqs].sort((a, b) => a - b));
    expect(new Set(state.seqs).size).toBe(state.seqs.length);
    return state;
  }

  it('follows a run from a page of the same origin, to its end, and stops', async () => {
    const harness = await startHarness({ port: 0, storePath: newStore(), tokenDelayMs: 5 });
    try {
      const page = await browser.newPage();
      await page.goto(`${harness.url}${pagePath('same-origin', { start: true })}`);
      const state = await expectWhole(page);
      expect(state.opens).toBe(1);
      await page.screenshot({ path: join(artifacts, 'sse-same-origin.png') });
      await page.close();
    } finally {
      await harness.close();
    }
  });

  it('follows a run from a page of another origin, allowed by CORS; an origin not allowed is refused', async () => {
    const pages = await startPageServer();
    const harness = await startHarness({
      port: 0,
      storePath: newStore(),
      tokenDelayMs: 5,
      corsOrigins: [pages.url],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${pages.url}${pagePath('cross-origin', { service: harness.url, start: true })}`);
      // The page's JSON POST went through a CORS preflight.
      expect((await expectWhole(page)).startStatus).toBe(201);
      await page.screenshot({ path: join(artifacts, 'sse-cross-origin.png') });
      await page.close();
      // The same page from another origin (the page server by its IP address, which the service does
      // not allow): the browser refuses the events, and the EventSource gives up.
      const refused = await browser.newPage();
      const disallowed = pages.url.replace('localhost', '127.0.0.1');
      await refused.goto(
        `${disallowed}/page.html?run=cross-origin&service=${encodeURIComponent(harness.url)}`,
      );
      await waitFor(refused, 'window.state.closed');
      expect((await stateOf(refused)).seqs).toEqual([]);
      await refused.close();
    } finally {
      await harness.close();
      await pages.close();
    }
  });

  it('reconnects after the connection is cut, with Last-Event-ID, and misses nothing', async () => {
    const harness = await startHarness({ port: 0, storePath: newStore(), tokenDelayMs: 30 });
    try {
      const page = await browser.newPage();
      await page.goto(`${harness.url}${pagePath('cut', { start: true })}`);
      await waitFor(page, 'Object.values(window.state.texts).join("").length > 40');
      harness.cutConnections();
      const state = await expectWhole(page);
      expect(state.opens).toBe(2);
      await page.screenshot({ path: join(artifacts, 'sse-cut.png') });
      await page.close();
    } finally {
      await harness.close();
    }
  });

  it('carries on across a restart of the service, on the same address, and assembles exactly the output', async () => {
    const storePath = newStore();
    let harness = await startHarness({ port: 0, storePath, tokenDelayMs: 30 });
    const port = Number(new URL(harness.url).port);
    try {
      const page = await browser.newPage();
      await page.goto(`${harness.url}${pagePath('restarted', { start: true })}`);
      await waitFor(page, 'Object.values(window.state.texts).join("").length > 40');
      await harness.close();
      harness = await startHarness({ port, storePath, tokenDelayMs: 30 });
      const state = await expectWhole(page);
      // The new process announced the run again, and the turn that was cut off starts over.
      expect(state.runStarts).toBe(2);
      expect(state.retries).toBe(1);
      expect(state.opens).toBeGreaterThanOrEqual(2);
      await page.screenshot({ path: join(artifacts, 'sse-restart.png') });
      await page.close();
    } finally {
      await harness.close();
    }
  });
});
