/* The deployments section: each deployment's models, provider, region and circuit breaker state, from
 * GET /admin/deployments. */
"use strict";

(function () {
  const admin = window.ocigateAdmin;
  const { byId, el, clear, fmtInt, fmtMs, DASH } = admin;

  const CIRCUIT = { closed: "closed", open: "open", half_open: "half-open" };

  function circuit(row) {
    const state = row.state || "closed";
    const badge = el("span", { class: `badge ${state}`, text: CIRCUIT[state] || state });
    if (state === "open" && row.retry_in_s) {
      return [badge, el("span", { class: "sub", text: `probe in ${Number(row.retry_in_s).toFixed(0)} s` })];
    }
    return badge;
  }

  function render(rows) {
    const body = clear(byId("deployments-table").tBodies[0]);
    for (const row of rows) {
      body.append(
        el(
          "tr",
          { dataset: { deployment: row.deployment } },
          el("td", { class: "mono", text: row.deployment }),
          el("td", {}, (row.models || []).flatMap((name) => [el("span", { class: "chip mono", text: name }), " "])),
          el("td", { class: "nowrap", text: row.provider || DASH }),
          el("td", { class: "nowrap", text: row.region || DASH }),
          el("td", { class: "mono", text: row.upstream_model || DASH }),
          el("td", { dataset: { field: "circuit" } }, circuit(row)),
          el("td", { class: "num", text: fmtInt(row.consecutive_failures ?? 0) }),
          el("td", { class: "num", text: fmtInt(row.opened ?? 0) }),
          el("td", { class: "num", text: fmtInt(row.in_flight ?? 0) }),
          el("td", { class: "num", text: fmtMs(row.latency_ms) }),
        ),
      );
    }
    byId("deployments-empty").hidden = rows.length > 0;
    const models = new Set(rows.flatMap((row) => row.models || []));
    admin.keys.setModels([...models].sort());
  }

  async function load() {
    const section = byId("deployments");
    section.dataset.state = "loading";
    const reply = await admin.api("/deployments");
    render(reply.data);
    section.dataset.state = "ready";
  }

  function reset() {
    clear(byId("deployments-table").tBodies[0]);
  }

  admin.deployments = { load, reset };
})();
