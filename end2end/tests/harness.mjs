// Shared by the end-to-end suites: a real `unthread serve` on a free port with its own
// embedded PostgreSQL, and a headless Debian Chromium driven by playwright-core. Each suite
// file has its own server, database and browser, so `npm test` runs two files at a time.
import { after, before } from "node:test";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");
export const outputDir = resolve(here, "../test-results");

/** Starts `unthread serve --demo --dev-login` and resolves once it listens; `extraEnv` adds
 * settings (e.g. a webhook secret); `demo: false` starts an empty server instead. */
export async function startServer(extraEnv = {}, { demo = true } = {}) {
  const bin = resolve(repoRoot, "end2end", process.env.UNTHREAD_BIN ?? "../target/debug/unthread");
  const dataDir = mkdtempSync(join(tmpdir(), "unthread-e2e-"));
  // When the suite runs as root, PostgreSQL runs as `postgres` and must reach this directory.
  chmodSync(dataDir, 0o755);
  // Always the embedded cluster, never a DATABASE_URL from the caller's environment.
  const env = { ...process.env, UNTHREAD_DATA_DIR: dataDir, RUST_LOG: "info", ...extraEnv };
  delete env.DATABASE_URL;
  const args = ["serve", ...(demo ? ["--demo"] : []), "--dev-login", "--addr", "127.0.0.1:0"];
  const child = spawn(bin, args, {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "inherit", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60_000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      process.stderr.write(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export async function screenshot(page, name) {
  mkdirSync(outputDir, { recursive: true });
  await page.screenshot({ path: join(outputDir, `${name}.png`), fullPage: true });
}

/** Retries `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check, timeoutMs = 15_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The suite's server and browser: started before the file's first test, stopped after its
 * last. `extraEnv` goes to the server. Read `suite.server` and `suite.browser` inside tests. */
export function useServerAndBrowser(extraEnv = {}) {
  const suite = {};
  before(async () => {
    suite.server = await startServer(extraEnv);
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}

function git(dir, ...args) {
  return execFileSync("git", ["-C", dir, "-c", "user.name=E2E", "-c", "user.email=e2e@example.com", "-c", "commit.gpgsign=false", ...args])
    .toString()
    .trim();
}

/** A git repository whose commits write each step's files in turn: each commit's sha and the
 * tarball GitHub would serve for it (one top directory `<name>-<sha7>/`, the commit in the
 * archive's header). */
export function commits(steps, name = "repo") {
  const dir = mkdtempSync(join(tmpdir(), `unthread-e2e-${name}-`));
  git(dir, "init", "-q", "-b", "main");
  return steps.map((files, i) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "--allow-empty", "-m", `step ${i}`);
    const sha = git(dir, "rev-parse", "HEAD");
    const tarball = execFileSync("git", ["-C", dir, "archive", "--format=tar.gz", `--prefix=${name}-${sha.slice(0, 7)}/`, sha]);
    return { sha, tarball };
  });
}
