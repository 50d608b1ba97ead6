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

// ---- token (remembered for the shift) -------------------------------------------------------
function token() {
  try {
    const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
    if (saved && Date.now() - saved.at < TOKEN_TTL_MS) return saved.token;
  } catch (_) { /* ignore */ }
  return "";
}
function saveToken(t) { localStorage.setItem(TOKEN_KEY, JSON.stringify({ token: t, at: Date.now() })); }

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
  if (/^\d{4,8}$/.test(value)) {
    const r = await fetch("/api/v1/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ pin: value }),
    }).catch(() => null);
    if (!r) { $("pin-error").textContent = "Cannot reach Floorlink. Try again in a moment."; return; }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { $("pin-error").textContent = body.error || "That did not work."; return; }
    tok = body.token;
  } else {
    tok = value; // a staff token typed in directly
  }
  saveToken(tok);
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
    setConnected(true); renderAll();
  });
  source.addEventListener("table", (ev) => {
    const t = JSON.parse(ev.data);
    state.tables.set(t.table, { ...(state.tables.get(t.table) || {}), ...t });
    renderTable(t.table); renderCounts();
  });
  source.addEventListener("waitlist", (ev) => { state.waitlist = JSON.parse(ev.data); renderWaitlist(); });
  source.addEventListener("reservations", (ev) => { state.reservations = JSON.parse(ev.data); renderReservations(); });
  source.addEventListener("status", (ev) => { state.status = JSON.parse(ev.data); renderBanners(); renderReservations(); });
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
  renderLegend(); renderFloor(); renderWaitlist(); renderReservations(); renderCounts(); renderBanners();
}

function renderLegend() {
  $("legend").innerHTML = Object.entries(STATUS_WORDS)
    .map(([k, w]) => `<span style="--c: var(--${k})">${w}</span>`).join("");
}

function renderFloor() {
  const floor = $("floor");
  const tables = [...state.tables.values()];
  const planned = tables.length && tables.every((t) => t.x != null && t.y != null);
  floor.className = planned ? "floor" : "floor grid";
  floor.innerHTML = "";
  const sections = new Map();
  for (const t of tables) {
    if (!sections.has(t.section)) sections.set(t.section, []);
    sections.get(t.section).push(t);
  }
  const place = planned ? placer(tables) : null;
  for (const [name, list] of sections) {
    const label = document.createElement("div");
    label.className = "section-label";
    label.textContent = name;
    if (place) {
      const [left, top] = place(Math.min(...list.map((t) => t.x)), Math.min(...list.map((t) => t.y)));
      label.style.left = `max(0px, calc(${left}% - 72px))`;
      label.style.top = `max(0px, calc(${top}% - 88px))`;
    }
    floor.appendChild(label);
    for (const t of list) {
      const el = document.createElement("button");
      el.type = "button";
      el.id = `table-${t.table}`;
      el.dataset.table = t.table;
      el.dataset.testid = "table";
      if (place) { const [left, top] = place(t.x, t.y); el.style.left = `${left}%`; el.style.top = `${top}%`; }
      el.addEventListener("click", () => openTable(t.table));
      floor.appendChild(el);
      renderTable(t.table);
    }
  }
}

// Config positions are 0-100: stretch the plan over the whole floor, with a margin of about
// half a table so none is cut at the edge.
function placer(tables) {
  const xs = tables.map((t) => t.x), ys = tables.map((t) => t.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const fit = (v, lo, hi, m0, m1) => (hi > lo ? m0 + ((v - lo) / (hi - lo)) * (100 - m0 - m1) : 50);
  return (x, y) => [fit(x, x0, x1, 12, 12), fit(y, y0, y1, 18, 12)];
}

function renderTable(id) {
  const t = state.tables.get(id);
  const el = document.getElementById(`table-${id}`);
  if (!t || !el) { if (t) renderFloor(); return; }
  const mins = minutesSince(t.since);
  const late = mins != null && LATE_MINUTES[t.status] != null && mins >= LATE_MINUTES[t.status];
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
  el.innerHTML = `<span class="id">${esc(id)}</span>`
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

function renderWaitlist() {
  const list = $("waitlist");
  const active = state.waitlist.filter((e) => e.status === "waiting" || e.status === "paged");
  $("wl-count").textContent = active.length;
  if (!state.waitlist.length) { list.innerHTML = `<li class="empty">Nobody is waiting.</li>`; return; }
  list.innerHTML = "";
  for (const e of state.waitlist) {
    const li = document.createElement("li");
    li.dataset.entry = e.id;
    li.dataset.status = e.status;
    li.className = e.status === "paged" ? "paged" : (e.status === "waiting" ? "" : "done");
    const active = e.status === "waiting" || e.status === "paged";
    const waited = active ? (minutesSince(e.added_at) ?? 0) : (e.waited_minutes ?? minutesSince(e.added_at) ?? 0);
    const over = active && e.quoted_minutes != null && waited > e.quoted_minutes;
    li.innerHTML = `<div><b>${esc(e.name)}</b> · ${e.party_size}`
      + `<div class="meta">${e.status}${e.pager ? ` · pager ${e.pager}` : ""} · quoted ${e.quoted_minutes ?? "?"} min`
      + ` · <span class="${over ? "over" : ""}">waited ${waited} min</span>${e.table ? ` · table ${esc(e.table)}` : ""}</div></div>`;
    if (e.status === "waiting" || e.status === "paged") {
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

function renderConflicts() {
  const conflicts = state.status?.conflicts || [];
  return conflicts.slice(0, 3).map((c) => `<li class="conflict" data-testid="conflict"><div><b>Conflict</b> · `
    + `${esc(c.kind.replace(/_/g, " "))}${c.table ? ` · table ${esc(c.table)}` : ""} · ${esc(c.reservation)}`
    + `<div class="meta">${esc(c.resolution)}</div></div></li>`).join("");
}

function renderReservations() {
  const list = $("reservations");
  if (!state.reservations.length) { list.innerHTML = renderConflicts() + `<li class="empty">No reservations in the next hours.</li>`; return; }
  list.innerHTML = renderConflicts() + state.reservations.map((r) => `<li><div><b>${esc(r.name)}</b> · ${r.party_size}${r.vip ? " ★" : ""}`
    + `<div class="meta">${new Date(r.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`
    + `${r.table ? ` · table ${esc(r.table)}${r.held ? " (held)" : ""}` : ""} · ${esc(r.status)}</div></div></li>`).join("");
}

function renderBanners() {
  const out = [];
  if (!state.connected) out.push(`<div class="banner lost">Lost connection to Floorlink. Reconnecting…</div>`);
  const s = state.status;
  if (state.connected && s) {
    if (!s.broker) out.push(`<div class="banner warn">Floorlink has lost the POS broker: POS changes are not arriving.</div>`);
    if (s.cloud === "down") out.push(`<div class="banner warn">The internet/cloud is down: the floor keeps working here and will sync when it returns.</div>`);
    if (s.outbox_alarm) out.push(`<div class="banner warn">The cloud backlog is very large: check the internet connection.</div>`);
    if (s.pager === "down") out.push(`<div class="banner warn">The pager transmitter is unplugged: pages will go out when it is back.</div>`);
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
  $("clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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
