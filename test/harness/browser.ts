/**
 * A real browser for the status page tests and benchmark: Debian's chromium (installed by
 * scripts/setup.sh) driven by playwright-core, headless. Plus the page checks the tests
 * share: text contrast computed from the rendered colours (WCAG 2 relative luminance) and
 * CSP violations reported by the browser.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** docs/status-page/, where the e2e test writes its screenshots. */
export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', '..', 'docs', 'status-page');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (scripts/setup.sh does)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // root in containers has no user namespace for chromium's sandbox
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/**
 * One browser for a test file: launched before its tests, closed after them. `newPage`
 * opens a 1280×900 page and collects its problems (watchProblems).
 */
export function useBrowser(): { newPage(): Promise<{ page: Page; problems: string[] }> } {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return {
    async newPage() {
      if (!browser) throw new Error('useBrowser(): the browser is not launched yet (call newPage inside a test or before hook)');
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      return { page, problems: watchProblems(page) };
    },
  };
}

/** Collects page errors and CSP violations ("Refused to ...") from the console. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (/Refused to|Content Security Policy/i.test(msg.text())) problems.push(`csp: ${msg.text()}`);
  });
  return problems;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export interface ContrastFailure {
  readonly text: string;
  readonly ratio: number;
  readonly fg: string;
  readonly bg: string;
}

/**
 * Every visible element with its own text: contrast of its colour against the first
 * opaque background behind it (walking up the ancestors), WCAG 2 formula. Returns those
 * below `min` (4.5:1 for normal text). Disabled controls are included: ours must pass too.
 */
export async function contrastFailures(page: Page, min = 4.5): Promise<{ checked: number; failures: ContrastFailure[] }> {
  // Runs in the page; a string because this project compiles without the DOM typings.
  return page.evaluate(`(${CONTRAST_IN_PAGE})(${min})`) as Promise<{ checked: number; failures: ContrastFailure[] }>;
}

const CONTRAST_IN_PAGE = `function (minRatio) {
  var parse = function (c) { return (c.match(/[\\d.]+/g) || []).map(Number); };
  var lum = function (rgb) {
    var v = rgb.slice(0, 3).map(function (x) { var s = x / 255; return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  var background = function (el) {
    for (var e = el; e; e = e.parentElement) {
      var bg = getComputedStyle(e).backgroundColor, p = parse(bg);
      if (p.length === 3 || (p.length === 4 && p[3] > 0)) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  var failures = [], checked = 0;
  Array.from(document.body.querySelectorAll('*')).forEach(function (el) {
    var own = Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim() !== ''; });
    if (!own) return;
    var rect = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden' || rect.left < -1000) return;
    checked++;
    var fg = style.color, bg = background(el), a = lum(parse(fg)), b = lum(parse(bg));
    var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < minRatio) failures.push({ text: el.textContent.trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100, fg: fg, bg: bg });
  });
  return { checked: checked, failures: failures };
}`;
