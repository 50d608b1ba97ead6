// First-run setup (daemon/setup_mode.py): fill the form, test the pager, save; then wait for the
// host stand to come up in this same process and go to it.
"use strict";
const $ = (id) => document.getElementById(id);
let form = null; // GET /api/v1/setup: time zones, ports, protocols

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  }).catch(() => null);
  if (!r) return { ok: false, status: 0, body: { error: "Cannot reach Floorlink. Try again in a moment." } };
  const data = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body: data };
}

function option(value, text, selected) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text; o.selected = !!selected;
  return o;
}

// ---- tables ---------------------------------------------------------------------------------
function addRow(id, seats, section) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "setup-table-row";
  tr.innerHTML = `
    <td><input class="t-id" maxlength="16" required aria-label="Table name" data-testid="setup-table-id"></td>
    <td><input class="t-seats" type="number" min="1" max="40" required aria-label="Seats" data-testid="setup-table-seats"></td>
    <td><input class="t-section" maxlength="40" aria-label="Section" data-testid="setup-table-section"></td>
    <td><button type="button" class="t-remove" aria-label="Remove this table">✕</button></td>`;
  tr.querySelector(".t-id").value = id;
  tr.querySelector(".t-seats").value = seats;
  tr.querySelector(".t-section").value = section;
  tr.querySelector(".t-remove").addEventListener("click", () => tr.remove());
  $("tables").appendChild(tr);
  return tr;
}

function nextId() {
  const ids = [...document.querySelectorAll(".t-id")].map((i) => Number(i.value)).filter(Number.isFinite);
  return String(ids.length ? Math.max(...ids) + 1 : 1);
}

$("add-table").addEventListener("click", () => {
  const rows = document.querySelectorAll("#tables tr");
  const last = rows[rows.length - 1];
  const seats = last ? last.querySelector(".t-seats").value : 4;
  const section = last ? last.querySelector(".t-section").value : "main";
  addRow(nextId(), seats, section).querySelector(".t-id").focus();
});

function tables() {
  return [...document.querySelectorAll("#tables tr")].map((tr) => ({
    id: tr.querySelector(".t-id").value.trim(),
    seats: Number(tr.querySelector(".t-seats").value),
    section: tr.querySelector(".t-section").value.trim() || "main",
  }));
}

// ---- pager ----------------------------------------------------------------------------------
function fillPorts(ports) {
  const sel = $("port");
  sel.replaceChildren();
  for (const p of ports) sel.appendChild(option(p.path, p.label));
  sel.appendChild(option("", ports.length ? "Other…" : "No serial device found: type its path or URL"));
  portChanged();
}

function portChanged() {
  $("port-other-label").hidden = $("port").value !== "";
}

$("port").addEventListener("change", portChanged);
$("rescan").addEventListener("click", async () => {
  const r = await api("GET", "/api/v1/setup");
  if (r.ok) fillPorts(r.body.ports);
});
$("pager-on").addEventListener("change", () => { $("pager").hidden = !$("pager-on").checked; });

function protocolOf(name) { return form.protocols.find((p) => p.name === name); }

// One field per simple option of the protocol's model (its JSON schema); the rest keep defaults.
function fillOptions() {
  const proto = protocolOf($("protocol").value);
  $("protocol-summary").textContent = proto ? proto.summary : "";
  const box = $("options");
  box.replaceChildren(Object.assign(document.createElement("legend"), { textContent: "Protocol settings" }));
  const props = (proto && proto.options.properties) || {};
  let shown = 0;
  for (const [key, spec] of Object.entries(props)) {
    let input;
    if (Array.isArray(spec.enum)) {
      input = document.createElement("select");
      for (const v of spec.enum) input.appendChild(option(v, v, v === spec.default));
    } else if (spec.type === "integer" || spec.type === "number") {
      input = document.createElement("input");
      input.type = "number";
      if (spec.minimum !== undefined) input.min = spec.minimum;
      if (spec.maximum !== undefined) input.max = spec.maximum;
      if (spec.type === "number") input.step = "any";
      if (spec.default !== undefined) input.value = spec.default;
    } else if (spec.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = !!spec.default;
    } else if (spec.type === "string") {
      input = document.createElement("input");
      if (spec.maxLength) input.maxLength = spec.maxLength;
      if (spec.default !== undefined) input.value = spec.default;
    } else {
      continue; // an option the form cannot show: its default stands (edit it in the config)
    }
    input.dataset.option = key;
    input.dataset.kind = spec.enum ? "enum" : spec.type;
    input.dataset.default = JSON.stringify(spec.default === undefined ? null : spec.default);
    input.setAttribute("data-testid", `setup-option-${key}`);
    const label = document.createElement("label");
    if (spec.type === "boolean") label.className = "check";
    label.append(`${spec.title || key}${spec.description ? ` (${spec.description})` : ""} `, input);
    box.appendChild(label);
    shown += 1;
  }
  box.classList.toggle("empty", shown === 0);
}
$("protocol").addEventListener("change", fillOptions);

function options() {
  const out = {};
  for (const input of document.querySelectorAll("[data-option]")) {
    let value;
    if (input.dataset.kind === "boolean") value = input.checked;
    else if (input.dataset.kind === "integer") value = input.value === "" ? null : Number(input.value);
    else if (input.dataset.kind === "number") value = input.value === "" ? null : Number(input.value);
    else value = input.value;
    if (value === null || JSON.stringify(value) === input.dataset.default) continue;
    out[input.dataset.option] = value;
  }
  return out;
}

function pager() {
  if (!$("pager-on").checked) return null;
  const port = $("port").value || $("port-other").value.trim();
  return { port, protocol: $("protocol").value, options: options() };
}

const SAID = {
  written: "Sent to the transmitter (this protocol does not answer): does the pager buzz?",
  acknowledged: "The transmitter took the page: does the pager buzz?",
  transmitted: "The transmitter sent the page on air: does the pager buzz?",
  nak: "The transmitter refused the page",
  busy: "The transmitter is busy",
  no_answer: "The transmitter did not answer: check the protocol and its settings",
  port_unavailable: "The port cannot be opened",
};

$("test").addEventListener("click", async () => {
  const p = pager();
  const out = $("test-result");
  if (!p || !p.port) { out.textContent = "Choose the transmitter's port first."; return; }
  out.textContent = "Sending…";
  out.dataset.delivery = "";
  const r = await api("POST", "/api/v1/setup/pager-test", { ...p, pager: Number($("test-number").value) });
  if (!r.ok) { out.textContent = r.body.error || "That did not work."; out.dataset.delivery = "error"; return; }
  out.dataset.delivery = r.body.delivery;
  out.textContent = `${SAID[r.body.delivery] || r.body.delivery}${r.body.detail ? `: ${r.body.detail}` : ""}`;
});

// ---- save -----------------------------------------------------------------------------------
$("setup").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const err = $("error");
  err.textContent = "";
  const pin = f.pin.value.trim();
  if (!f.name.value.trim()) { err.textContent = "Give the restaurant a name."; return; }
  if (!/^\d{6,12}$/.test(pin)) { err.textContent = "The PIN must be 6 to 12 digits."; return; }
  if (pin !== f.pin2.value.trim()) { err.textContent = "The two PINs are not the same."; return; }
  const rows = tables();
  if (!rows.length) { err.textContent = "Add at least one table."; return; }
  const p = pager();
  if (p && !p.port) { err.textContent = "Choose the pager transmitter's port, or untick it."; return; }
  const body = { name: f.name.value.trim(), timezone: f.timezone.value, pin, tables: rows, pager: p };
  const r = await api("POST", "/api/v1/setup", body);
  if (!r.ok) { err.textContent = r.body.error || "That did not work."; return; }
  $("done").textContent = `Saved (${r.body.tables} tables). Starting the host stand…`;
  for (const el of f.elements) el.disabled = true;
  await waitForStand();
  location.href = "/";
});

// The host stand is up once /api/v1/status stops answering as the setup page does.
async function waitForStand() {
  for (;;) {
    await new Promise((res) => setTimeout(res, 500));
    const r = await fetch("/api/v1/status").catch(() => null);
    if (!r) continue;
    const body = await r.json().catch(() => ({}));
    if (r.status === 401 || (r.ok && body.setup !== true)) return;
  }
}

// ---- start ----------------------------------------------------------------------------------
(async () => {
  const r = await api("GET", "/api/v1/setup");
  if (!r.ok) {
    if (r.status === 409) { location.href = "/"; return; }
    $("error").textContent = r.body.error || "Cannot load the setup form.";
    return;
  }
  form = r.body;
  $("version").textContent = `version ${form.version}`;
  const tz = document.querySelector('[name="timezone"]');
  for (const z of form.timezones) tz.appendChild(option(z, z, z === form.timezone));
  for (const p of form.protocols) $("protocol").appendChild(option(p.name, p.name));
  fillPorts(form.ports);
  fillOptions();
  for (let n = 1; n <= 4; n++) addRow(String(n), 4, "main");
})();
