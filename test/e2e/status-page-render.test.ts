/**
 * The status page (GET /, issue 11) in a real browser, Debian's chromium driven by
 * playwright-core, against a test server whose API answers 1,000 groups: rendering, filter,
 * paging, keyboard, contrast, CSP, and the serving replica gone. No Kafka, no replicas
 * (status-page.test.ts runs the page against those). Screenshots go to docs/status-page/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { contrastFailures, screenshot, useBrowser } from '../harness/browser';
import { type FakeStatusServer, fakeApi, startFakeStatusServer } from '../harness/status-page-fake';
import { waitFor } from '../harness/wait';

const { newPage } = useBrowser();

/** The focused element, described: tag, id, or the group of a groups row. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(`(function () { var e = document.activeElement; return e.tagName + (e.id ? '#' + e.id : '') + (e.dataset && e.dataset.group ? '[' + e.dataset.group + ']' : ''); })()`) as Promise<string>;

describe('the status page with 1,000 groups (test server, no Kafka)', () => {
  let server: FakeStatusServer;
  let page: Page;
  let problems: string[];

  before(async () => {
    const api = fakeApi(1000, 12);
    api.alerts = [
      {
        key: 'bench/ConsumerDeliveryLag/group-0000/topic-0',
        alert: 'ConsumerDeliveryLag',
        status: 'firing',
        severity: 'critical',
        cluster: 'bench',
        group: 'group-0000',
        topic: 'topic-0',
        cause: 'consumer',
        summary: 'group-0000 is 60 s behind on topic-0 (threshold 10 s); brokers healthy',
        startsAt: new Date().toISOString(),
        endsAt: null,
      },
    ];
    api.events = [{ id: '1-0', type: 'alert-firing', timeMs: Date.now(), nodeId: 'vigil-1', term: 3, data: { key: 'k', alert: 'ConsumerDeliveryLag', severity: 'critical', summary: 'group-0000 is 60 s behind on topic-0' } }];
    server = await startFakeStatusServer(api);
    ({ page, problems } = await newPage());
    await page.goto(`${server.url}/`);
  });

  after(async () => {
    await page?.close();
    await server?.close();
  });

  it('renders worst first, 50 rows a page, breach shown in words and not by colour alone', async () => {
    await page.locator('#groups-count').getByText('of 1000;').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#groups-body tr').count(), 50);
    const first = page.locator('#groups-body tr').first();
    assert.equal(await first.getAttribute('data-group'), 'group-0000');
    assert.equal(await first.getAttribute('class'), 'breach');
    assert.match(await first.innerText(), /▲ breach/);
    assert.match(await first.innerText(), /consumer/, 'the cause comes from the open alert');
    // the sparkline starts with the minutes the leader kept (GET /api/v1/lag/history)
    const points = await first.locator('polyline').first().getAttribute('points');
    assert.ok((points ?? '').split(' ').length >= 60, `sparkline points: ${points}`);
    assert.match(await page.locator('#groups-body tr').nth(20).innerText(), /\bok\b/);
    assert.match(await page.locator('#groups-count').innerText(), /12 of 1000 in breach/);
    assert.match(await page.locator('#alerts-body').innerText(), /group-0000 is 60 s behind/);
    assert.match(await page.locator('#pages-body').innerText(), /firing/);
    assert.match(await page.locator('#kafka').innerText(), /Under-replicated\s+0/);
    assert.equal(await page.locator('#kafka-note').innerText(), 'As the leader sees it.');
    await screenshot(page, 'groups-1000');
  });

  it('the filter box narrows the list, paging walks it', async () => {
    await page.locator('#next').click();
    await page.locator('#page-info').getByText('Page 2 of 20').waitFor();
    assert.equal(await page.locator('#groups-body tr').first().getAttribute('data-group'), 'group-0050');
    await page.locator('#filter').fill('group-0999');
    await waitFor(async () => (await page.locator('#groups-body tr').count()) === 1, { timeoutMs: 5000, what: 'one row after filtering' });
    assert.equal(await page.locator('#groups-body tr').first().getAttribute('data-group'), 'group-0999');
    assert.match(await page.locator('#page-info').innerText(), /Page 1 of 1/);
    await page.locator('#filter').fill('');
    await page.locator('#page-info').getByText('Page 1 of 20').waitFor();
  });

  it('keyboard: "/" to the filter, Tab to the rows, arrows between rows, focus visible', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('/');
    assert.equal(await focused(page), 'INPUT#filter');
    let seen = '';
    for (let i = 0; i < 6 && !seen.startsWith('TR['); i++) {
      await page.keyboard.press('Tab');
      seen = await focused(page);
    }
    assert.equal(seen, 'TR[group-0000]', 'Tab from the filter passes the paging buttons and reaches the first row');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(page), 'TR[group-0002]');
    const outline = (await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`)) as string;
    assert.match(outline, /^solid [1-9]/, `focused row outline: ${outline}`);
    // the poll re-renders the rows every second: focus stays on the same group
    await waitFor(async () => (await page.locator('#conn').innerText()) !== '', { timeoutMs: 3000, what: 'a poll' });
    await page.waitForFunction(`document.activeElement && document.activeElement.dataset.group === 'group-0002'`, undefined, { timeout: 3000 });
    await page.keyboard.press('End');
    assert.equal(await focused(page), 'TR[group-0049]');
    await screenshot(page, 'keyboard-focus');
  });

  it('text contrast is at least 4.5:1 everywhere, with no CSP violation or script error', async () => {
    const { checked, failures } = await contrastFailures(page);
    assert.ok(checked > 100, `checked ${checked} text elements`);
    assert.deepEqual(failures, []);
    assert.deepEqual(problems, []);
  });

  it('when the serving replica stops answering, the page says so and links the others', async () => {
    await server.close();
    const banner = page.locator('#down');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await banner.innerText(), /vigil-1 is not answering/);
    assert.deepEqual(await page.locator('#down-links a').evaluateAll((as: any[]) => as.map((a) => `${a.textContent} ${a.getAttribute('href')}`)), [
      'vigil-2 http://127.0.0.1:2/',
      'vigil-3 http://127.0.0.1:3/',
    ]);
    const { failures } = await contrastFailures(page);
    assert.deepEqual(failures, []);
    await screenshot(page, 'replica-down');
  });
});
