// The dashboard's journeys on the demo data, with JavaScript on (hydrated, live) and off
// (plain links and forms): a reader follows a repository to its findings and pull requests;
// a contributor claims an item and finds it on their page while another browser sees the
// claim appear; a maintainer assigns one item and sets another aside as a false positive.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

const mode = (js) => (js ? "js" : "no-js");

async function newPage(javaScriptEnabled) {
  const context = await suite.browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  return { context, page, errors };
}

async function signIn(page, login, role) {
  await page.goto(suite.server.url);
  await page.fill("#dev-login-name", login);
  await page.selectOption("#dev-login-role", role);
  await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);
  assert.equal(await page.textContent("[data-testid=account-login]"), login);
}

/** Waits until the page is hydrated and its live stream is connected. */
async function live(page) {
  await eventually(
    async () => (await page.getAttribute("[data-testid=live-indicator]", "data-live")) === "open",
    20_000,
    "the live stream",
  );
}

for (const js of [true, false]) {
  test(`a reader follows a repository to its findings and a linked pull request (${mode(js)})`, async () => {
    const { context, page, errors } = await newPage(js);
    await page.goto(suite.server.url);
    await Promise.all([page.waitForURL(/\/repos$/), page.click("nav[aria-label=Main] >> text=Repositories")]);
    await screenshot(page, `repos-${mode(js)}`);
    const rows = page.locator("[data-testid=target-row]");
    assert.ok((await rows.count()) >= 10, "Open edX libraries are listed");
    // openedx-platform is too large to bring into the demo: only the files the epic's items
    // point at are scanned, and its row says so beside its bar, with its open epic items.
    const platform = page.locator("[data-testid=target-row]", { hasText: "openedx/openedx-platform" });
    assert.match(
      await platform.locator("[data-testid=scan-scope]").textContent(),
      /^5 files of openedx\/openedx-platform \(the files the epic's items point at\), not the whole repository$/,
    );
    assert.ok(Number(await platform.locator("[data-testid=epic-items]").textContent()) >= 6, "its open sub-issues");
    // The real fix of the epic: openedx/XBlock#934, merged 2026-07-08, closing #918.
    await Promise.all([
      page.waitForURL(/\/repos\/openedx\/XBlock$/),
      page.click("[data-testid=target-table] >> text=openedx/XBlock"),
    ]);
    assert.equal(await page.textContent("[data-testid=target-name]"), "openedx/XBlock");
    assert.ok((await page.locator("[data-testid=finding-row]").count()) > 0, "its open findings");
    const pull = page.locator("[data-testid=github-pull]").first();
    assert.match(await pull.textContent(), /934.*Mixologist/);
    assert.match(await pull.textContent(), /merged/);
    assert.doesNotMatch(await page.textContent("main"), /\[demo\]/);
    await screenshot(page, `repo-${mode(js)}`);

    // Sorting and filtering the dependency table through the URL.
    await page.goto(`${suite.server.url}/deps?sort=open&dir=desc`);
    const first = await page.locator("[data-testid=target-row] >> nth=0").textContent();
    const second = await page.locator("[data-testid=target-row] >> nth=1").textContent();
    assert.ok(first && second);
    await page.goto(`${suite.server.url}/deps?q=crum`);
    assert.equal(await page.locator("[data-testid=target-row]").count(), 1);
    await Promise.all([page.waitForURL(/\/deps\/django-crum$/), page.click("[data-testid=target-table] >> text=django-crum")]);
    await screenshot(page, `dep-${mode(js)}`);
    if (js) assert.deepEqual(errors, []);
    await context.close();
  });

  test(`a contributor claims an item from /contribute and finds it on their page (${mode(js)})`, async () => {
    const login = js ? "zoe" : "yann";
    const { context, page, errors } = await newPage(js);
    await signIn(page, login, "contributor");
    await page.goto(`${suite.server.url}/contribute`);
    if (js) {
      // First the epic's open items nobody is assigned to, with what each names; then the
      // findings, each saying when an open GitHub item already covers it.
      const unassigned = page.locator("[data-testid=unassigned-item]");
      assert.ok((await unassigned.count()) >= 10, "the epic's unassigned open items");
      assert.match(
        await unassigned.first().textContent(),
        /openedx\/openedx-platform#38698[\s\S]*UT002 in openedx\/core\/lib\/safe_lxml\/xmlparser\.py:68/,
      );
      const requestCache = page.locator("[data-testid=pick]", { hasText: "class _RequestCache(threading.local)" });
      assert.match(await requestCache.locator("[data-testid=filed-as]").textContent(), /openedx\/edx-django-utils#538/);
      assert.match(await requestCache.locator("[data-testid=clears]").textContent(), /clears \d+ calls elsewhere/);
    }
    const pick = page.locator("[data-testid=pick]").first();
    const id = await pick.getAttribute("data-finding-id");
    assert.match(await pick.textContent(), /small|medium|large effort/);
    if (js) await live(page);
    await screenshot(page, `contribute-${mode(js)}`);
    await pick.locator("[data-testid=claim]").click();
    // The claimed item leaves the list of unowned ones (in place with JavaScript, after the
    // form's redirect without).
    await eventually(
      async () => (await page.locator(`[data-testid=pick][data-finding-id="${id}"]`).count()) === 0,
      10_000,
      "the claimed item to leave /contribute",
    );
    if (js) {
      // The list was refreshed in place: its new claim buttons work too, still without a reload.
      const marker = await page.evaluate(() => (window.__notReloaded = "contribute"));
      const next = page.locator("[data-testid=pick]").first();
      const nextId = await next.getAttribute("data-finding-id");
      await next.locator("[data-testid=claim]").click();
      await eventually(
        async () => (await page.locator(`[data-testid=pick][data-finding-id="${nextId}"]`).count()) === 0,
        10_000,
        "the second claimed item to leave /contribute",
      );
      assert.equal(await page.evaluate(() => window.__notReloaded), marker, "no reload happened");
    }
    await page.goto(`${suite.server.url}/people/${login}`);
    assert.equal(await page.textContent("[data-testid=person-login]"), login);
    assert.equal(await page.locator(`[data-testid=owned] [data-finding-id="${id}"]`).count(), 1);
    await screenshot(page, `person-${mode(js)}`);

    // Someone else trying to claim it sees who owns it.
    const other = await newPage(js);
    await signIn(other.page, js ? "xavi" : "will", "contributor");
    await other.page.goto(`${suite.server.url}/findings/${id}`);
    assert.match(await other.page.textContent("[data-testid=ownership-finding]"), new RegExp(`Owned by ${login}`));
    assert.equal(await other.page.locator("[data-testid=ownership-finding] [data-testid=claim]").count(), 0);
    await other.context.close();
    if (js) assert.deepEqual(errors, []);
    await context.close();
  });

  test(`a maintainer assigns an item and marks another a false positive (${mode(js)})`, async () => {
    const { context, page, errors } = await newPage(js);
    await signIn(page, js ? "ana" : "mona", "maintainer");
    await page.goto(`${suite.server.url}/findings?unowned=1&kind=dependency`);
    await screenshot(page, `findings-${mode(js)}`);
    const ids = await page.locator("[data-testid=finding-row]").evaluateAll((rows) => rows.map((r) => r.dataset.findingId));
    assert.ok(ids.length >= 2);
    const [assignId, triageId] = js ? [ids[0], ids[1]] : [ids[2], ids[3]];

    await page.goto(`${suite.server.url}/findings/${assignId}`);
    if (js) await live(page);
    await page.fill("[data-testid=ownership-finding] [data-testid=assign-login]", "bilal");
    await page.click("[data-testid=ownership-finding] [data-testid=assign]");
    await eventually(
      async () => /Owned by bilal/.test(await page.textContent("[data-testid=ownership-finding]")),
      10_000,
      "the assignment to show",
    );
    assert.match(await page.textContent("[data-testid=history]"), /Assigned to bilal/);
    await screenshot(page, `finding-assigned-${mode(js)}`);

    await page.goto(`${suite.server.url}/findings/${triageId}`);
    if (js) await live(page);
    // Without a reason the change is refused, with a message.
    await page.selectOption("[data-testid=triage-state]", "false_positive");
    await page.fill("[data-testid=triage-reason]", "");
    await page.click("[data-testid=triage-submit]");
    await eventually(async () => (await page.locator("[data-testid=alert]").count()) > 0, 10_000, "the refusal");
    assert.match(await page.textContent("[data-testid=alert]"), /reason is required/);
    await page.selectOption("[data-testid=triage-state]", "false_positive");
    await page.fill("[data-testid=triage-reason]", "generated settings module, never mutated per request");
    await page.click("[data-testid=triage-submit]");
    await eventually(
      async () => /triaged away/.test(await page.textContent("[data-testid=finding-title]")),
      10_000,
      "the triage to show",
    );
    assert.match(await page.textContent("[data-testid=history]"), /Triaged open → false_positive/);
    await screenshot(page, `finding-triaged-${mode(js)}`);
    // The refused triage answered 422, which the browser logs; nothing else went wrong.
    if (js) assert.deepEqual(errors.filter((e) => !e.includes("422")), []);
    await context.close();
  });
}

test("a claim made in one browser appears in another without reloading", async () => {
  const watcher = await newPage(true);
  const actor = await newPage(true);
  await actor.page.goto(`${suite.server.url}/findings?unowned=1`);
  const id = await actor.page.locator("[data-testid=finding-row]").first().getAttribute("data-finding-id");
  await watcher.page.goto(`${suite.server.url}/findings/${id}`);
  await live(watcher.page);
  assert.match(await watcher.page.textContent("[data-testid=ownership-finding]"), /Nobody owns/);
  const marker = await watcher.page.evaluate(() => (window.__notReloaded = true));

  await signIn(actor.page, "vera", "contributor");
  await actor.page.goto(`${suite.server.url}/findings/${id}`);
  await live(actor.page);
  const claimedAt = Date.now();
  await actor.page.click("[data-testid=ownership-finding] [data-testid=claim]");
  await eventually(
    async () => /Owned by vera/.test(await watcher.page.textContent("[data-testid=ownership-finding]")),
    5_000,
    "the claim to appear in the other browser",
  );
  const seenAfter = Date.now() - claimedAt;
  assert.equal(await watcher.page.evaluate(() => window.__notReloaded), marker, "no reload happened");
  console.log(`claim seen by the other browser after ${seenAfter} ms`);
  await screenshot(watcher.page, "finding-live-claim");
  assert.deepEqual(watcher.errors, []);
  await watcher.context.close();
  await actor.context.close();
});

test("every page renders, with a screenshot", async () => {
  const { context, page } = await newPage(true);
  for (const [path, name] of [
    ["/rules", "rules"],
    ["/rules/UT001", "rule"],
    ["/findings?rule=UT001", "findings-ut001"],
    ["/deps", "deps"],
  ]) {
    const response = await page.goto(`${suite.server.url}${path}`);
    assert.equal(response.status(), 200, path);
    await screenshot(page, name);
  }
  await page.goto(`${suite.server.url}/rules/UT001`);
  assert.match(await page.textContent("[data-testid=rule-help]"), /ContextVar|contextvars/);
  await context.close();
});
