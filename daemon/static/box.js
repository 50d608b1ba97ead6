// The Devices panel's "This box": the version running, and a backup of the store to download
// (POST /api/v1/backup, daemon/backup_http.py). Uses app.js's token().
"use strict";
(() => {
  const el = (id) => document.getElementById(id);
  const auth = () => (token() ? { Authorization: `Bearer ${token()}` } : {});

  async function showVersion() {
    const r = await fetch("/api/v1/status", { headers: auth() }).catch(() => null);
    if (!r || !r.ok) return false;
    const body = await r.json().catch(() => ({}));
    if (!body.version) return false;
    el("box-version").textContent = `Floorlink ${body.version}`;
    return true;
  }
  (async () => { while (!(await showVersion())) await new Promise((res) => setTimeout(res, 5000)); })();

  el("backup").addEventListener("click", async () => {
    const state = el("backup-state");
    const button = el("backup");
    button.disabled = true;
    state.textContent = "Making a backup…";
    try {
      const r = await fetch("/api/v1/backup", { method: "POST", headers: auth() }).catch(() => null);
      if (!r) { state.textContent = "Cannot reach Floorlink. Try again in a moment."; return; }
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        state.textContent = body.error || "The backup did not work.";
        return;
      }
      const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
      const file = name ? name[1] : "floorlink-backup.db";
      const url = URL.createObjectURL(await r.blob());
      const a = Object.assign(document.createElement("a"), { href: url, download: file });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      state.textContent = `Saved ${file} (${r.headers.get("X-Floorlink-Events") || "?"} events). Keep it off this box.`;
    } finally {
      button.disabled = false;
    }
  });
})();
