// The rescan loop in a real browser: signed `push` webhooks for tracked repositories make the
// server's own workers fetch the pushed commit from a fake GitHub (tarballs `git archive`
// made of real commits) and scan it; an open finding page shows the finding fixed without a
// reload, and /admin shows the jobs. A push that bumps a pin in the platform's
// requirements/edx/base.txt scans the new version from a fake package index, and the finding
// that version no longer has says it was fixed by the bump.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createHmac, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { commits, eventually, launchBrowser, repoRoot, screenshot, startServer } from "./harness.mjs";

const SECRET = "e2e-rescans-secret";
const LIBRARY = "openedx/completion"; // a repository the demo tracks
const PLATFORM = "openedx/openedx-platform";

/** An sdist (`name-version/...`) of `files`, made with tar. */
function sdist(name, version, files) {
  const dir = mkdtempSync(join(tmpdir(), "unthread-e2e-sdist-"));
  const top = `${name}-${version}`;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, top, path)), { recursive: true });
    writeFileSync(join(dir, top, path), text);
  }
  return execFileSync("tar", ["-C", dir, "-czf", "-", top]);
}

const THREAD_LOCAL = "import threading\n\n_state = threading.local()\n\n\ndef current():\n    return getattr(_state, 'value', None)\n";
const CONTEXT_VAR = "import contextvars\n\n_state = contextvars.ContextVar('state', default=None)\n\n\ndef current():\n    return _state.get()\n";

// The demo's real requirements file, and the same with django-crum one version later.
const snapshot = JSON.parse(gunzipSync(readFileSync(resolve(repoRoot, "server/demo/snapshot.json.gz"))).toString());
const crumPin = /^django-crum==(\S+)$/m.exec(snapshot.requirements);
const bumped = snapshot.requirements.replace(/^django-crum==\S+$/m, "django-crum==99.0");

const library = commits([
  { "completion/__init__.py": "", "completion/e2e_state.py": THREAD_LOCAL, "completion/views.py": "def index():\n    return 'ok'\n" },
  { "completion/e2e_state.py": CONTEXT_VAR },
]);
const platform = commits([
  { "lms/__init__.py": "", "requirements/edx/base.txt": snapshot.requirements },
  { "requirements/edx/base.txt": bumped },
]);
const crum99 = sdist("django-crum", "99.0", { "crum/__init__.py": CONTEXT_VAR });
const crumSha = createHash("sha256").update(crum99).digest("hex");

/** GitHub (tarballs, with their redirect) and the package index, for the server's jobs. */
function fakeUpstream() {
  const tarballs = new Map();
  for (const [repository, made] of [[LIBRARY, library], [PLATFORM, platform]]) {
    for (const { sha, tarball } of made) tarballs.set(`/repos/${repository}/tarball/${sha}`, tarball);
  }
  const server = createServer((request, response) => {
    const url = new URL(request.url, "http://upstream");
    if (tarballs.has(url.pathname)) {
      response.writeHead(302, { location: `http://${request.headers.host}/codeload${url.pathname}` });
      return response.end();
    }
    if (url.pathname.startsWith("/codeload/") && tarballs.has(url.pathname.slice("/codeload".length))) {
      response.writeHead(200, { "content-type": "application/x-gzip" });
      return response.end(tarballs.get(url.pathname.slice("/codeload".length)));
    }
    if (url.pathname === "/simple/django-crum/") {
      response.writeHead(200, { "content-type": "application/vnd.pypi.simple.v1+json" });
      return response.end(JSON.stringify({
        meta: { "api-version": "1.1" },
        name: "django-crum",
        files: [{ filename: "django-crum-99.0.tar.gz", url: "../../files/django-crum-99.0.tar.gz", hashes: { sha256: crumSha } }],
      }));
    }
    if (url.pathname === "/files/django-crum-99.0.tar.gz") {
      response.writeHead(200, { "content-type": "application/x-gzip" });
      return response.end(crum99);
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ message: "Not Found" }));
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

const suite = {};
before(async () => {
  suite.upstream = await fakeUpstream();
  const upstream = `http://127.0.0.1:${suite.upstream.address().port}`;
  suite.server = await startServer({
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_API_URL: upstream,
    UNTHREAD_INDEX_URL: `${upstream}/simple/`,
  });
  suite.browser = await launchBrowser();
});
after(async () => {
  await suite.browser?.close();
  await suite.server?.stop();
  suite.upstream?.close();
});

async function push(repository, sha) {
  const payload = JSON.parse(readFileSync(resolve(repoRoot, "../shared/fixtures/github/webhook.push.json")));
  payload.ref = "refs/heads/main";
  payload.after = sha;
  payload.repository.full_name = repository;
  payload.repository.default_branch = "main";
  const body = JSON.stringify(payload);
  const response = await fetch(`${suite.server.url}/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
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

async function live(page) {
  await eventually(
    async () => (await page.getAttribute("[data-testid=live-indicator]", "data-live")) === "open",
    20_000,
    "the live stream",
  );
}

/** The id of the first finding the explorer lists for `query`, once there is one. */
async function findingId(page, query) {
  let href = null;
  await eventually(async () => {
    await page.goto(`${suite.server.url}/findings?${query}`);
    href = await page.locator("main a[href^='/findings/']").first().getAttribute("href", { timeout: 1_000 }).catch(() => null);
    return href !== null;
  }, 30_000, `a finding for ${query}`);
  return href.split("/").pop();
}

test("a push that removes a thread local shows its finding fixed without a reload; /admin shows the jobs", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  await signIn(page, "ana", "maintainer");

  await push(LIBRARY, library[0].sha);
  const id = await findingId(page, `target=${encodeURIComponent(LIBRARY)}&q=e2e_state`);
  await page.goto(`${suite.server.url}/findings/${id}`);
  await live(page);
  assert.equal(await page.textContent("[data-testid=state-badge]"), "open");
  await page.evaluate(() => { window.__sameDocument = true; });

  await push(LIBRARY, library[1].sha);
  await eventually(async () => (await page.textContent("[data-testid=state-badge]")) === "fixed", 30_000, "the finding shown fixed");
  assert.equal(await page.evaluate(() => window.__sameDocument ?? false), true, "no reload");
  assert.match(await page.textContent("[data-testid=history]"), new RegExp(`no longer sees it`));
  await screenshot(page, "finding-fixed-by-push");

  await page.goto(`${suite.server.url}/admin`);
  const counts = await page.textContent("[data-testid=queue-counts]");
  assert.match(counts, /scan_repository/);
  const deliveries = await page.textContent("[data-testid=deliveries]");
  assert.ok(deliveries.includes(`scan of ${LIBRARY}@${library[1].sha.slice(0, 12)} queued`), deliveries);
  await screenshot(page, "admin-after-push");
  await context.close();
});

test("a push that bumps a pin scans the new version, and the finding it lacks is fixed by bumping", async () => {
  assert.ok(crumPin, "the demo pins django-crum");
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  await push(PLATFORM, platform[0].sha);
  const id = await findingId(page, "target=django-crum&state=open");
  await page.goto(`${suite.server.url}/findings/${id}`);
  await live(page);
  assert.equal(await page.textContent("[data-testid=state-badge]"), "open");

  await push(PLATFORM, platform[1].sha);
  await eventually(async () => (await page.textContent("[data-testid=state-badge]")) === "fixed", 45_000, "the dependency's finding fixed");
  const history = await page.textContent("[data-testid=history]");
  assert.ok(
    history.includes(`Fixed by bumping django-crum ${crumPin[1]} → 99.0 in requirements/edx/base.txt at ${platform[1].sha.slice(0, 12)} of ${PLATFORM}`),
    history,
  );
  await screenshot(page, "finding-fixed-by-bump");
  await context.close();
});
