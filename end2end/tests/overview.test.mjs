// The overview page: rendered by the server (readable without JavaScript) and hydrated in the
// browser (the target filter only works once the WebAssembly has taken over).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, launchBrowser, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the overview is rendered on the server and readable without JavaScript", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const response = await page.goto(server.url);
  assert.equal(response.status(), 200);
  assert.equal(await page.textContent("[data-testid=target-count]"), "6");
  const rows = page.locator("[data-testid=target-row]");
  assert.equal(await rows.count(), 6);
  assert.match(await page.textContent("[data-testid=target-list]"), /openedx\/openedx-platform/);
  assert.match(await page.textContent("[data-testid=event-list]"), /target\.registered/);
  // Without JavaScript the filter cannot run: typing leaves every row visible.
  await page.fill("#target-filter", "crum");
  assert.equal(await page.locator("[data-testid=target-row]:visible").count(), 6);
  await screenshot(page, "overview-no-js");
  await context.close();
});

test("the page hydrates: the client-side filter narrows the target list", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  await page.goto(server.url);
  const visible = page.locator("[data-testid=target-row]:visible");
  assert.equal(await visible.count(), 6);
  // Until hydration finishes, typing has no effect; keep typing until the filter reacts.
  await eventually(
    async () => {
      await page.fill("#target-filter", "");
      await page.fill("#target-filter", "crum");
      return (await visible.count()) === 1;
    },
    20_000,
    "the hydrated filter",
  ).catch((err) => {
    throw new Error(`${err.message}; browser errors: ${errors.join("; ") || "none"}`);
  });
  assert.match(await visible.first().textContent(), /django-crum/);
  await page.fill("#target-filter", "OPENEDX/");
  assert.equal(await visible.count(), 5, "the filter ignores case");
  await screenshot(page, "overview-hydrated");
  assert.deepEqual(errors, [], "no errors in the browser console");
  await context.close();
});

test("health and unknown pages", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  assert.equal((await page.goto(`${server.url}/healthz`)).status(), 200);
  const missing = await page.goto(`${server.url}/no/such/page`);
  assert.equal(missing.status(), 404);
  assert.match(await page.textContent("h1"), /Page not found/);
  await context.close();
});
