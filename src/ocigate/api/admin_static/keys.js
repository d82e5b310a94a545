/* The keys section: the list (GET /admin/keys), the create form (POST /admin/keys), the box that shows a new
 * secret once (with a copy button), and rotate and revoke behind a confirmation dialog
 * (POST /admin/keys/{id}/rotate, /revoke). */
"use strict";

(function () {
  const admin = window.ocigateAdmin;
  const { byId, el, clear, setText, fmtInt, fmtUsd, fmtTime, fmtRelative, DASH } = admin;

  const state = { keys: [] };

  async function load() {
    const section = byId("keys");
    section.dataset.state = "loading";
    const reply = await admin.api("/keys");
    state.keys = reply.data;
    render();
    section.dataset.state = "ready";
  }

  // ---- The list -----------------------------------------------------------------------------------------

  function render() {
    const hideRevoked = byId("hide-revoked").checked;
    const shown = state.keys.filter((key) => !(hideRevoked && key.status === "revoked"));
    const body = clear(byId("keys-table").tBodies[0]);
    for (const key of shown) body.append(row(key));
    const empty = byId("keys-empty");
    empty.hidden = shown.length > 0;
    empty.textContent = state.keys.length ? "Every key is revoked." : "No keys yet. Create one for each team or tool.";
  }

  function row(key) {
    const live = key.status !== "revoked";
    return el(
      "tr",
      { class: live ? null : "revoked", dataset: { keyId: key.id, keyName: key.name } },
      el("td", {}, el("span", { text: key.name }), el("span", { class: "sub mono", text: key.id })),
      el("td", { class: "mono nowrap", text: key.display }),
      el(
        "td",
        { class: "nowrap" },
        el("span", { text: key.team || DASH }),
        key.user ? el("span", { class: "sub", text: key.user }) : null,
      ),
      el("td", { dataset: { field: "status" } }, el("span", { class: `badge ${key.status}`, text: key.status })),
      el("td", {}, models(key.allowed_models)),
      el("td", {}, limits(key)),
      el("td", {}, budget(key.budget)),
      el("td", { class: "nowrap" }, when(key.expires_at, "never")),
      el("td", { class: "nowrap" }, when(key.created_at, DASH, true)),
      el(
        "td",
        { class: "actions" },
        live ? el("button", { type: "button", class: "btn-link", text: "Rotate", onclick: () => rotate(key) }) : null,
        live ? " " : null,
        live ? el("button", { type: "button", class: "btn-link danger", text: "Revoke", onclick: () => revoke(key) }) : null,
      ),
    );
  }

  function models(allowed) {
    if (!allowed || !allowed.length) return el("span", { class: "muted", text: "all" });
    return allowed.flatMap((name) => [el("span", { class: "chip mono", text: name }), " "]);
  }

  function limits(key) {
    const parts = [];
    if (key.rpm) parts.push(`${fmtInt(key.rpm)} rpm`);
    if (key.tpm) parts.push(`${fmtInt(key.tpm)} tpm`);
    if (key.max_concurrent) parts.push(`${fmtInt(key.max_concurrent)} concurrent`);
    if (!parts.length) return el("span", { class: "muted", text: "none" });
    return parts.map((part) => el("span", { class: "line", text: part }));
  }

  const PERIODS = { day: "per day", week: "per week", month: "per month", total: "in total" };

  function budget(value) {
    if (!value) return el("span", { class: "muted", text: "none" });
    const amount = (v) => (value.unit === "usd" ? fmtUsd(v) : `${fmtInt(v)} tokens`);
    const parts = [el("span", { text: `${amount(value.amount)} ${PERIODS[value.period] || value.period}` })];
    if (typeof value.spent === "number") {
      const share = value.amount > 0 ? Math.min(1, value.spent / value.amount) : 1;
      const bar = el("span");
      bar.style.width = `${(share * 100).toFixed(1)}%`; // CSSOM: allowed by the CSP, unlike a style attribute
      parts.push(
        el("span", { class: `meter${share >= 1 ? " full" : share >= 0.8 ? " high" : ""}` }, bar),
        el("span", {
          class: "sub",
          text: `${amount(value.spent)} spent · ${amount(Math.max(0, value.remaining ?? value.amount - value.spent))} left`,
        }),
      );
    }
    return parts;
  }

  /** A time and how far it is from now; ``dateOnly``: the day, with the full time as a tooltip. */
  function when(seconds, none, dateOnly) {
    if (seconds === null || seconds === undefined) return el("span", { class: "muted", text: none || DASH });
    const full = fmtTime(seconds);
    return [
      el("span", { title: full, text: dateOnly ? full.slice(0, 10) : full }),
      el("span", { class: "sub", text: fmtRelative(seconds) }),
    ];
  }

  // ---- The secret, shown once ---------------------------------------------------------------------------

  function showSecret(title, secret) {
    setText("secret-title", title);
    byId("secret-value").value = secret;
    byId("secret-copy").textContent = "Copy";
    const box = byId("secret-box");
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
    byId("secret-value").select();
  }

  function dismissSecret() {
    byId("secret-value").value = "";
    byId("secret-box").hidden = true;
  }

  async function copySecret() {
    const input = byId("secret-value");
    const button = byId("secret-copy");
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = "Copied";
    } catch (_) {
      // No clipboard API (a plain-http page that is not localhost): copy the selection instead.
      input.select();
      button.textContent = document.execCommand("copy") ? "Copied" : "Select and copy (Ctrl+C)";
    }
  }

  // ---- The create form ----------------------------------------------------------------------------------

  function openForm() {
    byId("create-form").hidden = false;
    byId("create-error").hidden = true;
    byId("f-name").focus();
  }

  function closeForm() {
    const form = byId("create-form");
    form.reset();
    form.hidden = true;
  }

  /** The form's fields as POST /admin/keys wants them; throws an Error naming a field that is wrong. */
  function payload() {
    const text = (id) => byId(id).value.trim();
    const name = text("f-name");
    if (!name) throw new Error("Give the key a name (a label for the team or tool that will use it).");
    const body = { name };
    if (text("f-team")) body.team = text("f-team");
    if (text("f-user")) body.user = text("f-user");
    const models = text("f-models").split(",").map((m) => m.trim()).filter(Boolean);
    if (models.length) body.allowed_models = models;
    for (const [id, field, label] of [
      ["f-rpm", "rpm", "Requests / minute"],
      ["f-tpm", "tpm", "Tokens / minute"],
      ["f-concurrent", "max_concurrent", "Max concurrent"],
    ]) {
      if (!text(id)) continue;
      const value = Number(text(id));
      if (!Number.isInteger(value) || value <= 0) throw new Error(`${label} must be a whole number above 0.`);
      body[field] = value;
    }
    if (text("f-budget")) {
      const amount = Number(text("f-budget"));
      if (!Number.isFinite(amount) || amount <= 0) throw new Error("Budget must be a number above 0.");
      body.budget = { amount, unit: byId("f-unit").value, period: byId("f-period").value };
    }
    if (text("f-expires")) {
      const expires = new Date(text("f-expires")).getTime() / 1000; // datetime-local: the browser's local time
      if (!Number.isFinite(expires)) throw new Error("Expires is not a valid date and time.");
      if (expires <= Date.now() / 1000) throw new Error("Expires is in the past: the key would never work.");
      body.expires_at = Math.round(expires);
    }
    return body;
  }

  async function submit(event) {
    event.preventDefault();
    const error = byId("create-error");
    error.hidden = true;
    let body;
    try {
      body = payload();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      return;
    }
    const button = byId("create-submit");
    button.disabled = true;
    try {
      const created = await admin.api("/keys", { method: "POST", body });
      closeForm();
      showSecret(`Key '${created.name}' created (${created.display})`, created.secret);
      await load();
    } catch (err) {
      if (err instanceof admin.ApiError && err.refused) {
        admin.signOut(`The gateway refused the key: ${err.message}`);
        return;
      }
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // ---- Rotate and revoke --------------------------------------------------------------------------------

  /** Asks in the modal dialog; resolves true when the operator confirms. */
  function confirmAction(title, text, label) {
    const dialog = byId("confirm");
    setText("confirm-title", title);
    setText("confirm-text", text);
    setText("confirm-ok", label);
    return new Promise((resolve) => {
      const finish = (answer) => {
        byId("confirm-ok").removeEventListener("click", yes);
        byId("confirm-cancel").removeEventListener("click", no);
        dialog.removeEventListener("cancel", no);
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      const yes = () => finish(true);
      const no = () => finish(false);
      byId("confirm-ok").addEventListener("click", yes);
      byId("confirm-cancel").addEventListener("click", no);
      dialog.addEventListener("cancel", no);
      dialog.showModal();
      byId("confirm-cancel").focus();
    });
  }

  async function revoke(key) {
    const ok = await confirmAction(
      `Revoke '${key.name}'?`,
      `${key.display} stops working at once: every client using it gets 401. This cannot be undone.`,
      "Revoke key",
    );
    if (!ok) return;
    await act(async () => {
      await admin.api(`/keys/${encodeURIComponent(key.id)}/revoke`, { method: "POST" });
      admin.notify(`Key '${key.name}' (${key.display}) is revoked.`, "info");
    });
  }

  async function rotate(key) {
    const ok = await confirmAction(
      `Rotate '${key.name}'?`,
      `${key.display} gets a new secret; the current one stops working at once. Limits, budget and usage stay.`,
      "Rotate key",
    );
    if (!ok) return;
    await act(async () => {
      const rotated = await admin.api(`/keys/${encodeURIComponent(key.id)}/rotate`, { method: "POST" });
      showSecret(`Key '${rotated.name}' rotated (${rotated.display})`, rotated.secret);
    });
  }

  /** Runs a change, then reloads the list: after a failure too, since the list may be stale (another
   * administrator may have changed the key meanwhile). The usage table shows keys' prefixes: reloaded too. */
  async function act(change) {
    await admin.guarded(change);
    await Promise.all([admin.guarded(load), admin.guarded(admin.usage.load)]);
  }

  /** The model names the deployments serve: suggestions for the allowed-models field. */
  function setModels(names) {
    const list = clear(byId("model-names"));
    for (const name of names) list.append(el("option", { value: name }));
    setText("f-models-hint", names.length ? `Models served: ${names.join(", ")}` : "");
  }

  function setup() {
    byId("new-key").addEventListener("click", openForm);
    byId("create-cancel").addEventListener("click", closeForm);
    byId("create-form").addEventListener("submit", submit);
    byId("hide-revoked").addEventListener("change", render);
    byId("secret-copy").addEventListener("click", copySecret);
    byId("secret-dismiss").addEventListener("click", dismissSecret);
  }

  function reset() {
    state.keys = [];
    dismissSecret();
    closeForm();
    clear(byId("keys-table").tBodies[0]);
  }

  admin.keys = { setup, load, reset, setModels };
})();
