// The Reports view of the host stand: any report from GET /api/v1/reports/{name} as a bar chart
// of its main figure (charts.js) above the same table `floorlink report` prints. Blanks read
// "—" with the reason under the table. Uses api() and esc() from app.js.
"use strict";

// report -> [the column charted, the columns that label a bar] (null: table only)
const REPORT_CHARTS = {
  summary: null,
  covers: ["covers", ["party size"]],
  turns: ["mean minutes", ["party size"]],
  phases: ["mean minutes", ["from", "to"]],
  revpash: ["revpash", ["hour"]],
  "revpash-days": ["revpash", ["day"]],
  sections: ["revenue", ["section"]],
  servers: ["revenue", ["server"]],
  tables: ["revenue", ["table"]],
  "per-person": ["per person", ["party size"]],
  slots: ["per cover", ["slot"]],
  sources: ["average check", ["source"]],
  lifetime: ["lifetime spend", ["name"]],
  flow: ["covers", ["from"]],
  accounting: null,
  quotes: ["MAE min", ["service day", "party size"]],
};

function reportQuery(form) {
  const f = new FormData(form);
  const q = new URLSearchParams();
  for (const k of ["day", "since", "until"]) if (f.get(k)) q.set(k, f.get(k));
  return q.toString();
}

function renderReport(r) {
  const chart = REPORT_CHARTS[r.report];
  const box = document.getElementById("report-chart");
  const rows = r.rows.filter((row) => row[0] !== "all" && row[1] !== "all");
  if (chart && rows.length) {
    const col = r.columns.indexOf(chart[0]);
    const keys = chart[1].map((c) => r.columns.indexOf(c));
    const labels = rows.map((row) => keys.map((k) => row[k]).join(" → "));
    const values = rows.map((row) => (row[col] === null ? null : Number(row[col])));
    FloorlinkCharts.bars(box, labels, values, { title: `${chart[0]} by ${chart[1].join(" → ")}` });
  } else {
    box.replaceChildren();
  }
  const head = `<tr>${r.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = r.rows.map((row) => `<tr>${row.map((v) =>
    `<td${typeof v === "number" || /^-?\d+(\.\d+)?$/.test(String(v)) ? ' class="num"' : ""}>${v === null ? "—" : esc(String(v))}</td>`).join("")}</tr>`).join("");
  document.getElementById("report-table").innerHTML = `<caption>${esc(r.title)}</caption><thead>${head}</thead><tbody>${body}</tbody>`;
  const blanks = new Set();
  r.rows.forEach((row) => row.forEach((v, i) => { if (v === null) blanks.add(r.columns[i]); }));
  const why = [...blanks].filter((c) => r.why[c]).map((c) => `— ${c}: ${r.why[c]}`);
  if (!r.rows.length) why.push(`— no rows: ${r.why["*"] || "no paid checks in the period"}`);
  document.getElementById("report-why").textContent = why.join("\n");
}

async function loadReport(form) {
  const name = new FormData(form).get("report");
  const q = reportQuery(form);
  try {
    renderReport(await api("GET", `/api/v1/reports/${encodeURIComponent(name)}${q ? `?${q}` : ""}`));
  } catch (e) {
    toast(e.message);
  }
}

(function initReports() {
  const form = document.getElementById("report-form");
  if (!form) return;
  const select = form.elements.report;
  for (const name of Object.keys(REPORT_CHARTS)) select.append(new Option(name, name));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(form); });
})();
