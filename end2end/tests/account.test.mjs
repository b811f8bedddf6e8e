// Signing in with the development login (the demo's and these tests' way in): plain forms,
// so it works with and without JavaScript, and the header says which login it is.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, useServerAndBrowser } from "./harness.mjs";

const suite = useServerAndBrowser();

for (const javaScriptEnabled of [false, true]) {
  test(`sign in and out with the development login (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async () => {
    const context = await suite.browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await page.goto(suite.server.url);
    const form = page.locator("[data-testid=dev-login]");
    assert.match(await form.textContent(), /development login/);
    const login = javaScriptEnabled ? "mona" : "carol";
    await page.fill("#dev-login-name", login);
    await page.selectOption("#dev-login-role", "maintainer");
    await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);
    assert.equal(await page.textContent("[data-testid=account-login]"), login);
    assert.match(await page.textContent("[data-testid=account]"), /maintainer/);
    assert.match(await page.textContent("[data-testid=dev-login-badge]"), /development login/);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "unthread_session");
    assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
    assert.equal(session.sameSite, "Lax");
    await screenshot(page, `signed-in-${javaScriptEnabled ? "js" : "no-js"}`);
    await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("text=Sign out")]);
    assert.equal(await page.locator("[data-testid=account-login]").count(), 0);
    assert.equal(await page.locator("[data-testid=dev-login]").count(), 1);
    await context.close();
  });
}
