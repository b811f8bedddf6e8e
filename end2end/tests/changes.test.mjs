// Changes in a real browser, against a server with a GitHub token and a fake GitHub: a
// repository tracked with `--repo` (scanned from its tarball), its page's "Fix all UT001"
// with the diff, the pull request opened through the contents API, /changes listing it; then
// the merge webhook and the push of the merge commit show the finding fixed and the change
// merged without a reload.
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { commits, eventually, launchBrowser, repoRoot, screenshot, startServer } from "./harness.mjs";

const SECRET = "e2e-changes-secret";
const REPOSITORY = "acme/fixes";
const fixture = (name) => JSON.parse(readFileSync(resolve(repoRoot, "../shared/fixtures/github", name)));

// A thread local used as a namespace, in a project that depends on Django: UT001's rewrite to
// asgiref's Local is a safe fix. The second commit is the merge.
const THREAD_LOCAL = "import threading\n\n_state = threading.local()\n\n\ndef current():\n    return getattr(_state, 'value', None)\n";
const MERGED = "from asgiref.local import Local\n\n_state = Local()\n\n\ndef current():\n    return getattr(_state, 'value', None)\n";
const [first, merge] = commits(
  [
    { "fixes/__init__.py": "", "fixes/state.py": THREAD_LOCAL, "requirements.txt": "Django>=4.2\n" },
    { "fixes/state.py": MERGED },
  ],
  "fixes",
);

const PULL_ID = 424242;
const PULL_NUMBER = 7;

/** GitHub: the repository, its tarballs (the default branch's head moves to the merge once
 * merged), and the writes a pull request takes, recorded. */
function fakeGitHub() {
  const state = { head: first, writes: [] };
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://github");
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString() || "null") : null;
    const json = (status, value) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(value));
    };
    const repo = `/repos/${REPOSITORY}`;
    if (request.method === "GET" && url.pathname === repo) {
      return json(200, { ...fixture("rest.repos.get.json"), full_name: REPOSITORY, default_branch: "main", private: false });
    }
    const tarball = /^\/repos\/acme\/fixes\/tarball\/(.+)$/.exec(url.pathname);
    if (request.method === "GET" && tarball) {
      response.writeHead(302, { location: `http://${request.headers.host}/codeload/${tarball[1]}` });
      return response.end();
    }
    const download = /^\/codeload\/(.+)$/.exec(url.pathname);
    if (request.method === "GET" && download) {
      const commit = download[1] === "main" ? state.head : [first, merge].find((c) => c.sha === download[1]);
      if (!commit) return json(404, { message: "Not Found" });
      response.writeHead(200, { "content-type": "application/x-gzip" });
      return response.end(commit.tarball);
    }
    if (request.method !== "GET") state.writes.push({ method: request.method, path: url.pathname, body });
    if (request.method === "POST" && url.pathname === `${repo}/git/refs`) {
      return json(201, { ...fixture("rest.git.refs.create.201.json"), ref: body.ref, object: { sha: body.sha, type: "commit" } });
    }
    if (request.method === "PUT" && url.pathname.startsWith(`${repo}/contents/`)) {
      return json(201, fixture("rest.repos.contents.put.201.json"));
    }
    if (request.method === "POST" && url.pathname === `${repo}/pulls`) {
      const pull = fixture("rest.repos.pulls.get.json");
      Object.assign(pull, {
        id: PULL_ID, number: PULL_NUMBER, title: body.title, body: body.body, state: "open", merged: false,
        merged_at: null, closed_at: null, html_url: `https://github.com/${REPOSITORY}/pull/${PULL_NUMBER}`,
      });
      pull.base.ref = "main";
      pull.base.repo.full_name = REPOSITORY;
      return json(201, pull);
    }
    json(404, { message: "Not Found" });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, state })));
}

const suite = {};
before(async () => {
  suite.github = await fakeGitHub();
  suite.server = await startServer(
    {
      GITHUB_WEBHOOK_SECRET: SECRET,
      GITHUB_API_URL: `http://127.0.0.1:${suite.github.server.address().port}`,
      GITHUB_TOKEN: "e2e-token-with-write-access",
      UNTHREAD_REPOS: REPOSITORY,
    },
    { demo: false },
  );
  suite.browser = await launchBrowser();
});
after(async () => {
  await suite.browser?.close();
  await suite.server?.stop();
  suite.github?.server.close();
});

async function deliver(event, payload) {
  const body = JSON.stringify(payload);
  const response = await fetch(`${suite.server.url}/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex"),
    },
    body,
  });
  assert.equal(response.status, 200, await response.text());
}

async function signIn(page, login, role) {
  await page.goto(suite.server.url);
  await page.fill("#dev-login-name", login);
  await page.selectOption("#dev-login-role", role);
  await Promise.all([page.waitForURL(`${suite.server.url}/`), page.click("[data-testid=dev-login] button")]);
}

test("Fix all UT001: the diff, the pull request, /changes, and the merge shown without a reload", async () => {
  const context = await suite.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await signIn(page, "mira", "maintainer");
  const repositoryPage = `${suite.server.url}/repos/${REPOSITORY}`;
  // `--repo` tracked it: its first scan comes from the tarball, with no checkout.
  await eventually(async () => {
    await page.goto(repositoryPage);
    return (await page.locator("[data-testid=fix-all-UT001]").count()) === 1;
  }, 60_000, "the repository scanned, with a fix for UT001");
  const offer = page.locator("[data-testid=fix-all-UT001]");
  assert.match(await offer.textContent(), /1 safe/);
  await offer.locator("summary").click();
  assert.match(await offer.locator("[data-testid=fix-all-diff]").textContent(), /asgiref\.local/);
  await screenshot(page, "changes-fix-all-1440");

  await Promise.all([page.waitForURL(repositoryPage), offer.locator("button", { hasText: "Fix all UT001 (1)" }).click()]);
  await eventually(async () => {
    await page.goto(repositoryPage);
    const note = page.locator("[data-testid=fix-all-UT001] [data-testid=change-note]");
    return (await note.count()) === 1 && /Pull request #7/.test(await note.textContent());
  }, 60_000, "the pull request opened");
  const writes = suite.github.state.writes;
  assert.deepEqual(writes.map((w) => `${w.method} ${w.path}`), [
    `POST /repos/${REPOSITORY}/git/refs`,
    `PUT /repos/${REPOSITORY}/contents/fixes/state.py`,
    `POST /repos/${REPOSITORY}/pulls`,
  ]);
  assert.equal(writes[0].body.sha, first.sha, "the branch starts at the scanned head");
  assert.match(Buffer.from(writes[1].body.content, "base64").toString(), /from asgiref\.local import Local/);
  assert.match(writes[2].body.body, /Part of openedx\/openedx-platform#38680/);

  await page.goto(`${suite.server.url}/changes`);
  const row = page.locator("[data-testid=change-row]");
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /Fix all UT001/);
  assert.match(await row.textContent(), /open/);
  assert.match(await row.textContent(), /#7/);
  await screenshot(page, "changes-list-1440");
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "/changes fits 390 px");
  await screenshot(page, "changes-list-390");
  await page.goto(repositoryPage);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "the repository page fits 390 px");
  await page.locator("[data-testid=fix-all-UT001] summary").click();
  await screenshot(page, "changes-fix-all-390");
  const href = await page.locator("main a[href^='/findings/']").first().getAttribute("href");
  await page.goto(`${suite.server.url}${href}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "the finding page fits 390 px");
  assert.match(await page.textContent("[data-testid=fix-diff]"), /asgiref/);
  await screenshot(page, "changes-finding-diff-390");
  await page.setViewportSize({ width: 1440, height: 900 });

  // The finding's page, open, then the merge on GitHub: webhook, then the push of the merge.
  await page.goto(`${suite.server.url}${href}`);
  await eventually(async () => (await page.getAttribute("[data-testid=live-indicator]", "data-live")) === "open", 20_000, "live");
  assert.match(await page.textContent("[data-testid=change-note]"), /Pull request #7/);
  await screenshot(page, "changes-finding-1440");
  await page.evaluate(() => { window.__sameDocument = true; });
  suite.github.state.head = merge;
  const closed = fixture("webhook.pull_request.closed.json");
  Object.assign(closed.pull_request, {
    id: PULL_ID, number: PULL_NUMBER, merged: true, merged_at: new Date().toISOString(), merge_commit_sha: merge.sha,
    html_url: `https://github.com/${REPOSITORY}/pull/${PULL_NUMBER}`,
  });
  closed.pull_request.base.ref = "main";
  closed.pull_request.base.repo.full_name = REPOSITORY;
  closed.number = PULL_NUMBER;
  closed.repository.full_name = REPOSITORY;
  closed.repository.default_branch = "main";
  await deliver("pull_request", closed);
  const push = fixture("webhook.push.json");
  Object.assign(push, { ref: "refs/heads/main", before: first.sha, after: merge.sha });
  push.repository.full_name = REPOSITORY;
  push.repository.default_branch = "main";
  await deliver("push", push);
  await eventually(async () => (await page.textContent("[data-testid=finding-title] [data-testid=state-badge]")) === "fixed", 60_000, "the finding shown fixed");
  assert.match(await page.textContent("[data-testid=change-note]"), /merged/);
  assert.equal(await page.evaluate(() => window.__sameDocument ?? false), true, "no reload");
  await screenshot(page, "changes-finding-merged-1440");
  await page.goto(`${suite.server.url}/changes`);
  assert.match(await page.textContent("[data-testid=change-row]"), /merged/);
  assert.match(await page.textContent("[data-testid=change-counts]"), /1 merged/);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${suite.server.url}${href}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "the finding page fits 390 px");
  await screenshot(page, "changes-finding-390");
  await context.close();
});
