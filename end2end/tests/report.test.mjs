// The weekly status page: a reader previews the last complete week of the demo's history,
// moves between weeks, and downloads the report in each format.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { eventually, screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

async function download(page, label) {
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("[data-testid=download]", { hasText: label }).click(),
  ]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), "utf8") };
}

test("the weekly report previews and downloads in every format", async () => {
  const context = await suite.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${suite.server.url}/reports/weekly`);
  const preview = page.locator("[data-testid=report-preview]");
  const heading = await preview.locator("h2").first().textContent();
  const week = heading.match(/(\d{4}-W\d{2})/)[1];
  assert.match(heading, /Unthread weekly status/);
  // The demo's history spans three weeks: the last complete one has work in it.
  assert.ok((await preview.locator("table").count()) >= 2, "headline and target tables");
  await screenshot(page, "weekly-report");

  const markdown = await download(page, "Markdown");
  assert.equal(markdown.name, `unthread-${week}.md`);
  assert.ok(markdown.text.startsWith(`## Unthread weekly status: ${week}`));
  const json = await download(page, "JSON");
  const report = JSON.parse(json.text);
  assert.equal(report.schema, "unthread.weekly-report/1");
  assert.equal(report.week, week);
  const h = report.headline;
  const fmt = (n) => n.toLocaleString("en-US");
  assert.ok(markdown.text.includes(`**${fmt(h.fixed)} fixed of ${fmt(h.total)} (`), "the same numbers in both");
  assert.ok(markdown.text.includes(`| ${h.percent_done}% |`), "the same share done in both");
  const targets = await download(page, "CSV: targets");
  assert.ok(targets.text.startsWith("week,target,kind,open,"));
  assert.equal(targets.text.trim().split("\n").length, report.targets.length + 1);
  const changes = await download(page, "CSV: changes");
  assert.equal(changes.name, `unthread-${week}-changes.csv`);
  assert.ok(changes.text.startsWith("week,at,change,finding_id,"));

  // Another week through the picker's links.
  await Promise.all([page.waitForURL(/week=\d{4}-W\d{2}/), page.click("[data-testid=previous-week]")]);
  // Pages render on the server: the link loads the other week's report.
  await eventually(
    async () => (await preview.locator("h2").first().textContent()) !== heading,
    15_000,
    "the previous week's report",
  );
  await context.close();
});

test("the weekly report reads without JavaScript and refuses a bad week clearly", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${suite.server.url}/reports/weekly?week=2026-W99`);
  assert.match(await page.textContent("main"), /has no week 99/);
  await page.fill("[data-testid=week-input]", "2026-W47");
  await Promise.all([page.waitForURL(/week=2026-W47/), page.click("[data-testid=week-picker] button")]);
  assert.match(await page.textContent("[data-testid=report-preview] h2"), /2026-W47/);
  await context.close();
});
