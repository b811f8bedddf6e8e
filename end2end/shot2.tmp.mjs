import { startServer, launchBrowser } from "./tests/harness.mjs";
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
  await page.goto(server.url + "/findings");
  await page.evaluate(() => window.scrollTo(0, 700));
  await page.screenshot({ path: `/tmp/shot-findings-390-view.png` });
  await page.goto(server.url + "/");
  await page.screenshot({ path: `/tmp/shot-overview-390-view.png` });
  await page.emulateMedia({ colorScheme: "dark" });
  const wide = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: "dark" });
  await wide.goto(server.url + "/");
  await wide.screenshot({ path: `/tmp/shot-overview-1440-dark.png` });
} finally { await browser.close(); await server.stop(); }
