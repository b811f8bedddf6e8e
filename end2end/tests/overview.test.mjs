// The overview page: rendered by the server (readable without JavaScript, chart included)
// and hydrated in the browser (the live-updates stream only connects once the WebAssembly
// has taken over).
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

test("the overview is rendered on the server and readable without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const response = await page.goto(suite.server.url);
  assert.equal(response.status(), 200);
  // The demo: openedx-platform and every package its requirements pin.
  assert.ok(Number(await page.textContent("[data-testid=target-count]")) > 250);
  // The headline counts the scope: fixed of in scope, UT100 and tests apart, never as done.
  const headline = await page.textContent("[data-testid=headline]");
  assert.match(headline, /^\s*\d+ fixed of [\d,]+ \((<?[\d.]+) %\) · \d+ triaged away · [\d,]+ open/);
  assert.match(await page.textContent("[data-testid=scope-note]"), /[\d,]+ places already on context variables[\s\S]*open in test code/);
  assert.match(await page.textContent("[data-testid=by-rule]"), /UT100[\s\S]*already on context variables \(information\)/);
  assert.match(await page.textContent("[data-testid=by-rule]"), /UT001/);
  assert.equal(await page.locator("[data-testid=burndown] svg polyline").count(), 1);
  assert.match(await page.textContent("[data-testid=event-list]"), /Scan of openedx\/\S+ at [0-9a-f]{7}: /);
  // The first lines: where the epic stands, then the last two weeks (quiet in the demo).
  assert.match(await page.textContent("[data-testid=status-items]"), /1 of 14/);
  assert.match(await page.textContent("[data-testid=status-assigned]"), /0 of 13/);
  assert.match(await page.textContent("[data-testid=status-last-merge]"), /2026-07-08\s*\d+ days ago/);
  assert.match(await page.textContent("[data-testid=status-pace]"), /stalled/);
  // Counted without the findings in modules no tracked code imports (the default), which
  // the page counts apart.
  assert.match(await page.textContent("[data-testid=status-scope]"), /637 → [\d,]+/);
  assert.match(await page.textContent("[data-testid=unreached-note]"), /^[\d,]+ more open findings are where tracked code is not known to reach them/);
  assert.match(await page.textContent("[data-testid=week-summary]"), /Nothing changed in the last fourteen days/);
  // The burndown is zoomed to its band, and says so.
  assert.match(await page.textContent("[data-testid=axis-note]"), /The axis runs from 6\d0 to 6\d0, not from zero/);
  // The real epic, its items and their states, and what nobody filed yet.
  const epic = await page.textContent("[data-testid=epic]");
  assert.match(epic, /openedx\/openedx-platform#38680/);
  assert.match(epic, /openedx\/XBlock#918[\s\S]*closed\s*2026-07-08/);
  assert.match(epic, /PR openedx\/XBlock#934[\s\S]*merged\s*2026-07-08/);
  assert.doesNotMatch(await page.textContent("main"), /\[demo\]/);
  assert.match(await page.textContent("[data-testid=filed-summary]"), /GitHub items name \d+ of the [\d,]+ findings/);
  assert.ok(await page.locator("[data-testid=burndown] polygon[data-series=open]").count(), "stacked areas");
  assert.ok((await page.locator("[data-testid=burndown-points] title").count()) > 100, "a hover title per day");
  assert.equal(await page.textContent("[data-testid=live-indicator]"), "○ not live");
  await screenshot(page, "overview-no-js");
  // Counting them too: the whole scope since the campaign began.
  await page.goto(`${suite.server.url}/?unreached=1`);
  assert.match(await page.textContent("[data-testid=status-scope]"), /1,710 → [\d,]+/);
  assert.match(await page.textContent("[data-testid=unreached-note]"), /^Counting everything/);
  await context.close();
});

test("the page hydrates and connects to the live stream", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  await page.goto(suite.server.url);
  await eventually(
    async () => (await page.getAttribute("[data-testid=live-indicator]", "data-live")) === "open",
    20_000,
    "the live stream",
  ).catch((err) => {
    throw new Error(`${err.message}; browser errors: ${errors.join("; ") || "none"}`);
  });
  await screenshot(page, "overview-hydrated");
  assert.deepEqual(errors, [], "no errors in the browser console");
  await context.close();
});

test("health and unknown pages", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  assert.equal((await page.goto(`${suite.server.url}/healthz`)).status(), 200);
  const missing = await page.goto(`${suite.server.url}/no/such/page`);
  assert.equal(missing.status(), 404);
  assert.match(await page.textContent("h1"), /Page not found/);
  assert.equal((await page.goto(`${suite.server.url}/findings/999999999`)).status(), 404);
  assert.equal((await page.goto(`${suite.server.url}/repos/nobody/nothing`)).status(), 404);
  await context.close();
});

test("every page works under its Content-Security-Policy: islands hydrate, nothing is blocked", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on("console", (msg) => /Content.Security.Policy|Refused to/i.test(msg.text()) && violations.push(msg.text()));
  await page.exposeFunction("__reportViolation", (text) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  for (const path of ["/", "/repos", "/deps", "/findings", "/contribute", "/rules", "/reports/weekly", "/no/such/page"]) {
    const response = await page.goto(suite.server.url + path);
    const policy = response.headers()["content-security-policy"] ?? "";
    assert.match(policy, /script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/, `${path}: ${policy}`);
    // The islands' WebAssembly runs: the live island connects to the stream.
    await eventually(
      async () => (await page.getAttribute("[data-testid=live-indicator]", "data-live")) === "open",
      20_000,
      `${path} hydrates under its policy`,
    );
  }
  await screenshot(page, "csp-every-page");
  assert.deepEqual(violations, [], "no Content-Security-Policy violation");
  await context.close();
});
