// Every page at three widths (1440, 1024 and 390 px), light and dark: nothing makes the page
// scroll sideways (wide tables scroll in their own box or become cards), with a screenshot
// of each for a person to look at.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

const WIDTHS = [1440, 1024, 390];

async function signedInPage(width, colorScheme) {
  const context = await suite.browser.newContext({ viewport: { width, height: 900 }, colorScheme });
  const page = await context.newPage();
  await page.goto(suite.server.url);
  await page.fill("#dev-login-name", "ana");
  await page.selectOption("#dev-login-role", "maintainer");
  await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);
  return { context, page };
}

test("no page scrolls horizontally at 1440, 1024 or 390 px", async () => {
  const probe = await suite.browser.newPage();
  await probe.goto(`${suite.server.url}/findings`);
  const finding = await probe.locator("[data-testid=finding-row]").first().getAttribute("data-finding-id");
  await probe.close();
  const pages = [
    ["/", "overview"],
    ["/repos", "repos"],
    ["/repos/openedx/XBlock", "repo"],
    ["/deps", "deps"],
    ["/deps?sort=impact", "deps-impact"],
    ["/deps/django-crum", "dep"],
    ["/findings", "findings"],
    [`/findings/${finding}`, "finding"],
    ["/contribute", "contribute"],
    ["/teams", "teams"],
    ["/teams/2u-arch-bom", "team"],
    ["/rules", "rules"],
    ["/reports/weekly?week=2026-W28", "report"],
    ["/admin", "admin"],
    ["/changes", "changes"],
  ];
  const overflowing = [];
  for (const width of WIDTHS) {
    for (const colorScheme of width === 1440 ? ["light", "dark"] : ["light"]) {
      const { context, page } = await signedInPage(width, colorScheme);
      for (const [path, name] of pages) {
        const response = await page.goto(`${suite.server.url}${path}`);
        assert.equal(response.status(), 200, path);
        const extra = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (extra > 0) overflowing.push(`${path} at ${width}px: ${extra}px too wide`);
        if (width === 390) {
          // The header and the demo's notice leave the phone's first screen to the page.
          const top = await page.evaluate(() =>
            document.querySelector("header").offsetHeight + (document.querySelector("[data-testid=notice]")?.offsetHeight ?? 0));
          if (top >= 150) overflowing.push(`${path} at 390px: header and notice ${top}px high (150 at most)`);
        }
        await screenshot(page, `layout-${name}-${width}${colorScheme === "dark" ? "-dark" : ""}`);
      }
      await context.close();
    }
  }
  assert.deepEqual(overflowing, []);
});

test("teams come from the repositories' catalog-info.yaml and filter the explorer", async () => {
  const page = await suite.browser.newPage();
  await page.goto(`${suite.server.url}/teams`);
  assert.match(await page.textContent("[data-testid=teams]"), /2u-arch-bom/);
  await Promise.all([page.waitForURL(/\/teams\/2u-arch-bom$/), page.click("[data-testid=teams] >> text=2u-arch-bom")]);
  assert.match(await page.textContent("[data-testid=team-repositories]"), /openedx\/edx-django-utils[\s\S]*openedx\/edx-drf-extensions/);
  await Promise.all([page.waitForURL(/\/findings\?team=2u-arch-bom/), page.click("text=its open findings")]);
  const targets = await page.locator("[data-testid=finding-row] td[data-label=Target]").allTextContents();
  assert.ok(targets.length > 0);
  assert.ok(targets.every((t) => /edx-django-utils|edx-drf-extensions/.test(t)), targets.join(", "));
  // Each repository's last weeks as a sparkline on /repos.
  await page.goto(`${suite.server.url}/repos`);
  assert.ok((await page.locator("[data-testid=sparkline]").count()) >= 10);
  assert.match(await page.locator("[data-testid=sparkline] title").first().textContent(), /\d+ open then, \d+ now/);
  await page.close();
});
