// Hostile text stays text: HTML and script in a scanned snippet, symbol and message (from an
// uploaded SARIF log) and in a GitHub issue title (from a signed webhook) are shown as typed
// on every page that displays them, and no script of theirs runs.
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { repoRoot, screenshot, useServerAndBrowser } from "./harness.mjs";

const SECRET = "e2e-webhook-secret";
const SNIPPET = `<img src=x onerror="window.__pwned='snippet'">`;
const MESSAGE = `<script>window.__pwned='message'</script>`;
const SYMBOL = `evil.<svg onload="window.__pwned='symbol'">`;
const TITLE = `<script>window.__pwned='title'</script><img src=x onerror="window.__pwned='title-img'"> | **bold**`;


/** `2026-W48` for a date (UTC). */
function isoWeek(date) {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((d - yearStart) / 86400000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

const suite = useServerAndBrowser({ GITHUB_WEBHOOK_SECRET: SECRET });

function sarif() {
  return JSON.stringify({
    version: "2.1.0",
    runs: [{
      tool: { driver: { name: "unthread-scan", rules: [] } },
      results: [{
        ruleId: "UT001",
        message: { text: MESSAGE },
        partialFingerprints: { "unthread/v1": "e2e-hostile-1" },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: "crum/evil.py" },
            region: { startLine: 3, startColumn: 1, endLine: 3, endColumn: 10, snippet: { text: SNIPPET } },
          },
          logicalLocations: [{ fullyQualifiedName: SYMBOL }],
        }],
      }],
    }],
  });
}

async function webhook(findingId) {
  const path = resolve(repoRoot, "../shared/fixtures/github/webhook.issues.opened.json");
  const payload = JSON.parse(readFileSync(path, "utf8"));
  payload.issue.title = TITLE;
  payload.issue.body = `Fixes ${suite.server.url}/findings/${findingId}`;
  const body = JSON.stringify(payload);
  const signature = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
  const response = await fetch(`${suite.server.url}/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": signature,
    },
    body,
  });
  assert.equal(response.status, 200, await response.text());
}

test("HTML in snippets, symbols, messages and issue titles is rendered inert", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });

  // A maintainer makes an upload token; CI uploads a SARIF log carrying the hostile text.
  await page.goto(suite.server.url);
  await page.fill("#dev-login-name", "mona");
  await page.selectOption("#dev-login-role", "maintainer");
  await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);
  const token = await page.evaluate(async () => {
    const r = await fetch("/api/v1/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "e2e", targets: ["django-crum"] }),
    });
    return (await r.json()).token;
  });
  assert.match(token, /^unt_/);
  const upload = await fetch(`${suite.server.url}/api/v1/scans?target=django-crum&revision=evil`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/sarif+json" },
    body: sarif(),
  });
  assert.equal(upload.status, 201, await upload.text());

  // Its made-up module is one nothing imports: left out of the explorer unless asked for.
  await page.goto(`${suite.server.url}/findings?target=django-crum&q=evil&reached=all`);
  const href = await page.locator("a[href^='/findings/']").first().getAttribute("href");
  const findingId = href.split("/").pop();
  await webhook(findingId);

  // The contribute page lists it only if nobody owns django-crum in the demo: inert either way.
  for (const [path, shows] of [
    [`/findings/${findingId}`, true],
    [`/findings?target=django-crum&q=evil&reached=all`, true],
    [`/deps/django-crum`, true],
    [`/contribute?target=django-crum`, false],
    [`/`, false],
    [`/reports/weekly?week=${isoWeek(new Date())}`, true],
  ]) {
    await page.goto(`${suite.server.url}${path}`);
    await page.waitForLoadState("networkidle");
    const text = await page.textContent("main");
    if (shows) assert.ok(text.includes("evil.<svg"), `${path}: the symbol reads as typed`);
    assert.equal(await page.locator("main svg[onload], main img[onerror], main script").count(), 0, path);
    assert.equal(await page.evaluate(() => window.__pwned ?? null), null, `${path}: no injected script ran`);
  }
  await page.goto(`${suite.server.url}/findings/${findingId}`);
  const main = await page.textContent("main");
  assert.ok(main.includes(SNIPPET), "the snippet reads as typed");
  assert.ok(main.includes("<script>window.__pwned='title'</script>"), "the linked issue's title reads as typed");
  await screenshot(page, "hostile-text-inert");
  assert.deepEqual(dialogs, []);
  assert.equal(await page.evaluate(() => window.__pwned ?? null), null);
  await context.close();
});
