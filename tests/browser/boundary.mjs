// The browser boundary in a real browser: a page from another local origin
// tries to use and read a gateway that runs with the default auth (off), and
// must get nothing.
// Env: CHROMIUM (executable), GATEWAY (gateway origin), MOCK (mock upstream
// origin, with its /_mock/requests counter), ATTACKERS (space-separated
// origins that serve a blank page), SHOT (optional png path).
// Prints PASS/FAIL per attempt and exits 1 naming every attempt that got through.
import { createRequire } from "node:module";
const require = createRequire(process.env.NODE_PATH + "/");
const { chromium } = require("playwright-core");

const { CHROMIUM, GATEWAY, MOCK, ATTACKERS } = process.env;
const failures = [];
function check(ok, what) {
  console.log(`${ok ? "PASS" : "FAIL"}  ${what}`);
  if (!ok) failures.push(what);
}

async function upstreamRequests() {
  const response = await fetch(MOCK + "/_mock/requests");
  return (await response.json()).requests;
}

const CHAT = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "spend the accounts" }] });

// Each attempt runs in the attacker's page (playwright sends the function's
// source there: it sees only its argument) and returns a description of
// anything readable it got, or null.
const attempts = [
  {
    name: "text/plain fetch POST /v1/chat/completions (no-cors)",
    run: async ({ g, chat }) => {
      try {
        const r = await fetch(g + "/v1/chat/completions", {
          method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: chat,
        });
        return r.type === "opaque" ? null : `a ${r.type} response, status ${r.status}`;
      } catch { return null; }
    },
  },
  {
    name: "JSON fetch POST /v1/chat/completions (CORS)",
    run: async ({ g, chat }) => {
      try {
        const r = await fetch(g + "/v1/chat/completions", {
          method: "POST", headers: { "content-type": "application/json" }, body: chat,
        });
        const text = await r.text();
        return r.ok ? `status ${r.status}: ${text.slice(0, 80)}` : null;
      } catch { return null; }
    },
  },
  ...["/api/logs", "/api/status", "/metrics", "/api/accounts"].map((path) => ({
    name: `fetch GET ${path} (read)`,
    run: async ({ g, path: p }) => {
      try {
        const r = await fetch(g + p);
        const text = await r.text();
        return r.ok ? `status ${r.status}: ${text.slice(0, 80)}` : null;
      } catch { return null; }
    },
    path,
  })),
  {
    name: "form POST /v1/chat/completions (text/plain form)",
    run: async ({ g, chat }) => {
      // A text/plain form body "NAME=VALUE" that is the JSON request:
      // the name holds all of it but a closing `"}` in the value.
      const sink = document.createElement("iframe");
      sink.name = "sink";
      document.body.appendChild(sink);
      const form = document.createElement("form");
      form.method = "POST";
      form.enctype = "text/plain";
      form.target = "sink";
      form.action = g + "/v1/chat/completions";
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = chat.slice(0, -1) + ',"pad":"';
      input.value = '"}';
      form.appendChild(input);
      document.body.appendChild(form);
      const loaded = new Promise((resolve) => { sink.onload = resolve; setTimeout(resolve, 5000); });
      form.submit();
      await loaded;
      try {
        const text = sink.contentDocument?.body?.innerText;
        return text ? `the frame is readable: ${text.slice(0, 80)}` : null;
      } catch { return null; } // cross-origin frame: unreadable
    },
  },
  {
    name: "50 <img> GETs /v1beta/models?key=wrong-N (the brake flood)",
    run: async ({ g }) => {
      const loads = [];
      for (let n = 0; n < 50; n++) {
        const img = new Image();
        loads.push(new Promise((resolve) => { img.onload = img.onerror = resolve; setTimeout(resolve, 10000); }));
        img.src = `${g}/v1beta/models?key=wrong-${n}`;
        document.body.appendChild(img);
      }
      await Promise.all(loads);
      return null; // an image load reveals nothing; what the gateway answered is checked below
    },
  },
];

// The gateway's own requests before the attack (its model-list fetch at
// start) are not the page's: the counter must not move from here on.
const baseline = await upstreamRequests();

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"],
});
try {
  for (const attacker of ATTACKERS.split(" ").filter(Boolean)) {
    const page = await browser.newPage();
    // What the gateway answered each request of the attempt, as the network
    // saw it: the page itself may see only an opaque answer, and Chromium
    // hides from playwright's own events the answers it blocks (ORB blocks
    // the JSON an <img> gets), so this listens to the DevTools protocol.
    let answers = [];
    const sent = new Map();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    cdp.on("Network.requestWillBeSent", ({ requestId, request }) => {
      if (request.url.startsWith(GATEWAY) && request.method !== "OPTIONS") {
        sent.set(requestId, `${request.method} ${request.url.slice(GATEWAY.length)}`);
      }
    });
    cdp.on("Network.responseReceivedExtraInfo", ({ requestId, statusCode }) => {
      if (sent.has(requestId)) answers.push({ what: sent.get(requestId), status: statusCode });
    });
    await page.goto(attacker + "/");
    let reachedGateway = 0;
    for (const attempt of attempts) {
      answers = [];
      const before = await upstreamRequests();
      const read = await page.evaluate(attempt.run, { g: GATEWAY, chat: CHAT, path: attempt.path });
      // Let a request the page gave up on still arrive.
      await page.waitForTimeout(300);
      const reached = (await upstreamRequests()) - before;
      const served = answers.filter((a) => a.status >= 200 && a.status < 400);
      const why = [];
      reachedGateway += answers.length;
      if (read) why.push(`the page read ${read.replace(/\s+/g, " ")}`);
      if (reached > 0) why.push(`the mock upstream got ${reached} request(s)`);
      if (served.length > 0) why.push(`the gateway served ${served.length} (e.g. ${served[0].what} → ${served[0].status})`);
      check(why.length === 0, `from ${attacker}: ${attempt.name}${why.length ? " GOT THROUGH: " + why.join("; ") : " refused"}`);
    }
    // Without this, a gateway the browser cannot reach at all would pass.
    check(reachedGateway > 0, `from ${attacker}: the page did reach the gateway (${reachedGateway} answers on the wire)`);
    if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
    await page.close();
  }
} finally {
  await browser.close();
}
const total = (await upstreamRequests()) - baseline;
check(total === 0, `the mock upstream received no request from the pages at all (${total})`);
if (failures.length) {
  console.log(`\n${failures.length} attempt(s) got through:`);
  for (const failure of failures) console.log("  - " + failure);
  process.exit(1);
}
