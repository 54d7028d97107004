/**
 * The studio end to end, in headless Chromium (Debian's `chromium`, driven by `playwright-core`),
 * against a LevelDB store with runs the test makes with the scripted model. Every wait is for
 * something the page shows; the live run streams when the test opens its gates.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gates, type StudioFixture, startStudioFixture, stored } from './fixtures/studio-fixture.js';

const artifacts = join(import.meta.dirname, 'artifacts');
const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`${chromiumPath} is missing: .ci/run installs Debian's chromium`);
  console.warn(
    `skipping the studio's browser tests: ${chromiumPath} is missing (apt-get install -y chromium)`,
  );
}

const wait = { timeout: 15_000 };

describe.skipIf(!haveChromium)('the studio in headless Chromium', { timeout: 60_000 }, () => {
  let fixture: StudioFixture;
  let browser: Browser;
  let page: Page;
  let forkId = '';
  const base = () => `${fixture.url}/studio/`;
  const open = (hash: string) => page.goto(`${base()}${hash}`);
  /** Waits until the open run's status badge says `status`. */
  const runStatus = (status: string) =>
    page.locator('#run-heading .badge', { hasText: status.replace('_', ' ') }).waitFor(wait);
  const shot = (name: string) =>
    page.screenshot({ path: join(artifacts, `studio-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    fixture = await startStudioFixture({ basePath: '/studio' });
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
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  });
  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
  });

  it('lists the runs, filters them by status, and opens one with the keyboard (j/k)', async () => {
    await open('');
    const runs = page.getByRole('listbox', { name: 'Runs' }).getByRole('option');
    await runs.nth(2).waitFor(wait);
    expect((await runs.allInnerTexts()).map((text) => text.split('\n')[0])).toEqual([
      'ask',
      'email',
      'research',
    ]);
    await page.getByLabel('Status').selectOption('waiting_input');
    await page.waitForFunction(
      'document.querySelectorAll(\'[aria-label="Runs"] [role="option"]\').length === 2',
      undefined,
      wait,
    );
    await page.getByLabel('Status').selectOption('');
    await runs.nth(2).waitFor(wait);
    await runs.filter({ hasText: /^ask/ }).click();
    await page.waitForURL(/#\/runs\/ask$/, wait);
    await page.keyboard.press('j');
    await page.waitForURL(/#\/runs\/email$/, wait);
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/#\/runs\/research$/, wait);
    await page.keyboard.press('k');
    await page.waitForURL(/#\/runs\/email$/, wait);
    await page.keyboard.press('j');
    await page.waitForURL(/#\/runs\/research$/, wait);
    await runStatus('done');
    expect(await runs.filter({ hasText: /^research/ }).getAttribute('aria-selected')).toBe('true');
    await shot('runs-list');
  });

  it('selects a checkpoint and sees the conversation and the state as they were then; the URL links to it', async () => {
    const checkpoints = page.getByRole('listbox', { name: 'Checkpoints' }).getByRole('option');
    await checkpoints.nth(1).click();
    await page.waitForURL(/#\/runs\/research\/checkpoints\/research(%40|@)1$/, wait);
    await page.getByTestId('selected-checkpoint').filter({ hasText: 'research@1' }).waitFor(wait);
    await page.getByTestId('current-state').filter({ hasText: 'act' }).waitFor(wait);
    const conversation = page.locator('.conversation');
    await conversation.getByText('Conversation (2 messages)').waitFor(wait);
    expect(await conversation.textContent()).toContain('call lookup');
    expect(await conversation.textContent()).not.toContain('The capital is Paris.');
    expect(await page.locator('svg .state.current').getAttribute('data-state')).toBe('act');
    // The next checkpoint, by keyboard: the tool's long output is there, folded.
    await checkpoints.nth(1).focus();
    await page.keyboard.press('j');
    await page.waitForURL(/checkpoints\/research(%40|@)2$/, wait);
    await conversation.getByText('Conversation (3 messages)').waitFor(wait);
    const folded = conversation.locator('details.folded');
    expect(await folded.locator('summary').textContent()).toMatch(/^Output \(\d[\d,]* characters\)$/);
    expect(await folded.getAttribute('open')).toBeNull();
    await shot('run-at-checkpoint');
    // A link to the last checkpoint, opened in a page of its own, shows the run as it ended.
    const linked = await browser.newPage();
    await linked.goto(`${base()}#/runs/research/checkpoints/research%403`);
    await linked.getByTestId('current-state').filter({ hasText: 'done' }).waitFor(wait);
    expect(await linked.locator('.conversation').textContent()).toContain('The capital is Paris.');
    await linked.close();
  });

  it('forks from a checkpoint with a new system prompt, watches the fork run, and sees it in the tree', async () => {
    await open('#/runs/research/checkpoints/research%401');
    await page.getByText('Fork from checkpoint #1').click();
    await page.getByLabel('System prompt').fill('Answer in French.');
    await page.getByRole('button', { name: 'Fork and run' }).click();
    await page.waitForURL(/#\/runs\/run_[\w-]+$/, wait);
    forkId = decodeURIComponent(page.url().split('/').at(-1) ?? '');
    await runStatus('done');
    await page.locator('.live-text', { hasText: 'La capitale est Paris.' }).waitFor(wait);
    const tree = page.getByTestId('fork-tree');
    await tree.getByRole('link', { name: forkId }).waitFor(wait);
    expect(await tree.getByRole('link', { name: 'research' }).count()).toBe(1);
    expect(await tree.getByRole('link', { name: forkId }).getAttribute('aria-current')).toBe('page');
    expect(await page.locator('.run-header').textContent()).toContain('fork of research@1');
  });

  it('compares the fork with the run it came from', async () => {
    await page.getByLabel('Compare with').selectOption('research');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.waitForURL(new RegExp(`#/compare/${forkId}/research$`), wait);
    await page.getByTestId('common-ancestor').filter({ hasText: 'research@1' }).waitFor(wait);
    expect(await page.getByTestId('divergence').textContent()).toMatch(/^at message #\d+, in turn 2$/);
    const diff = page.getByTestId('answer-diff');
    expect(await diff.locator('.diff-removed').allInnerTexts()).toEqual([
      '− La capitale est Paris.',
      '− Bonne journée.',
    ]);
    expect(await diff.locator('.diff-added').allInnerTexts()).toEqual([
      '+ The capital is Paris.',
      '+ Have a nice day.',
    ]);
    const outputTokens = page.getByRole('row', { name: /^Output tokens/ });
    expect(await outputTokens.locator('th, td').allTextContents()).toEqual([
      'Output tokens',
      '280',
      '200',
      '-80',
    ]);
    await shot('compare');
  });

  it('approves a waiting run and sees it finish', async () => {
    await open('#/runs/email');
    await runStatus('waiting_input');
    const requests = page.getByRole('region', { name: /Waiting on/ });
    expect(await requests.textContent()).toContain('send_email');
    await page.getByRole('button', { name: 'Approve' }).click();
    await runStatus('done');
    await page.locator('.live-text', { hasText: 'The email is sent.' }).waitFor(wait);
    expect(await page.getByRole('region', { name: /Waiting on/ }).count()).toBe(0);
  });

  it('shows an answer that fails its schema with its code, then takes a valid one', async () => {
    await open('#/runs/ask');
    await runStatus('waiting_input');
    await page.getByLabel('Answer (JSON, or text)').fill('x');
    await page.getByRole('button', { name: 'Answer', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.locator('.error-code').textContent()).toBe('INPUT_INVALID');
    await page.getByLabel('Answer (JSON, or text)').fill('{"city": "Lisbon"}');
    await page.getByRole('button', { name: 'Answer', exact: true }).click();
    await runStatus('done');
  });

  it('watches a live run stream as the model writes, and catches up after a reload', async () => {
    await stored(fixture.runtime.start({ input: 'live: tell me more', runId: 'live' }));
    await open('#/runs/live');
    await runStatus('active');
    const live = page.getByTestId('live-text');
    await page.locator('#live-heading .badge', { hasText: 'following' }).waitFor(wait);
    expect(await live.textContent()).toBe('No text yet.');
    gates.liveFirst.open();
    await live.getByText('First part of the live answer.').waitFor(wait);
    // The second turn waits on its gate: the run is still going.
    expect((await fixture.runtime.status('live')).status).toBe('active');
    await page.reload();
    await live.getByText('First part of the live answer.').waitFor(wait);
    gates.liveSecond.open();
    await live.getByText('Second part, streamed live.').waitFor(wait);
    await runStatus('done');
    await page.locator('#live-heading .badge', { hasText: 'ended' }).waitFor(wait);
    expect(await live.locator('p').allInnerTexts()).toEqual([
      'turn 1: First part of the live answer.',
      'turn 2: Second part, streamed live.',
    ]);
    await shot('live');
  });

  it('pauses, resumes and cancels a run', async () => {
    const stuck = fixture.runtime.start({ input: 'stuck forever', runId: 'stuck' });
    await stored(stuck);
    await open('#/runs/stuck');
    await runStatus('active');
    await page.getByRole('button', { name: 'Pause' }).click();
    await runStatus('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await runStatus('active');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await runStatus('cancelled');
    expect((await stuck.result).status).toBe('cancelled');
  });

  it('replays a run without the model and shows that it reached the same states', async () => {
    await open('#/runs/research');
    await runStatus('done');
    await page.getByRole('button', { name: 'Replay without the model' }).click();
    const report = page.getByTestId('replay-report');
    await report.waitFor(wait);
    expect((await report.locator('dd').allTextContents()).slice(0, 2)).toEqual(['yes', 'yes']);
    expect(await report.locator('dt').first().textContent()).toBe('Same states');
  });

  it('refuses a run that does not exist with its code', async () => {
    await open('#/runs/no-such-run');
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.locator('.error-code').textContent()).toBe('RUN_NOT_FOUND');
  });
});
