// Dependencies that matter, on the demo data (real scans of the pinned packages with their
// import indexes and newer releases): a maintainer reads /deps (by impact unless asked otherwise), opens django-crum
// and sees its thread-local APIs with their callers, narrows the explorer to reached
// findings and reads a finding's import chain, then follows a "bump a pin" item from
// /contribute to its upgrade advice and claims the bump. With JavaScript on and off: all of
// it is plain links and forms.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

/** `N in M` of an impact cell as N (`—`: none). */
const calls = (text) => Number((text.trim().match(/^(\d+) in \d+$/) || [0, 0])[1]);

for (const js of [true, false]) {
  const mode = js ? "js" : "no-js";
  test(`a maintainer follows a dependency's impact to its APIs and callers (${mode})`, async () => {
    const context = await suite.browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    await page.goto(suite.server.url);
    await page.fill("#dev-login-name", `mae-${mode}`);
    await page.selectOption("#dev-login-role", "maintainer");
    await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);

    // By root cause unless asked otherwise: what migrating clears the most comes first.
    await page.goto(`${suite.server.url}/deps`);
    const roots = (await page.locator("[data-testid=root]").allTextContents()).map((t) => Number(t.match(/\d+/)?.[0] ?? 0));
    assert.ok(roots[0] > 0, "the first dependency is the root of calls elsewhere");
    assert.deepEqual(roots, [...roots].sort((a, b) => b - a), "most first");
    // By impact when asked: the calls of its own thread-local APIs.
    await page.goto(`${suite.server.url}/deps?sort=impact`);
    const impacts = (await page.locator("[data-testid=impact]").allTextContents()).map(calls);
    assert.ok(impacts[0] > 0, "the first dependency's APIs are called elsewhere");
    assert.deepEqual(impacts, [...impacts].sort((a, b) => b - a), "most impact first");
    await screenshot(page, `deps-by-impact-${mode}`);

    // By root cause: the calls whose chain ends at a dependency's own thread locals.
    await page.goto(`${suite.server.url}/deps?sort=root`);
    assert.match(await page.locator("[data-testid=target-row]").first().textContent(), /django-crum[\s\S]*\d+ calls/);
    await page.goto(`${suite.server.url}/deps?q=crum&sort=impact`);
    await Promise.all([page.waitForURL(/\/deps\/django-crum$/), page.click("[data-testid=target-table] >> text=django-crum")]);
    const apis = page.locator("[data-testid=api]");
    assert.ok((await apis.count()) >= 3, "crum's thread-local APIs");
    const request = apis.filter({ hasText: "crum.get_current_request" });
    assert.match(await request.textContent(), /crum\._thread_locals/);
    assert.ok((await request.locator("[data-testid=api-caller]").count()) >= 1, "who calls it");
    // The user getter goes through crum's signal: the chain says so.
    assert.match(await apis.filter({ hasText: "crum.get_current_user (" }).textContent(), /signal crum\.signals\.current_user_getter/);
    // crum is the root cause of more calls than its own APIs take: edx-rbac's and
    // edx-toggles' chains end at its thread local too.
    assert.match(await page.textContent("[data-testid=root-calls]"), /^\d+ open calls elsewhere end at its own thread locals/);
    assert.match(await page.textContent("[data-testid=root-holders]"), /crum\._thread_locals: \d+ calls, through the APIs of [\s\S]*edx-rbac \(\d+\)/);
    // An open epic item is already about crum (#38707): no new sub-issue is offered for it.
    assert.equal(await page.locator("[data-testid=file-root-cause]").count(), 0);
    await screenshot(page, `dep-apis-${mode}`);
    // A caller's example finding is one UT011 call of it.
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), request.locator("[data-testid=api-caller] >> text=example").first().click()]);
    assert.match(await page.textContent("[data-testid=finding-title]"), /UT011/);

    // The overview leaves out findings in modules no tracked code imports, and says how
    // many; one link counts them, and the figures add up.
    const openOf = async () => Number((await page.textContent("[data-testid=overall-open]")).replaceAll(",", "").trim());
    const noteCount = async () => Number((await page.textContent("[data-testid=unreached-note]")).replaceAll(",", "").match(/\d+/)[0]);
    await page.goto(`${suite.server.url}/`);
    const importedOpen = await openOf();
    const leftOut = await noteCount();
    assert.ok(importedOpen > 0 && leftOut > 0, `${importedOpen} open, ${leftOut} left out`);
    await Promise.all([page.waitForURL(/unreached=1/), page.click("[data-testid=unreached-toggle]")]);
    assert.equal(await openOf(), importedOpen + leftOut, "the left-out ones are exactly the difference");
    assert.match(await page.textContent("[data-testid=unreached-note]"), /^Counting everything/);
    // /deps says so too.
    await page.goto(`${suite.server.url}/deps`);
    assert.match(await page.textContent("[data-testid=unreached-note]"), /open findings are where tracked code is not known to reach them \(in modules nothing imports, or writes no request or task is known to make\), left out/);

    // By default the explorer and /contribute leave out findings in modules nothing tracked
    // imports, and say how many; one link shows them.
    await page.goto(`${suite.server.url}/findings`);
    const byDefault = Number((await page.textContent("[data-testid=finding-total]")).match(/\d+/)[0]);
    const hidden = Number((await page.textContent("[data-testid=unreached-hidden]")).match(/\d+/)[0]);
    assert.ok(hidden > 0, "some findings are in modules nothing imports");
    await Promise.all([page.waitForURL(/reached=all/), page.click("[data-testid=unreached-hidden] a")]);
    const withThem = Number((await page.textContent("[data-testid=finding-total]")).match(/\d+/)[0]);
    assert.equal(withThem, byDefault + hidden, "the hidden ones are exactly the difference");
    await page.goto(`${suite.server.url}/contribute`);
    assert.match(await page.textContent("[data-testid=unreached-hidden]"), /^\d+ more unowned findings are where tracked code is not known to reach them/);

    // The explorer, narrowed to findings in modules tracked code imports.
    await page.goto(`${suite.server.url}/findings`);
    await page.selectOption("select[name=reached]", "yes");
    await Promise.all([page.waitForURL(/reached=yes/), page.click("[data-testid=finding-filters] button[type=submit]")]);
    const total = Number((await page.textContent("[data-testid=finding-total]")).match(/\d+/)[0]);
    assert.ok(total > 0, "some findings are reached");
    assert.match(await page.textContent("[data-testid=reach-caveat]"), /over-approximation/);
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.locator("[data-testid=finding-row] a[href^='/findings/']").first().click()]);
    assert.match(await page.textContent("[data-testid=reach]"), /^(Reached from \S+ |In tracked code: )/);
    await screenshot(page, `finding-reach-${mode}`);

    // When the code runs: the explorer narrowed to request time, and a finding's call path.
    await page.goto(`${suite.server.url}/findings`);
    await page.selectOption("select[name=runs_at]", "request");
    await Promise.all([page.waitForURL(/runs_at=request/), page.click("[data-testid=finding-filters] button[type=submit]")]);
    const atRequest = Number((await page.textContent("[data-testid=finding-total]")).match(/\d+/)[0]);
    assert.ok(atRequest > 0, "some findings run at request time");
    assert.match(await page.textContent("[data-testid=facets]"), /Runs at\s*request time \(\d+\)/);
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.locator("[data-testid=finding-row] a[href^='/findings/']").first().click()]);
    assert.match(await page.textContent("[data-testid=runs-at]"), /^Runs at request time: \S/);
    // The code as the scan read it: the finding's lines marked, with lines around them.
    assert.ok((await page.locator("[data-testid=finding-line]").count()) >= 1, "the finding's lines");
    assert.ok((await page.locator("[data-testid=context-line]").count()) >= 1, "lines around them");
    // A dependency's lines upstream, at the tag of the scanned version (said to be a guess).
    const upstream = page.locator("[data-testid=upstream-permalink]");
    if (await upstream.count()) {
      assert.match(await upstream.getAttribute("href"), /^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/[^/]+\/.+#L\d+/);
    }
    await screenshot(page, `finding-runs-at-${mode}`);

    // A repository's finding nobody filed offers a short sub-issue in the epic's style; one an
    // open GitHub item already names offers none.
    const firstFinding = async (query) => {
      await page.goto(`${suite.server.url}/findings?${query}`);
      await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.locator("[data-testid=finding-row] a[href^='/findings/']").first().click()]);
    };
    await firstFinding("kind=repository&filed=no");
    const href = await page.getAttribute("[data-testid=file-sub-issue]", "href");
    const query = new URL(href).searchParams;
    assert.match(query.get("title"), /^(Replace|Investigate|Carry) /);
    assert.ok(query.get("body").length <= 2000, `${query.get("body").length} characters`);
    assert.match(query.get("body"), /Part of openedx\/openedx-platform#38680\.\s*$/);
    await firstFinding("kind=repository&filed=yes&state=open");
    assert.equal(await page.locator("[data-testid=file-sub-issue]").count(), 0, "already filed: no second sub-issue");

    // A "bump a pin" item on /contribute leads to the dependency's upgrade advice.
    await page.goto(`${suite.server.url}/contribute`);
    const bump = page.locator("[data-testid=bump]").first();
    assert.match(await bump.textContent(), /Bump \S+ \S+ → \S+.*clears \d+ of \d+ open.*(small|large) effort/);
    await screenshot(page, `contribute-bumps-${mode}`);
    await Promise.all([page.waitForURL(/\/deps\/[^/]+$/), bump.locator("a").first().click()]);
    assert.match(await page.textContent("[data-testid=upgrade-verdict]"), /^Bump to \S+ clears \d+ of \d+ open findings\.$/);
    assert.ok((await page.locator("[data-testid=upgrade-option]").count()) >= 1);
    await screenshot(page, `dep-upgrade-${mode}`);

    // Claiming a bump takes the findings it clears, not the dependency: it leaves /contribute,
    // and the dependency stays unowned.
    await page.goto(`${suite.server.url}/contribute`);
    const card = page.locator("[data-testid=bump]").first();
    const bumped = (await card.locator("a").first().textContent()).match(/^Bump (\S+) /)[1];
    const claimButton = card.locator("[data-testid=claim]");
    assert.equal((await claimButton.textContent()).trim(), "Claim this bump");
    await claimButton.click();
    await page.waitForFunction(
      (name) => ![...document.querySelectorAll("[data-testid=bump] a")].some((a) => a.textContent.startsWith(`Bump ${name} `)),
      bumped,
    );
    await page.goto(`${suite.server.url}/deps/${bumped}`);
    assert.match(await page.textContent("[data-testid=ownership-target] [data-testid=owner]"), /^Nobody owns this whole target yet\.$/);

    // crum's thread local is used at request time through other code: edx-rbac's decorator,
    // on views, calls crum's API (cross-package runs-at, through the API index).
    await page.goto(`${suite.server.url}/findings?target=django-crum&rule=UT001`);
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.locator("[data-testid=finding-row] a[href^='/findings/']").first().click()]);
    assert.match(await page.textContent("[data-testid=runs-at-via]"), /^Used at request time through other code: .+ calls crum\.\w+/);
    await context.close();
  });
}
