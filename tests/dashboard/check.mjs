// Drives the dashboard in headless Chromium and checks what it shows.
// Env: CHROMIUM (executable), BASE (gateway origin), KEY (gateway key), SHOT (png path),
// TOOLS_HOME (the gateway's HOME, where Connect a tool writes).
import { createRequire } from "node:module";
const require = createRequire(process.env.NODE_PATH + "/");
const { chromium } = require("playwright-core");

import { readFileSync } from "node:fs";
const { CHROMIUM, BASE, KEY, SHOT, TOOLS_HOME } = process.env;
const failures = [];
function check(ok, what) {
  console.log(`${ok ? "PASS" : "FAIL"}  ${what}`);
  if (!ok) failures.push(what);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1500 } });
  const external = [];
  page.on("request", (request) => { if (!request.url().startsWith(BASE)) external.push(request.url()); });
  await page.goto(BASE + "/ui");
  await page.waitForSelector("#notice:not([hidden])", { timeout: 10000 });
  check((await page.textContent("#notice")).includes("key"), "without the key, the page asks for it");

  await page.fill("#key", KEY);
  await page.click("#key-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("running"), null, { timeout: 10000 });
  check((await page.textContent("#status")).includes("2 account(s)"), "the status line counts the accounts");
  check((await page.textContent("#url-openai")) === BASE + "/v1", "the OpenAI base URL is the gateway's");

  await page.waitForSelector("#accounts tbody tr:nth-child(2)", { timeout: 10000 });
  const accounts = await page.textContent("#accounts tbody");
  check(accounts.includes("work") && accounts.includes("busy"), "both accounts are listed");
  check(/cooling \d+s/.test(accounts), "the cooling account shows its timer");
  check((await page.textContent("#accounts thead")).includes("Quota left"), "the accounts table has a quota column");
  const busy = await page.$$eval("#accounts tbody tr", (rows) => rows.map((r) => r.textContent).find((t) => t.includes("busy")) || "");
  check(/remaining unknown · rate limited \d+s/.test(busy), "a 429's wait shows as the quota, its count unknown, never invented");
  const work = await page.$$eval("#accounts tbody tr", (rows) => rows.map((r) => r.textContent).find((t) => t.startsWith("work")) || "");
  check(work.includes("tokens 118,000 / 160,000") && work.includes("requests 4,999 / 5,000"), "the upstream's x-ratelimit headers show as what is left");
  const bars = await page.$$eval("#accounts .bar i", (fills) => fills.map((f) => f.style.width));
  check(bars.includes("74%"), `a quota bar is drawn to the share left (${bars.join(", ")})`);

  // The mock upstream's own list (examples/mock_upstream.rs), fetched by the gateway.
  await page.waitForFunction(() => document.querySelector("#models tbody").textContent.includes("gpt-4o-mini"), null, { timeout: 15000 })
    .catch(() => {});
  const models = await page.textContent("#models tbody");
  check(models.includes("gpt-4o-mini") && models.includes("work (1)"), "the models table shows the catalogue with account and tier");

  await page.waitForSelector("#log tbody tr", { timeout: 10000 });
  const before = await page.$$eval("#log tbody tr", (rows) => rows.length);
  check(before >= 2, `the requests made before are listed (${before})`);
  check((await page.textContent("#log tbody")).includes("gpt-4o"), "the log shows the model");
  check((await page.textContent("#log tbody")).includes("fallback-check → gpt-4o (fallback)"), "a call that fell back is marked");

  // A request made now arrives through the live feed.
  await fetch(BASE + "/v1/chat/completions", {
    method: "POST",
    headers: { authorization: "Bearer " + KEY, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-live-check", messages: [{ role: "user", content: "live" }] }),
  });
  await page.waitForFunction(() => document.querySelector("#log tbody").textContent.includes("gpt-live-check"), null, { timeout: 10000 });
  check(true, "a request made while the page is open appears live");
  const row = await page.textContent("#log tbody tr:first-child");
  check(row.includes("work") && row.includes("200"), "the live row names the account and status");

  // The client key a request came with is shown, and the filter keeps to it.
  check((await page.textContent("#log tbody")).includes("dashboard-check"), "the log names the client key of a request");
  await page.selectOption("#key-filter", "dashboard-check");
  await page.waitForFunction(() => document.querySelectorAll("#log tbody tr").length === 1, null, { timeout: 10000 });
  const keyed = await page.textContent("#log tbody");
  check(keyed.includes("gpt-keyed-check") && !keyed.includes("gpt-live-check"), "the key filter shows only that key's requests");
  await page.selectOption("#key-filter", "");
  await page.waitForFunction(() => document.querySelectorAll("#log tbody tr").length > 1, null, { timeout: 10000 });
  check(true, "clearing the filter shows every request again");

  await page.waitForSelector("#usage tbody tr", { timeout: 10000 });
  check((await page.textContent("#usage tbody")).includes("gpt-4o"), "usage lists the models");
  const usageRows = await page.$$eval("#usage tbody tr", (rows) => rows.map((r) => r.textContent));
  check(usageRows.some((t) => t.startsWith("gpt-4o") && /\$\d+\.\d+/.test(t)), "usage shows what a priced model cost");
  check(usageRows.some((t) => t.startsWith("gpt-keyed-check") && t.endsWith("unpriced")), "a model with no price is marked unpriced");
  const logRows = await page.$$eval("#log tbody tr", (rows) => rows.map((r) => r.textContent));
  check(logRows.some((t) => /\$\d+\.\d+/.test(t)) && logRows.some((t) => t.includes("unpriced")), "the log has a cost column");
  check((await page.textContent("#legend-cost")).includes("gpt-4o"), "the cost chart draws the priced model");
  check((await page.textContent("#snippets")).includes(BASE + "/v1"), "the snippets use the real base URL");

  // Connect a tool: every tool listed; Codex's button writes its config.
  await page.waitForSelector("#tools tbody tr:nth-child(7)", { timeout: 10000 });
  check((await page.textContent("#tools tbody")).includes("Claude Code"), "Connect a tool lists the tools");
  await page.click("#tools button[data-connect=codex]");
  await page.waitForFunction(() => document.querySelector("#notice").textContent.includes("Codex now uses the gateway"), null, { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#tools tbody tr")].some((tr) => tr.textContent.startsWith("Codex") && tr.textContent.includes("connected")), null, { timeout: 10000 });
  let codexConfig = "";
  try { codexConfig = readFileSync(TOOLS_HOME + "/.codex/config.toml", "utf8"); } catch (_) {}
  check(codexConfig.includes(`base_url = "${BASE}/v1"`), "the Codex button wrote Codex's config for this gateway, and the row says connected");
  check(external.length === 0, `nothing is fetched from elsewhere (${external.join(", ")})`);

  await page.screenshot({ path: SHOT, fullPage: true });

  // The tray's "Open dashboard" hands the key over in the fragment: the
  // page works at once, and the key leaves the address bar.
  const handed = await browser.newPage();
  await handed.goto(BASE + "/ui#key=" + encodeURIComponent(KEY));
  await handed.waitForFunction(() => document.querySelector("#status").textContent.startsWith("running"), null, { timeout: 10000 });
  check(true, "a key handed over in the URL fragment is used without typing it");
  check(!handed.url().includes(KEY) && !handed.url().includes("#"), `the key leaves the address bar (${handed.url().replace(KEY, "<key>")})`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log("dashboard: all checks passed");
