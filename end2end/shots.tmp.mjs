import { startServer, launchBrowser } from "./tests/harness.mjs";
const server = await startServer();
const browser = await launchBrowser();
try {
  for (const [w, name] of [[1440, "1440"], [1024, "1024"], [390, "390"]]) {
    const page = await browser.newPage({ viewport: { width: w, height: 900 } });
    for (const [path, tag] of [["/", "overview"], ["/findings", "findings"], ["/repos", "repos"]]) {
      await page.goto(server.url + path);
      await page.waitForLoadState("networkidle");
      const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      console.log(tag, w, "overflow", over);
      await page.screenshot({ path: `/tmp/shot-${tag}-${name}.png`, fullPage: true });
    }
    await page.close();
  }
} finally { await browser.close(); await server.stop(); }
