// Floorlink floor editor (staff): drag tables on the floor's own 0-100 plan coordinates (the ones
// the stand draws from), set shape, seats, section and name, add, remove and combine tables;
// Validate, then Apply. Apply writes floorlink.toml (backed up first) and the daemon reloads its
// floor: the stand redraws from the daemon's `floor` event, no restart. Uses app.js's api/toast.
"use strict";

const editor = { tables: [], selected: null, drag: null };
const SHAPES = ["square", "rect", "round"];

function edTile(t) {
  // Smaller tiles than the stand's, in the same proportions (app.js TILE).
  const [w, h] = (TILE[t.shape] || TILE.square);
  return [Math.round(w * 0.45), Math.round(h * 0.45)];
}

function edDefaultPositions() {
  // A table without plan coordinates is put in a row along the top, to be dragged.
  let n = 0;
  for (const t of editor.tables) {
    if (t.x == null || t.y == null) { t.x = Math.min(95, 5 + (n % 10) * 10); t.y = 5 + Math.floor(n / 10) * 10; n++; }
  }
}

async function openEditor() {
  const floor = await act("GET", "/api/v1/floor");
  if (!floor) return;
  editor.tables = floor.tables.map((t) => ({ ...t, combine_with: [...(t.combine_with || [])], aliases: [...(t.aliases || [])] }));
  editor.selected = null;
  edDefaultPositions();
  $("ed-result").textContent = floor.editable ? "" : "This box was started without a config file: changes cannot be saved here.";
  $("ed-apply").disabled = !floor.editable;
  $("floor-editor").showModal();
  edRender();
}

function edRender() {
  const plan = $("ed-plan");
  plan.innerHTML = "";
  for (const t of editor.tables) {
    const el = document.createElement("div");
    const [w, h] = edTile(t);
    el.className = `ed-table ${t.shape || "square"}${editor.selected === t.id ? " selected" : ""}`;
    el.dataset.testid = "edit-table";
    el.dataset.table = t.id;
    el.tabIndex = 0;
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", `Table ${t.name || t.id}, ${t.seats} seats: drag to move`);
    Object.assign(el.style, { left: `calc(${t.x}% - ${w / 2}px)`, top: `calc(${t.y}% - ${h / 2}px)`, width: `${w}px`, height: `${h}px` });
    el.innerHTML = `<b>${esc(t.name || t.id)}</b><span>${t.seats}</span>`;
    el.addEventListener("pointerdown", (ev) => edStartDrag(ev, t, el));
    el.addEventListener("keydown", (ev) => edNudge(ev, t));
    plan.appendChild(el);
  }
  edRenderForm();
}

function edStartDrag(ev, t, el) {
  ev.preventDefault();
  el.setPointerCapture(ev.pointerId);
  editor.drag = { id: t.id, moved: false };
  const plan = $("ed-plan").getBoundingClientRect();
  const move = (e) => {
    editor.drag.moved = true;
    t.x = Math.round(Math.min(100, Math.max(0, ((e.clientX - plan.left) / plan.width) * 100)) * 10) / 10;
    t.y = Math.round(Math.min(100, Math.max(0, ((e.clientY - plan.top) / plan.height) * 100)) * 10) / 10;
    const [w, h] = edTile(t);
    el.style.left = `calc(${t.x}% - ${w / 2}px)`;
    el.style.top = `calc(${t.y}% - ${h / 2}px)`;
  };
  const up = () => {
    el.removeEventListener("pointermove", move);
    el.removeEventListener("pointerup", up);
    el.removeEventListener("pointercancel", up);
    editor.drag = null;
    edSelect(t.id);
  };
  el.addEventListener("pointermove", move);
  el.addEventListener("pointerup", up);
  el.addEventListener("pointercancel", up);
}

function edNudge(ev, t) {
  const step = ev.shiftKey ? 5 : 1;
  const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
  if (!d) { if (ev.key === "Enter" || ev.key === " ") edSelect(t.id); return; }
  ev.preventDefault();
  t.x = Math.min(100, Math.max(0, t.x + d[0]));
  t.y = Math.min(100, Math.max(0, t.y + d[1]));
  edRender();
  document.querySelector(`.ed-table[data-table="${CSS.escape(t.id)}"]`)?.focus();
}

function edSelect(id) { editor.selected = id; edRender(); }

function edRenderForm() {
  const t = editor.tables.find((x) => x.id === editor.selected);
  const form = $("ed-form");
  form.hidden = !t;
  if (!t) return;
  $("ed-title").textContent = `Table ${t.id}`;
  $("ed-name").value = t.name || "";
  $("ed-seats").value = t.seats;
  $("ed-section").value = t.section || "main";
  $("ed-shape").value = t.shape || "square";
  $("ed-combine").value = (t.combine_with || []).join(", ");
}

function edField(name, read) {
  $(name).addEventListener("change", () => {
    const t = editor.tables.find((x) => x.id === editor.selected);
    if (!t) return;
    read(t, $(name).value);
    edRender();
  });
}
edField("ed-name", (t, v) => { t.name = v.trim() || null; });
edField("ed-seats", (t, v) => { t.seats = Math.max(1, parseInt(v, 10) || 1); });
edField("ed-section", (t, v) => { t.section = v.trim() || "main"; });
edField("ed-shape", (t, v) => { t.shape = SHAPES.includes(v) ? v : "square"; });
edField("ed-combine", (t, v) => {
  t.combine_with = v.split(/[\s,]+/).filter((x) => x && x !== t.id);
  for (const other of editor.tables) { // combining goes both ways
    const mine = t.combine_with.includes(other.id);
    const theirs = (other.combine_with || []).includes(t.id);
    if (mine && !theirs) other.combine_with = [...(other.combine_with || []), t.id];
    if (!mine && theirs) other.combine_with = other.combine_with.filter((x) => x !== t.id);
  }
});

$("ed-add").addEventListener("click", () => {
  const ids = new Set(editor.tables.map((t) => t.id));
  let n = editor.tables.length + 1;
  while (ids.has(String(n))) n++;
  const id = String(n);
  editor.tables.push({ id, seats: 4, section: "main", x: 50, y: 50, shape: "square", name: null, combine_with: [], aliases: [] });
  edSelect(id);
});
$("ed-remove").addEventListener("click", () => {
  const id = editor.selected;
  editor.tables = editor.tables.filter((t) => t.id !== id);
  for (const t of editor.tables) t.combine_with = (t.combine_with || []).filter((x) => x !== id);
  editor.selected = null;
  edRender();
});

function edBody() {
  return { tables: editor.tables.map((t) => ({
    id: t.id, seats: t.seats, section: t.section || "main", x: t.x, y: t.y, shape: t.shape || "square",
    name: t.name || null, combine_with: t.combine_with || [], aliases: t.aliases || [],
  })) };
}

function edSay(r) {
  const el = $("ed-result");
  if (!r) return;
  if (!r.ok) { el.textContent = (r.errors || [r.error]).join("\n"); el.className = "ed-result error"; return; }
  const n = (k) => (r[k] || []).length;
  el.className = "ed-result ok";
  el.textContent = `OK: ${n("added")} added, ${n("removed")} removed, ${n("changed")} changed`
    + (r.backup ? ` (previous file kept as ${r.backup})` : "");
}

$("ed-validate").addEventListener("click", async () => {
  try { edSay(await api("POST", "/api/v1/floor/validate", edBody())); }
  catch (e) { edSay({ ok: false, errors: [e.message] }); }
});
$("ed-apply").addEventListener("click", async () => {
  let checked;
  try { checked = await api("POST", "/api/v1/floor/validate", edBody()); }
  catch (e) { edSay({ ok: false, errors: [e.message] }); return; }
  if (!checked.ok) { edSay(checked); return; }
  try {
    const r = await api("PUT", "/api/v1/floor", edBody());
    edSay(r);
    toast("Floor applied");
    $("floor-editor").close();
  } catch (e) { edSay({ ok: false, errors: [e.message] }); }
});
$("edit-floor").addEventListener("click", openEditor);
