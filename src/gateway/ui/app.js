// Switchyard dashboard. Plain JavaScript, no dependencies, served from the
// binary. The key is asked for once and kept in this tab's sessionStorage;
// the tray's "Open dashboard" hands it over in the URL's fragment
// (`/ui#key=...`), which never reaches a server and is taken off the
// address bar at once.
"use strict";

const KEY = "switchyard.key";
const $ = (selector) => document.querySelector(selector);
(function takeKeyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const handed = params.get("key");
  if (handed) {
    sessionStorage.setItem(KEY, handed);
    history.replaceState(null, "", location.pathname + location.search);
  }
})();
let origin = location.origin;
let accounts = [];
const COLORS = ["#3056d3", "#12805c", "#b54708", "#7a5af8", "#c11574", "#0e9384", "#667085", "#dc6803"];

function key() { return sessionStorage.getItem(KEY) || ""; }

function notice(text) {
  const el = $("#notice");
  el.hidden = !text;
  el.textContent = text || "";
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (key()) headers["Authorization"] = "Bearer " + key();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    notice("This gateway needs its API key (`switchyard key show` prints it): enter it at the top right.");
    throw new Error("unauthorized");
  }
  const body = await response.json();
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

function text(value) { return value === null || value === undefined ? "" : String(value); }
function ms(value) { return value === null || value === undefined ? "" : (value < 10 ? value.toFixed(2) : Math.round(value)) + " ms"; }
function cell(row, content, className) {
  const td = document.createElement("td");
  td.textContent = text(content);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

async function loadStatus() {
  const status = await api("/api/status");
  origin = status.origin || location.origin;
  const pill = $("#status");
  pill.textContent = `running on ${status.address} · ${status.accounts} account(s) · auth ${status.auth_mode}`;
  pill.className = "pill ok";
  $("#url-openai").textContent = origin + "/v1";
  $("#url-root").textContent = origin;
  $("#key-shown").textContent = key() ? key().slice(0, 7) + "…" + key().slice(-4) : "(enter it above)";
  renderSnippets();
  notice("");
}

function remaining(until) { return Math.max(0, Math.round(until - Date.now() / 1000)); }

// What an account's upstream last said is left: a bar per limit (the
// share left), "unknown" where it names no count (Gemini), the wait after a 429.
function quotaCell(row, account) {
  const td = cell(row, "");
  td.className = "quota";
  const now = Date.now();
  for (const reading of account.quota || []) {
    const line = document.createElement("div");
    line.className = "quota-line";
    line.append(reading.model + " ");
    for (const limit of reading.limits || []) {
      const part = document.createElement("span");
      part.className = "quota-limit";
      const known = limit.remaining !== undefined && limit.limit;
      const share = known ? Math.max(0, Math.min(1, limit.remaining / limit.limit)) : null;
      const bar = document.createElement("span");
      bar.className = "bar" + (share !== null && share < 0.1 ? " low" : "");
      const fill = document.createElement("i");
      fill.style.width = share === null ? "0" : Math.round(share * 100) + "%";
      bar.appendChild(fill);
      part.appendChild(bar);
      const left = limit.remaining === undefined ? "unknown" : limit.remaining.toLocaleString() + (limit.limit ? " / " + limit.limit.toLocaleString() : "");
      const reset = limit.reset_ms && limit.reset_ms > now ? ` (resets in ${Math.ceil((limit.reset_ms - now) / 1000)}s)` : "";
      part.append(` ${limit.kind.replace("_", " ")} ${left}${reset}`);
      line.appendChild(part);
    }
    if (!(reading.limits || []).length) line.append("remaining unknown");
    if (reading.exhausted_until_ms && reading.exhausted_until_ms > now) {
      line.append(` · rate limited ${Math.ceil((reading.exhausted_until_ms - now) / 1000)}s`);
    }
    td.appendChild(line);
  }
  if (!td.childNodes.length) td.textContent = "–";
}

function renderAccounts() {
  const body = $("#accounts tbody");
  body.textContent = "";
  for (const account of accounts) {
    const row = document.createElement("tr");
    cell(row, account.label || account.id).title = account.id;
    cell(row, account.provider);
    let state = account.state;
    if (account.over_budget) {
      state = account.reason;
    } else if (account.state === "cooling") {
      state = account.cooldowns
        .map((c) => `cooling ${remaining(c.until_unix)}s (${c.model === "*" ? "all models" : c.model})`)
        .join(", ");
    } else if (account.state === "disabled") {
      state = "disabled: " + text(account.reason);
    }
    const list = account.catalog;
    if (list && list.error) {
      state += ` · model list failed (${list.error})` + (list.models === null ? "" : `; ${list.models} models kept`);
    } else if (list && list.models !== null) {
      state += ` · ${list.models} models`;
    }
    cell(row, state, "state-" + account.state).title = state;
    quotaCell(row, account);
    cell(row, account.in_flight, "num");
    cell(row, account.requests, "num");
    cell(row, account.errors, "num");
    const actions = cell(row, "");
    const button = document.createElement("button");
    const disabled = account.state === "disabled";
    button.textContent = disabled ? "Enable" : "Disable";
    button.onclick = () => switchAccount(account.id, disabled ? "enable" : "disable");
    actions.appendChild(button);
    body.appendChild(row);
  }
}

async function loadAccounts() {
  accounts = (await api("/api/accounts")).accounts;
  renderAccounts();
}

function tokens(count) {
  if (count === null || count === undefined) return "";
  if (count >= 1000000) return (count / 1000000).toFixed(1).replace(/\.0$/, "") + "M";
  if (count >= 1000) return Math.round(count / 1000) + "k";
  return String(count);
}

async function loadModels() {
  const models = (await api("/api/models")).models;
  const body = $("#models tbody");
  body.textContent = "";
  for (const model of models) {
    const row = document.createElement("tr");
    cell(row, model.alias_of ? `${model.id} → ${model.alias_of}` : model.id);
    cell(row, tokens(model.context), "num");
    cell(row, tokens(model.output), "num");
    cell(row, model.accounts.map((a) => `${a.label} (${a.tier})`).join(", "));
    body.appendChild(row);
  }
}

async function switchAccount(id, action) {
  try {
    await api(`/api/accounts/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    await loadAccounts();
  } catch (error) {
    notice(`Could not ${action} the account: ${error.message}`);
  }
}

function logRow(record) {
  const row = document.createElement("tr");
  cell(row, new Date(record.time_ms).toLocaleTimeString());
  cell(row, record.status, record.status < 300 ? "status-ok" : "status-err");
  cell(row, record.client + (record.stream ? " (stream)" : ""));
  cell(row, record.key || "–");
  const served = record.served_model && record.served_model !== record.model ? `${record.model} → ${record.served_model}` : record.model;
  cell(row, record.fell_back ? served + " (fallback)" : served).title = record.fell_back ? "no account of the requested model could serve: the fallback chain's next model did" : "";
  cell(row, record.account || "–");
  cell(row, ms(record.total_ms), "num");
  cell(row, ms(record.overhead_ms), "num");
  cell(row, ms(record.ttfb_ms), "num");
  cell(row, `${record.input_tokens} / ${record.output_tokens} / ${record.cached_tokens}`, "num");
  cell(row, usd(record.cost_usd), "num cost");
  cell(row, record.attempts, "num");
  cell(row, record.error || "", "error").title = record.error || "";
  return row;
}

// The client key whose requests the log shows ("" for every request).
const keyFilter = () => $("#key-filter").value;
const shown = (record) => !keyFilter() || record.key === keyFilter();

async function loadKeys() {
  const names = (await api("/api/keys")).keys.map((k) => k.name);
  const select = $("#key-filter");
  const chosen = select.value;
  for (const option of [...select.options].slice(1)) option.remove();
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
  select.value = names.includes(chosen) ? chosen : "";
}

async function loadLogs() {
  const filter = keyFilter() ? "&key=" + encodeURIComponent(keyFilter()) : "";
  const records = (await api("/api/logs?limit=100" + filter)).records;
  const body = $("#log tbody");
  body.textContent = "";
  for (const record of records) body.appendChild(logRow(record));
}

// The live feed is read with fetch (not EventSource) so the key travels in
// a header, never in the URL.
async function follow() {
  const headers = key() ? { Authorization: "Bearer " + key() } : {};
  try {
    const response = await fetch("/api/events", { headers });
    if (!response.ok) throw new Error(response.statusText);
    $("#live").textContent = "live";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (!data) continue;
        const record = JSON.parse(data);
        if (!shown(record)) continue;
        const body = $("#log tbody");
        body.insertBefore(logRow(record), body.firstChild);
        while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
        loadAccounts().catch(() => {});
      }
    }
  } catch (error) {
    $("#live").textContent = "reconnecting…";
  }
  setTimeout(follow, 2000);
}

// A cost as people read it; null is a model with no known price.
function usd(cost) {
  if (cost === null || cost === undefined) return "unpriced";
  return "$" + (cost !== 0 && cost < 0.01 ? cost.toFixed(6) : cost.toFixed(4));
}

const TOKENS = (r) => r.input_tokens + r.output_tokens;
const COST = (r) => r.cost_usd || 0;

function drawChart(canvas, legend, rows, bucketMs, value = TOKENS, label = (max) => max.toLocaleString()) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  legend.textContent = "";
  const now = Date.now();
  const start = Math.floor((now - 24 * 3600e3) / bucketMs) * bucketMs;
  const buckets = Math.ceil((now - start) / bucketMs);
  const keys = [...new Set(rows.map((r) => r.key))];
  const totals = new Array(buckets).fill(0);
  for (const r of rows) {
    const i = Math.floor((r.bucket_ms - start) / bucketMs);
    if (i >= 0 && i < buckets) totals[i] += value(r);
  }
  const max = Math.max(value === COST ? 1e-9 : 1, ...totals);
  const width = (canvas.width - 40) / buckets;
  const height = canvas.height - 24;
  ctx.fillStyle = "#667085";
  ctx.font = "11px system-ui";
  ctx.fillText(label(max), 0, 10);
  ctx.fillText("24 h ago", 40, canvas.height - 4);
  ctx.fillText("now", canvas.width - 24, canvas.height - 4);
  const stacked = new Array(buckets).fill(0);
  keys.forEach((k, index) => {
    ctx.fillStyle = COLORS[index % COLORS.length];
    for (const r of rows.filter((row) => row.key === k)) {
      const i = Math.floor((r.bucket_ms - start) / bucketMs);
      if (i < 0 || i >= buckets) continue;
      const h = (value(r) / max) * height;
      ctx.fillRect(40 + i * width, height - stacked[i] - h, Math.max(1, width - 2), h);
      stacked[i] += h;
    }
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${COLORS[index % COLORS.length]}"></i>`;
    item.appendChild(document.createTextNode(k));
    legend.appendChild(item);
  });
}

async function loadUsage() {
  const [byModel, byAccount, totals] = await Promise.all([
    api("/api/usage/timeline?by=model&bucket=1h&since=24h"),
    api("/api/usage/timeline?by=account&bucket=1h&since=24h"),
    api("/api/usage?by=model"),
  ]);
  drawChart($("#chart-model"), $("#legend-model"), byModel.timeline, byModel.bucket_ms);
  drawChart($("#chart-account"), $("#legend-account"), byAccount.timeline, byAccount.bucket_ms);
  drawChart($("#chart-cost"), $("#legend-cost"), byModel.timeline, byModel.bucket_ms, COST, (max) => usd(max));
  const body = $("#usage tbody");
  body.textContent = "";
  for (const row of totals.usage) {
    const tr = document.createElement("tr");
    cell(tr, row.key);
    for (const n of [row.requests, row.errors, row.input_tokens, row.output_tokens, row.cached_tokens]) cell(tr, n.toLocaleString(), "num");
    const allUnpriced = row.unpriced === row.requests && !row.cost_usd;
    cell(tr, allUnpriced ? "unpriced" : usd(row.cost_usd) + (row.unpriced ? ` (+${row.unpriced} unpriced)` : ""), "num cost");
    body.appendChild(tr);
  }
}

// `switchyard connect` from here: POST /api/connect/TOOL (the gateway
// allows it from this machine only).
async function loadTools() {
  const { tools } = await api("/api/connect");
  const body = $("#tools tbody");
  body.textContent = "";
  for (const tool of tools) {
    const tr = document.createElement("tr");
    cell(tr, tool.title);
    cell(tr, tool.installed ? "yes" : "no");
    const state = { connected: "connected ✓", stale: "stale: " + tool.why, not_connected: "" }[tool.state];
    cell(tr, state, tool.state === "stale" ? "bad" : "");
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.textContent = tool.state === "connected" ? "Connect again" : "Connect";
    button.dataset.connect = tool.tool;
    td.appendChild(button);
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

async function connectTool(id) {
  try {
    const answer = await api("/api/connect/" + encodeURIComponent(id), { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    notice(answer.messages.join(" "));
  } catch (error) {
    if (error.message !== "unauthorized") notice("Not connected: " + error.message);
  }
  await loadTools().catch(() => {});
}

function renderSnippets() {
  const shownKey = key() || "sk-…";
  const snippets = {
    "curl": `curl ${origin}/v1/chat/completions \\\n  -H "Authorization: Bearer ${shownKey}" -H "Content-Type: application/json" \\\n  -d '{"model": "MODEL", "messages": [{"role": "user", "content": "Hello"}]}'`,
    "OpenAI SDK (Python)": `from openai import OpenAI\nclient = OpenAI(base_url="${origin}/v1", api_key="${shownKey}")`,
    "Anthropic SDK (Python)": `import anthropic\nclient = anthropic.Anthropic(base_url="${origin}", api_key="${shownKey}")`,
    "Gemini SDK (Python)": `from google import genai\nclient = genai.Client(api_key="${shownKey}", http_options={"base_url": "${origin}"})`,
    "Claude Code": `export ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_API_KEY=${shownKey}\nclaude`,
    "Codex (~/.codex/config.toml)": `model_provider = "switchyard"\n\n[model_providers.switchyard]\nname = "Switchyard"\nbase_url = "${origin}/v1"\nenv_key = "SWITCHYARD_API_KEY"\nwire_api = "responses"`,
  };
  const container = $("#snippets");
  container.textContent = "";
  for (const [title, code] of Object.entries(snippets)) {
    const h = document.createElement("h3");
    h.textContent = title;
    const pre = document.createElement("pre");
    pre.textContent = code;
    container.append(h, pre);
  }
}

async function copy(value) {
  try { await navigator.clipboard.writeText(value); } catch (_) { notice("Copy failed: select the text and copy it by hand."); }
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (target.dataset.copy) copy($("#" + target.dataset.copy).textContent);
  if ("copyKey" in target.dataset && key()) copy(key());
  if (target.dataset.connect) connectTool(target.dataset.connect);
});

$("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#key").value.trim();
  if (value) sessionStorage.setItem(KEY, value);
  $("#key").value = "";
  start();
});
$("#key-filter").addEventListener("change", () => loadLogs().catch(() => {}));
$("#forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); location.reload(); });

let started = false;
async function start() {
  try {
    await loadStatus();
    await loadKeys();
    await Promise.all([loadAccounts(), loadModels(), loadLogs(), loadUsage(), loadTools()]);
    if (!started) {
      started = true;
      follow();
      setInterval(() => loadAccounts().catch(() => {}), 5000);
      setInterval(renderAccounts, 1000);
      setInterval(() => loadUsage().catch(() => {}), 30000);
      setInterval(() => loadModels().catch(() => {}), 10000);
    }
  } catch (error) {
    if (error.message !== "unauthorized") notice("The gateway did not answer: " + error.message);
    $("#status").textContent = "not connected";
    $("#status").className = "pill bad";
  }
}
start();
