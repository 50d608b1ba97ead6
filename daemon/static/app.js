// Floorlink host stand: the floor, the waitlist and reservations, live from the daemon over SSE.
"use strict";

const STATUS_WORDS = {
  available: "Available", reserved: "Reserved", seated: "Seated",
  check_dropped: "Check dropped", bussing: "Bussing", blocked: "Blocked",
};
const LATE_MINUTES = { seated: 90, check_dropped: 20, bussing: 10 };
const TOKEN_KEY = "floorlink.token";
const TOKEN_TTL_MS = 12 * 3600 * 1000;

const state = { tables: new Map(), waitlist: [], reservations: [], status: null, connected: false };
const $ = (id) => document.getElementById(id);

// ---- credential: this tablet's pairing (kept until revoked), or a typed staff token (a shift) --
function token() {
  try {
    const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
    if (saved && (saved.device || Date.now() - saved.at < TOKEN_TTL_MS)) return saved.token;
  } catch (_) { /* ignore */ }
  return "";
}
function saveToken(t, device) {
  localStorage.setItem(TOKEN_KEY, JSON.stringify({ token: t, at: Date.now(), device: !!device }));
}

let pinWaiters = [];
function askPin() {
  return new Promise((resolve) => {
    pinWaiters.push(resolve);
    const dlg = $("pin-dialog");
    if (!dlg.open) { $("pin-error").textContent = ""; dlg.showModal(); $("pin").focus(); }
  });
}
$("pin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const value = $("pin").value.trim();
  let tok = "";
  let device = false;
  if (/^\d{6,12}$/.test(value)) {
    // Pair this tablet: the PIN buys its own credential, kept until someone revokes it.
    const r = await fetch("/api/v1/devices", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pin: value, name: "Host stand" }),
    }).catch(() => null);
    if (!r) { $("pin-error").textContent = "Cannot reach Floorlink. Try again in a moment."; return; }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { $("pin-error").textContent = body.error || "That did not work."; return; }
    tok = body.token;
    device = true;
  } else {
    tok = value; // a staff token typed in directly
  }
  saveToken(tok, device);
  $("pin").value = "";
  $("pin-dialog").close();
  const waiters = pinWaiters; pinWaiters = [];
  waiters.forEach((w) => w(tok));
  connect();
});

async function api(method, path, body) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = { "Content-Type": "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined })
      .catch(() => { throw new Error("Cannot reach Floorlink right now: check the floor, then try again."); });
    if (r.status === 401) { localStorage.removeItem(TOKEN_KEY); await askPin(); continue; }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || `Floorlink answered ${r.status}`);
    return data;
  }
  throw new Error("Not signed in.");
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 3500);
}
async function act(method, path, body, done) {
  try { const r = await api(method, path, body); if (done) toast(done); return r; }
  catch (e) { toast(e.message); return null; }
}

// ---- live stream --------------------------------------------------------------------------
let source = null;
let lostTimer = null;
function connect() {
  if (source) source.close();
  const t = token();
  source = new EventSource(`/api/v1/stream${t ? `?token=${encodeURIComponent(t)}` : ""}`);
  source.addEventListener("snapshot", (ev) => {
    const s = JSON.parse(ev.data);
    state.tables = new Map(s.tables.map((t) => [t.table, t]));
    state.waitlist = s.waitlist; state.reservations = s.reservations; state.status = s.status;
    setConnected(true); renderAll(); loadDevices();
  });
  source.addEventListener("table", (ev) => {
    const t = JSON.parse(ev.data);
    state.tables.set(t.table, { ...(state.tables.get(t.table) || {}), ...t });
    renderTable(t.table); renderCounts();
  });
  source.addEventListener("floor", (ev) => { // the floor changed (editor, reload): redraw it all
    state.tables = new Map(JSON.parse(ev.data).map((t) => [t.table, t]));
    renderFloor(); renderCounts();
  });
  source.addEventListener("servers", () => loadDevices());
  source.addEventListener("waitlist", (ev) => { state.waitlist = JSON.parse(ev.data); renderWaitlist(); });
  source.addEventListener("reservations", (ev) => { state.reservations = JSON.parse(ev.data); renderReservations(); });
  source.addEventListener("status", (ev) => { state.status = JSON.parse(ev.data); renderBanners(); renderReservations(); renderCloud(); renderQuoteAccuracy(); });
  source.onopen = () => setConnected(true);
  source.onerror = async () => {
    setConnected(false);
    if (source.readyState === EventSource.CLOSED) {
      // Closed for good: most likely 401. Check, ask for the PIN, and reconnect.
      const r = await fetch("/api/v1/status", { headers: token() ? { Authorization: `Bearer ${token()}` } : {} })
        .catch(() => null);
      if (r && r.status === 401) { localStorage.removeItem(TOKEN_KEY); await askPin(); }
      else setTimeout(connect, 2000);
    }
  };
}
function setConnected(ok) {
  clearTimeout(lostTimer);
  if (ok) { state.connected = true; renderBanners(); return; }
  lostTimer = setTimeout(() => { state.connected = false; renderBanners(); }, 1500);
}

// ---- rendering ----------------------------------------------------------------------------
function minutesSince(iso) {
  if (!iso) return null;
  return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
}
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function renderAll() {
  $("site-name").textContent = state.status?.site_name || "Floorlink";
  tick();
  renderLegend(); renderFloor(); renderWaitlist(); renderReservations(); renderCounts(); renderBanners();
}

function renderLegend() {
  $("legend").innerHTML = Object.entries(STATUS_WORDS)
    .map(([k, w]) => `<span style="--c: var(--${k})">${w}</span>`).join("");
}

// ---- the floor: a plan that never overlaps, a grid when it cannot fit, a list on a phone -------
// Tile sizes in px, set inline so the layout arithmetic and what is drawn always agree.
const TILE = { square: [166, 124], rect: [204, 124], round: [172, 132] };
const GAP = 10;                 // px between two tiles at the least
const LIST_BELOW = 600;         // px of floor width: below it, a list grouped by section
const MAX_PLAN_HEIGHTS = 3;     // a plan taller than this many screens becomes a grid
const ATTENTION = { bussing: 1, check_dropped: 2, seated: 3, reserved: 4, available: 5, blocked: 6 };

function tileSize(t) { return TILE[t.shape] || TILE.square; }

function floorMode(tables, width) {
  if (width < LIST_BELOW) return { mode: "list" };
  if (!tables.length || !tables.every((t) => t.x != null && t.y != null)) return { mode: "grid" };
  const plan = planLayout(tables, width, Math.max(320, window.innerHeight - 160));
  return plan ? { mode: "plan", plan } : { mode: "grid" };
}

// Scale the configured 0-100 positions to the width there is, then make the plan as tall as it
// must be so that every pair of tiles is apart on at least one axis. Two tiles on the same row
// that cannot be apart across the width make the plan impossible: the caller falls back to a grid.
function planLayout(tables, width, minHeight) {
  const xs = tables.map((t) => t.x), ys = tables.map((t) => t.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const norm = (v, lo, hi) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const maxW = Math.max(...tables.map((t) => tileSize(t)[0]));
  const maxH = Math.max(...tables.map((t) => tileSize(t)[1]));
  const padX = maxW / 2 + GAP, padY = maxH / 2 + GAP;
  const innerW = width - 2 * padX;
  if (innerW <= 0) return null;
  const pts = tables.map((t) => [norm(t.x, x0, x1), norm(t.y, y0, y1), ...tileSize(t)]);
  let innerH = Math.max(0, minHeight - 2 * padY);
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const [xa, ya, wa, ha] = pts[i], [xb, yb, wb, hb] = pts[j];
      if (Math.abs(xa - xb) * innerW >= (wa + wb) / 2 + GAP) continue;
      const dy = Math.abs(ya - yb);
      if (dy === 0) return null;
      innerH = Math.max(innerH, ((ha + hb) / 2 + GAP) / dy);
    }
  }
  if (innerH + 2 * padY > MAX_PLAN_HEIGHTS * Math.max(window.innerHeight, 480)) return null;
  const pos = new Map(tables.map((t, i) => [t.table, [padX + pts[i][0] * innerW, padY + pts[i][1] * innerH]]));
  return { height: Math.ceil(innerH + 2 * padY), pos };
}

function attention(t) {
  const mins = minutesSince(t.since);
  const late = mins != null && LATE_MINUTES[t.status] != null && mins >= LATE_MINUTES[t.status];
  return (late ? 0 : ATTENTION[t.status] || 9);
}

let lastLayout = "";
function renderFloor() {
  const floor = $("floor");
  const tables = [...state.tables.values()];
  const width = $("floor-wrap").clientWidth - 20;
  const { mode, plan } = floorMode(tables, width);
  floor.className = `floor ${mode}`;
  floor.style.height = plan ? `${plan.height}px` : "";
  floor.innerHTML = "";
  const sections = new Map();
  for (const t of tables) {
    if (!sections.has(t.section)) sections.set(t.section, []);
    sections.get(t.section).push(t);
  }
  for (const [name, list] of sections) {
    if (mode !== "plan") {
      const label = document.createElement("h3");
      label.className = "section-label";
      label.textContent = name;
      floor.appendChild(label);
    }
    if (mode === "list") list.sort((a, b) => attention(a) - attention(b) || a.table.localeCompare(b.table, undefined, { numeric: true }));
    for (const t of list) {
      const el = document.createElement("button");
      el.type = "button";
      el.id = `table-${t.table}`;
      el.dataset.table = t.table;
      el.dataset.testid = "table";
      if (plan) {
        const [cx, cy] = plan.pos.get(t.table);
        const [w, h] = tileSize(t);
        Object.assign(el.style, { left: `${cx - w / 2}px`, top: `${cy - h / 2}px`, width: `${w}px`, height: `${h}px` });
      }
      el.addEventListener("click", () => openTable(t.table));
      floor.appendChild(el);
      renderTable(t.table);
    }
  }
  lastLayout = `${mode}:${width}:${tables.length}`;
}
new ResizeObserver(() => {
  const width = $("floor-wrap").clientWidth - 20;
  if (state.tables.size && lastLayout !== `${floorMode([...state.tables.values()], width).mode}:${width}:${state.tables.size}`) renderFloor();
}).observe($("floor-wrap"));

function renderTable(id) {
  const t = state.tables.get(id);
  const el = document.getElementById(`table-${id}`);
  if (!t || !el) { if (t) renderFloor(); return; }
  const mins = minutesSince(t.since);
  const late = mins != null && LATE_MINUTES[t.status] != null && mins >= LATE_MINUTES[t.status];
  if ($("floor").classList.contains("list") && el.dataset.status && el.dataset.status !== t.status) {
    renderFloor(); return; // a list is ordered by what needs attention: re-order it
  }
  el.className = `table ${t.shape || "square"}${late ? " late" : ""}`;
  el.dataset.status = t.status;
  el.style.setProperty("--c", `var(--${t.status})`);
  const party = t.party;
  const size = party?.size ?? "?";
  const who = party ? `${party.name ? `${esc(party.name)} (${size})` : `${size} guests`}${party.vip ? " ★" : ""}`
    : (t.status === "available" ? `${t.seats} seats` : t.blocked_reason ? esc(t.blocked_reason) : "");
  const course = t.course ? ` · ${t.course}` : "";
  el.setAttribute("aria-label", `Table ${id}, ${STATUS_WORDS[t.status]}`);
  const showMins = mins != null && t.status !== "available";
  el.innerHTML = `<span class="id">${esc(t.name || id)}</span>`
    + `<span class="st">${STATUS_WORDS[t.status]}${esc(course)}</span>`
    + `<span class="who">${who}</span>`
    + `<span class="srv">${t.server ? `Server ${esc(t.server)}` : ""}</span>`
    + `<span class="mins">${showMins ? `${mins} min${late ? " · LATE" : ""}` : ""}</span>`;
}

function renderCounts() {
  const counts = {};
  for (const t of state.tables.values()) counts[t.status] = (counts[t.status] || 0) + 1;
  const covers = [...state.tables.values()].reduce((n, t) => n + (t.party?.size || 0), 0);
  $("counts").innerHTML = Object.entries(STATUS_WORDS)
    .filter(([k]) => counts[k]).map(([k, w]) => `<span>${w} <b>${counts[k]}</b></span>`).join("")
    + `<span>Guests seated <b>${covers}</b></span>`;
}

// The waitlist opens on the parties not yet seated (paged ones too: they are on their way to the
// stand and need their Seat button at hand), longest first, under a one-line summary; only the
// paged, and the done, are a tap away.
let waitlistView = "waiting";
const WAITLIST_VIEWS = {
  waiting: (e) => e.status === "waiting" || e.status === "paged",
  paged: (e) => e.status === "paged",
  done: (e) => e.status !== "waiting" && e.status !== "paged",
};
for (const tab of document.querySelectorAll(".tabs [data-view]")) {
  tab.addEventListener("click", () => { waitlistView = tab.dataset.view; renderWaitlist(); });
}

function waitedOf(e) {
  const active = e.status === "waiting" || e.status === "paged";
  return active ? (minutesSince(e.added_at) ?? 0) : (e.waited_minutes ?? minutesSince(e.added_at) ?? 0);
}

/** Quote accuracy (issue 18) from /api/v1/status `quotes`: the latest service day's MAE, bias
 *  (quote minus wait) and share within 3 minutes, and the same per party size over the week. */
function renderQuoteAccuracy() {
  const q = state.status?.quotes;
  const el = $("wl-accuracy");
  if (!el) return;
  const days = q?.by_night ? Object.keys(q.by_night).sort() : [];
  el.hidden = !q || !q.quotes || !days.length;
  if (el.hidden) { el.textContent = ""; return; }
  const fmt = (a) => `MAE ${a.mae_minutes} min, bias ${a.bias_minutes > 0 ? "+" : ""}${a.bias_minutes}, ${Math.round(a.within_3_min * 100)}% within 3 min`;
  const day = days[days.length - 1];
  const sizes = Object.entries(q.by_size || {}).map(([s, a]) => `${s}: ${a.mae_minutes}`).join(", ");
  el.textContent = `Quotes ${day}: ${fmt(q.by_night[day])} (${q.by_night[day].quotes} parties)`
    + (sizes ? `; MAE by party size ${sizes} min` : "");
}

function renderWaitlist() {
  const list = $("waitlist");
  const active = state.waitlist.filter((e) => e.status === "waiting" || e.status === "paged");
  $("wl-count").textContent = active.length;
  const waiting = state.waitlist.filter(WAITLIST_VIEWS.waiting);
  const paged = waiting.filter((e) => e.status === "paged").length;
  const longest = Math.max(0, ...waiting.map(waitedOf));
  const nextQuote = waiting.length ? waiting.reduce((a, b) => (waitedOf(a) >= waitedOf(b) ? a : b)).quoted_minutes : null;
  $("wl-summary").textContent = waiting.length
    ? `${waiting.length} waiting${paged ? ` (${paged} paged)` : ""}, longest ${longest} min`
      + `${nextQuote != null ? `, next quote ${nextQuote} min` : ""}`
    : "Nobody is waiting.";
  renderQuoteAccuracy();
  for (const tab of document.querySelectorAll(".tabs [data-view]")) {
    const n = state.waitlist.filter(WAITLIST_VIEWS[tab.dataset.view]).length;
    tab.setAttribute("aria-selected", String(tab.dataset.view === waitlistView));
    tab.textContent = `${tab.dataset.view[0].toUpperCase()}${tab.dataset.view.slice(1)} (${n})`;
  }
  const shown = state.waitlist.filter(WAITLIST_VIEWS[waitlistView]).sort((a, b) => waitedOf(b) - waitedOf(a));
  if (!shown.length) { list.innerHTML = `<li class="empty">No party here.</li>`; return; }
  list.innerHTML = "";
  for (const e of shown) {
    const li = document.createElement("li");
    li.dataset.entry = e.id;
    li.dataset.status = e.status;
    li.className = e.status === "paged" ? "paged" : (e.status === "waiting" ? "" : "done");
    const active = e.status === "waiting" || e.status === "paged";
    const waited = waitedOf(e);
    const over = active && e.quoted_minutes != null && waited > e.quoted_minutes;
    li.innerHTML = `<div><b>${esc(e.name)}</b> · ${e.party_size}`
      + `<div class="meta">${e.status}${e.pager ? ` · pager ${e.pager}` : ""}${deliveryText(e)} · quoted ${e.quoted_minutes ?? "?"} min`
      + ` · <span class="${over ? "over" : ""}">waited ${waited} min</span>${e.table ? ` · table ${esc(e.table)}` : ""}`
      + `${active && e.estimate_minutes != null ? ` · <span data-testid="estimate">now about ${e.estimate_minutes} min</span>` : ""}`
      + `${e.running_late ? ` · <span class="running-late" data-testid="running-late">running late: tell them</span>` : ""}</div></div>`;
    if (active) {
      const btns = document.createElement("div");
      btns.className = "btns";
      btns.append(
        button(e.status === "paged" ? "Page again" : "Page", "", () => act("POST", `/api/v1/waitlist/${e.id}/page`, null, `Paging ${e.name}`), "page"),
        button("Seat", "primary", () => chooseTable(e), "seat"),
        button("Left", "danger", () => act("POST", `/api/v1/waitlist/${e.id}/left`, null, `${e.name} marked left`), "left"),
      );
      li.appendChild(btns);
    }
    list.appendChild(li);
  }
}

// Where the latest page got (docs/pagers.md), on the row, so the host sees a page that failed.
const DELIVERY_WORDS = {
  queued: "page queued", written: "page sent to the transmitter", acknowledged: "transmitter took the page",
  transmitted: "page transmitted", retrying: "page retrying", failed: "PAGE FAILED", expired: "page expired",
};
function deliveryText(e) {
  let out = "";
  if (e.delivery) {
    const bad = e.delivery === "failed" || e.delivery === "expired";
    const title = e.delivery_detail ? ` title="${esc(e.delivery_detail)}"` : "";
    out += ` · <span class="delivery${bad ? " bad" : ""}" data-testid="delivery" data-delivery="${esc(e.delivery)}"${title}>`
      + `${DELIVERY_WORDS[e.delivery] || esc(e.delivery)}${bad && e.delivery_detail ? `: ${esc(e.delivery_detail)}` : ""}</span>`;
  }
  if (e.reply === "on_my_way") out += " · <b>on the way</b>";
  return out;
}

function renderConflicts() {
  const conflicts = state.status?.conflicts || [];
  return conflicts.slice(0, 3).map((c) => `<li class="conflict" data-testid="conflict"><div><b>Conflict</b> · `
    + `${esc(c.kind.replace(/_/g, " "))}${c.table ? ` · table ${esc(c.table)}` : ""} · ${esc(c.reservation)}`
    + `<div class="meta">${esc(c.resolution)}</div></div></li>`).join("");
}

function linkText(r) {
  const bits = [];
  if (r.arrived) bits.push(`<b>${r.arrived} of ${r.party_size ?? "?"} here</b>`);
  if (r.check) {
    const how = r.linked_by === "host" ? "linked by host"
      : `auto${r.link_confidence != null ? ` ${Math.round(r.link_confidence * 100)}%` : ""}`;
    bits.push(`<span class="linked" data-testid="res-check">check ${esc(r.check)} (${how})</span>`);
  }
  return bits.length ? ` · ${bits.join(" · ")}` : "";
}

// A returning guest's visit summary from their profile: visits, last, average, favourites.
function visitText(g) {
  if (!g || !g.visits) return "";
  const bits = [`${g.visits} visit${g.visits === 1 ? "" : "s"}`, `last ${esc(g.last_visit)}`, `avg $${esc(g.average_check)}`];
  if (g.favourites.length) bits.push(esc(g.favourites.join(", ")));
  if (g.allergies) bits.push(`<b>allergies: ${esc(g.allergies)}</b>`);
  return `<div class="meta visits" data-testid="visit-summary">${bits.join(" · ")}</div>`;
}

function renderReservations() {
  const list = $("reservations");
  if (!state.reservations.length) { list.innerHTML = renderConflicts() + `<li class="empty">No reservations in the next hours.</li>`; return; }
  list.innerHTML = renderConflicts();
  for (const r of state.reservations) {
    const li = document.createElement("li");
    li.dataset.reservation = r.id;
    li.innerHTML = `<div><b>${esc(r.name)}</b> · ${r.party_size}${r.vip ? " ★" : ""}`
      + `<div class="meta">${new Date(r.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: state.status?.timezone || undefined })}`
      + `${r.table ? ` · table ${esc(r.table)}${r.held ? " (held)" : ""}` : ""} · ${esc(r.status)}${linkText(r)}</div>${visitText(r.guest)}</div>`;
    const btns = document.createElement("div");
    btns.className = "btns";
    btns.append(button(r.check ? "Relink" : "Link check", "", () => chooseCheck(r), "link"));
    if (r.status !== "seated") btns.append(button("Partly here", "", () => choosePartial(r), "partial"));
    li.appendChild(btns);
    list.appendChild(li);
  }
}

// ---- devices: the pager transmitter (with a test page) and what the receipt printers printed --
async function loadDevices() {
  if (!state.connected) return;
  try {
    const [pager, receipts, terminals, servers] = await Promise.all(
      [api("GET", "/api/v1/pager"), api("GET", "/api/v1/receipts"), api("GET", "/api/v1/terminals"), api("GET", "/api/v1/servers")]);
    renderPager(pager); renderReceipts(receipts); renderTerminals(terminals); renderCloud(); renderServers(servers);
  } catch (_) { /* shown again on the next round */ }
}
const FINAL = new Set(["transmitted", "failed", "expired"]);
function renderPager(p) {
  const el = $("pager-state");
  $("pager-test").hidden = p.state === "disabled";
  if (p.state === "disabled") { el.textContent = "No pager transmitter is set up on this box."; return; }
  el.innerHTML = `Pager transmitter (${esc(p.protocol)} on ${esc(p.port)}): `
    + `<span class="${p.state === "ok" ? "ok" : "bad"}">${p.state === "ok" ? "working" : "not working"}</span>`
    + `${p.detail ? ` · ${esc(p.detail)}` : ""} · ${p.sent} sent, ${p.failed} failed`;
  const last = (p.tests || [])[0];
  const out = $("pager-test-state");
  if (!last) { out.textContent = ""; return; }
  out.dataset.delivery = last.delivery;
  out.textContent = `Test page to pager ${last.pager}: ${DELIVERY_WORDS[last.delivery] || last.delivery}`
    + `${last.detail ? ` (${last.detail})` : ""}`;
}
// ---- servers for the shift: who has which tables, and covers tonight to balance the next seat --
function renderServers(servers) {
  const list = $("servers");
  const sections = [...new Set([...state.tables.values()].map((t) => t.section))];
  const box = $("assign-sections");
  if (box.dataset.sections !== sections.join("|")) {
    box.dataset.sections = sections.join("|");
    box.innerHTML = `<legend>Sections</legend>` + sections.map((s) =>
      `<label><input type="checkbox" name="sections" value="${esc(s)}" data-testid="assign-section-${esc(s)}"> ${esc(s)}</label>`).join("");
  }
  if (!servers.length) { list.innerHTML = `<li class="empty">No server assigned yet.</li>`; return; }
  list.innerHTML = "";
  for (const s of [...servers].sort((a, b) => a.covers - b.covers || a.server.localeCompare(b.server))) {
    const li = document.createElement("li");
    li.dataset.server = s.server;
    li.innerHTML = `<div><b>${esc(s.server)}</b> · <span data-testid="server-covers">${s.covers} covers</span>`
      + `<div class="meta">${s.tables.length ? `tables ${s.tables.map(esc).join(", ")}` : "no tables assigned"}`
      + `${s.sections.length ? ` (${s.sections.map(esc).join(", ")})` : ""} · ${s.open_checks} open checks</div></div>`;
    if (s.tables.length) {
      li.append(button("End shift", "", async () => {
        if (await act("POST", "/api/v1/servers", { server: s.server }, `${s.server}'s tables released`)) loadDevices();
      }, "server-end"));
    }
    list.appendChild(li);
  }
}
$("assign").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const server = f.get("server").trim();
  const tables = f.get("tables").split(/[\s,;]+/).map((t) => t.trim()).filter(Boolean);
  const sections = f.getAll("sections");
  const r = await act("POST", "/api/v1/servers", { server, tables, sections });
  if (r) { toast(`${r.server}: tables ${r.tables.join(", ") || "none"}`); ev.target.reset(); loadDevices(); }
});

function clockOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: state.status?.timezone || undefined });
}
function renderRejections() {
  const bySource = Object.entries(state.status?.rejections || {});
  $("rejections").innerHTML = bySource.map(([source, r]) => `<li data-source="${esc(source)}"><div>`
    + `<b>${esc(source.replace(/^input\.([^.]+)\./, "$1:"))}</b>: ${r.count} record${r.count === 1 ? "" : "s"} could not be placed`
    + `<div class="meta">last: ${esc(r.last)}</div></div></li>`).join("");
}
function renderCloud() {
  renderRejections();
  const s = state.status;
  const el = $("cloud-state");
  if (!s || s.cloud === "disabled") { el.textContent = "No cloud is set up: the floor runs on the LAN only."; return; }
  const out = s.outbox?.cloud || {};
  el.innerHTML = `Cloud: <span class="${s.cloud === "ok" ? "ok" : "bad"}">${s.cloud === "ok" ? "connected" : "not reachable"}</span>`
    + ` · backlog ${out.pending ?? 0} event${out.pending === 1 ? "" : "s"}`
    + `${out.pending ? `, oldest ${Math.round((out.oldest_age_seconds || 0) / 60)} min` : ""}${out.dead ? ` · ${out.dead} refused` : ""}`;
}
function renderTerminals(terminals) {
  const list = $("terminals");
  if (!terminals.length) { list.innerHTML = `<li class="empty">No POS terminal has sent anything yet.</li>`; return; }
  list.innerHTML = "";
  for (const t of terminals) {
    const li = document.createElement("li");
    li.dataset.terminal = t.terminal;
    li.innerHTML = `<div><b>${esc(t.terminal)}</b>`
      + `<div class="meta">${t.last_event_at ? `last ${esc(t.last_type || "event")} at ${clockOf(t.last_event_at)}` : "nothing yet"}`
      + ` · ${t.events} events · <span class="${t.errors ? "over" : ""}" data-testid="terminal-errors">${t.errors} errors</span>`
      + `${t.last_error ? ` · last: ${esc(t.last_error)}` : ""}</div></div>`;
    if (t.registered) {
      li.append(button("Remove", "danger", async () => {
        if (!confirm(`Remove terminal ${t.terminal}? It can no longer send to Floorlink.`)) return;
        if (await act("DELETE", `/api/v1/terminals/${encodeURIComponent(t.terminal)}`, null, `Terminal ${t.terminal} removed`)) loadDevices();
      }, "terminal-remove"));
    }
    list.appendChild(li);
  }
}
$("add-terminal").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = new FormData(ev.target).get("name").trim();
  const r = await act("POST", "/api/v1/terminals", { name }, `Terminal ${name} added`);
  if (!r) return;
  ev.target.reset();
  $("terminal-new").textContent = `Type this into the POS (the password is shown once):\n`
    + `MQTT broker ${r.host} port ${r.port}\nusername ${r.terminal}\npassword ${r.password}\n`
    + `client id ${r.client_id} (persistent session)\npublish to ${r.topics.publish[0]} (QoS 1)\n`
    + `subscribe to ${r.topics.subscribe.join(", ")}`
    + `${r.broker_reloaded ? "" : "\nThen reload the broker: sudo systemctl reload mosquitto"}`;
  loadDevices();
});

function renderReceipts(printers) {
  const list = $("receipts");
  if (!printers.length) { list.innerHTML = `<li class="empty">No receipt printer is tapped on this box.</li>`; return; }
  list.innerHTML = printers.map((p) => `<li data-printer="${esc(p.printer)}"><div><b>${esc(p.printer.replace(/^input\./, ""))}</b>`
    + `<div class="meta">${p.documents.length ? `last ${p.documents.length} documents, newest first` : "nothing printed yet"}</div></div>`
    + `<div class="docs">${p.documents.slice(0, 5).map(receiptDoc).join("")}</div></li>`).join("");
}
function receiptDoc(d) {
  const at = new Date(d.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: state.status?.timezone || undefined });
  const fields = Object.entries(d.fields || {}).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(", ");
  const events = (d.events || []).map((e) => `${esc(e.type)}${e.result ? ` (${esc(e.result)})` : ""}`).join(", ");
  const matched = Object.entries(d.matched || {}).map(([k, v]) => `${esc(k)}: ${esc(v)}`).join("\n");
  return `<details data-testid="receipt-doc"><summary>${at} · ${esc(d.kind || "unknown kind")} · ${esc(d.result)}`
    + `${fields ? ` · ${fields}` : ""}</summary>`
    + `<div>${events ? `Became: ${events}` : "Became no event"}${d.error ? ` · ${esc(d.error)}` : ""}</div>`
    + `${matched ? `<pre>Patterns that matched:\n${matched}</pre>` : ""}`
    + `<pre>${esc((d.lines || []).join("\n"))}</pre></details>`;
}
$("pager-test").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const n = parseInt(new FormData(ev.target).get("pager"), 10);
  const r = await act("POST", "/api/v1/pager/test", { pager: n }, `Test page to pager ${n} queued`);
  if (!r) return;
  for (let i = 0; i < 40; i++) { // follow it until the transmitter has answered
    const p = await api("GET", "/api/v1/pager").catch(() => null);
    if (p) renderPager(p);
    const mine = p && (p.tests || []).find((t) => t.test === r.test);
    if (mine && FINAL.has(mine.delivery)) break;
    await new Promise((done) => setTimeout(done, 500));
  }
});
setInterval(loadDevices, 15000);

function chooseCheck(r) {
  const dlg = $("link-dialog");
  $("ld-title").textContent = `Link ${r.name || r.id} to which check?`;
  $("ld-detail").textContent = r.check ? `Now linked to check ${r.check}.` : "Not linked to a check.";
  const box = $("ld-checks");
  box.innerHTML = "";
  const path = `/api/v1/reservations/${encodeURIComponent(r.id)}/link`;
  const open = [...state.tables.values()].flatMap((t) => (t.checks?.length ? t.checks : (t.check ? [t.check] : [])).map((c) => [c, t.table]));
  for (const [check, table] of open) {
    if (check === r.check) continue;
    box.append(button(`Check ${check} · table ${table}`, "", async () => {
      if (await act("POST", path, { check }, `${r.name || r.id} linked to check ${check}`)) dlg.close();
    }, `link-${check}`));
  }
  if (r.check) {
    box.append(button("Unlink", "danger", async () => {
      if (await act("POST", path, { check: null }, `${r.name || r.id} unlinked`)) dlg.close();
    }, "unlink"));
  }
  if (!box.children.length) box.innerHTML = `<p class="detail">No check is open on the floor.</p>`;
  dlg.showModal();
}

function choosePartial(r) {
  const dlg = $("partial-dialog");
  $("pd-title").textContent = `${r.name || r.id} (${r.party_size ?? "?"}): part of the party is here`;
  const arrived = $("pd-arrived");
  arrived.max = String(Math.max(1, (r.party_size || 2) - 1));
  arrived.value = String(r.arrived || Math.min(2, Number(arrived.max)));
  const box = $("pd-tables");
  box.innerHTML = "";
  const fits = [...state.tables.values()]
    .filter((t) => t.status === "available" || (t.status === "reserved" && t.held_for === r.id) || t.table === r.table && t.status === "reserved")
    .sort((a, b) => (b.table === r.table) - (a.table === r.table) || a.seats - b.seats);
  for (const t of fits) {
    box.append(button(`Table ${t.table} · ${t.seats} seats`, "", async () => {
      const body = { table: t.table, arrived: parseInt(arrived.value, 10) };
      const path = `/api/v1/reservations/${encodeURIComponent(r.id)}/partial`;
      if (await act("POST", path, body, `${body.arrived} of ${r.party_size} here · table ${t.table} held`)) dlg.close();
    }, `partial-at-${t.table}`));
  }
  if (!fits.length) box.innerHTML = `<p class="detail">No free table right now.</p>`;
  dlg.showModal();
}

function renderBanners() {
  const out = [];
  if (!state.connected) out.push(`<div class="banner lost">Lost connection to Floorlink. Reconnecting…</div>`);
  const s = state.status;
  if (state.connected && s) {
    if (!s.broker) out.push(`<div class="banner warn">Floorlink has lost the POS broker: POS changes are not arriving.</div>`);
    if (s.cloud === "down") out.push(`<div class="banner warn">The internet/cloud is down: the floor keeps working here and will sync when it returns.</div>`);
    if (s.outbox_alarm) out.push(`<div class="banner warn">The cloud backlog is very large: check the internet connection.</div>`);
    if (s.clock_jump) out.push(`<div class="banner warn">The box's clock was corrected by ${Math.abs(s.clock_jump.minutes)} min; waits and pager timers were kept.</div>`);
    if (s.store_writable === false) out.push(`<div class="banner lost">Floorlink's disk is full: new POS events and changes are not being saved.</div>`);
    if (s.pager === "down") out.push(`<div class="banner warn">The pager transmitter is unplugged: pages will go out when it is back.</div>`);
    for (const line of (s.degraded || []).filter((l) => l.startsWith("input."))) {
      const what = line.slice(line.indexOf(": ") + 2);  // "toast:main is blind: <why>"
      out.push(`<div class="banner warn" data-testid="blind-source">${esc(what)}. Its POS changes are not arriving; the other sources go on.</div>`);
    }
  }
  $("banners").innerHTML = out.join("");
}

function button(text, cls, onClick, testid) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; if (cls) b.className = cls;
  if (testid) b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

// ---- dialogs ------------------------------------------------------------------------------
function openTable(id) {
  const t = state.tables.get(id);
  const dlg = $("table-dialog");
  $("td-title").textContent = `Table ${id} · ${STATUS_WORDS[t.status]}`;
  const bits = [`${t.seats} seats`, t.section];
  if (t.party) bits.push(`${t.party.name || "walk-in"}, ${t.party.size ?? "?"} guests`);
  if (t.check) bits.push(`check ${t.check}`);
  if (t.course) bits.push(t.course);
  const mins = minutesSince(t.since); if (mins != null) bits.push(`${mins} min`);
  $("td-detail").textContent = bits.join(" · ");
  const free = ["available", "reserved"].includes(t.status);
  $("td-seat").style.display = free ? "" : "none";
  const actions = $("td-actions");
  actions.innerHTML = "";
  const close = () => dlg.close();
  if (free) {
    actions.append(button("Seat party", "primary", async () => {
      const size = parseInt($("td-size").value, 10);
      const name = $("td-name").value.trim();
      const r = await act("POST", `/api/v1/tables/${id}/seat`, { party_size: size, ...(name ? { name } : {}) }, `Table ${id} seated`);
      if (r) { $("td-name").value = ""; close(); }
    }, "seat-party"));
  }
  if (t.status === "bussing" || (t.status === "seated" && !(t.checks || []).length)) {
    actions.append(button("Clear", "", async () => { if (await act("POST", `/api/v1/tables/${id}/clear`, null, `Table ${id} cleared`)) close(); }, "clear"));
  }
  if (t.status === "blocked") {
    actions.append(button("Unblock", "", async () => { if (await act("POST", `/api/v1/tables/${id}/unblock`, null, `Table ${id} back in service`)) close(); }, "unblock"));
  } else if (!["seated", "check_dropped"].includes(t.status)) {
    actions.append(button("Block", "danger", async () => { if (await act("POST", `/api/v1/tables/${id}/block`, {}, `Table ${id} blocked`)) close(); }, "block"));
  }
  dlg.showModal();
}

function chooseTable(entry) {
  const dlg = $("seat-dialog");
  $("sd-title").textContent = `Seat ${entry.name} (${entry.party_size}) at…`;
  const box = $("sd-tables");
  box.innerHTML = "";
  const fits = [...state.tables.values()]
    .filter((t) => ["available", "reserved"].includes(t.status) && t.seats >= entry.party_size)
    .sort((a, b) => a.seats - b.seats);
  if (!fits.length) box.innerHTML = `<p class="detail">No free table fits ${entry.party_size} right now.</p>`;
  for (const t of fits) {
    box.append(button(`Table ${t.table} · ${t.seats} seats${t.status === "reserved" ? " (held)" : ""}`, "", async () => {
      if (await act("POST", `/api/v1/waitlist/${entry.id}/seat`, { table: t.table }, `${entry.name} seated at ${t.table}`)) dlg.close();
    }, `seat-at-${t.table}`));
  }
  dlg.showModal();
}

$("walkin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { name: f.get("name").trim(), party_size: parseInt(f.get("party_size"), 10) };
  if (f.get("pager")) body.pager = parseInt(f.get("pager"), 10);
  const r = await act("POST", "/api/v1/waitlist", body);
  if (r) { toast(`${r.name} added · about ${r.quoted_minutes} min`); ev.target.reset(); }
});

// ---- clock and minute counters ---------------------------------------------------------------
function tick() {
  const timeZone = state.status?.timezone || undefined; // the site's zone, not the tablet's
  $("clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone });
  for (const id of state.tables.keys()) renderTable(id);
}
setInterval(() => { tick(); renderWaitlist(); }, 30000);
// The PIN sheet cannot be dismissed: without it this tablet can show nothing.
$("pin-dialog").addEventListener("cancel", (ev) => ev.preventDefault());
tick();

(async function start() {
  // Reads may need the PIN on this LAN; ask before opening the stream if so.
  const r = await fetch("/api/v1/status", { headers: token() ? { Authorization: `Bearer ${token()}` } : {} }).catch(() => null);
  if (r && r.status === 401) { localStorage.removeItem(TOKEN_KEY); await askPin(); return; }
  connect();
})();
