/* The usage section: the range (7/30/90 days) and metric (requests, tokens, cost) selectors, the totals, two
 * stacked bar charts per UTC day (by key, by model; Chart.js) and the totals-by-key table. Reads
 * GET /admin/usage?by=day,key, ?by=day,model and ?by=key,team. */
"use strict";

(function () {
  const admin = window.ocigateAdmin;
  const { byId, el, clear, setText, fmtInt, fmtCompact, fmtUsd, fmtMs, utcDay, DASH } = admin;

  const PALETTE = [
    "#2458c6", "#c74634", "#0e9384", "#7f56d9", "#dc6803",
    "#3b7c0f", "#c11574", "#0086c9", "#a15c07", "#475467",
  ];
  const OTHER_COLOR = "#98a2b3";
  const MAX_SERIES = 8;
  const DAY_S = 86400;

  const METRICS = {
    requests: { title: "Requests", value: (r) => r.requests, format: fmtInt, axis: fmtCompact },
    tokens: { title: "Tokens", value: (r) => r.prompt_tokens + r.completion_tokens, format: fmtInt, axis: fmtCompact },
    cost: { title: "Cost (USD)", value: (r) => r.cost_usd, format: fmtUsd, axis: (v) => fmtUsd(v) },
  };

  const state = { days: 30, metric: "requests", reports: null, charts: {} };

  /** The range's UTC days, oldest first, and its start (Unix seconds): today and the days-1 before it. */
  function rangeDays(count) {
    const today = new Date();
    const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    const start = midnight - (count - 1) * DAY_S * 1000;
    const days = [];
    for (let i = 0; i < count; i++) days.push(utcDay(new Date(start + i * DAY_S * 1000)));
    return { days, since: start / 1000 };
  }

  async function load() {
    const section = byId("usage");
    section.dataset.state = "loading";
    const { days, since } = rangeDays(state.days);
    const query = (by) => `/usage?by=${by}&since=${since}`;
    const [byKey, byModel, totals] = await Promise.all([
      admin.api(query("day,key")),
      admin.api(query("day,model")),
      admin.api(query("key,team")),
    ]);
    state.reports = { days, byKey: byKey.data, byModel: byModel.data, totals: totals.data };
    render();
    section.dataset.state = "ready";
  }

  function render() {
    if (!state.reports) return;
    renderStats(state.reports.totals);
    renderCharts();
    renderTable(state.reports.totals);
  }

  // ---- Totals -------------------------------------------------------------------------------------------

  function sum(rows, pick) {
    return rows.reduce((total, row) => total + pick(row), 0);
  }

  function renderStats(rows) {
    const requests = sum(rows, (r) => r.requests);
    const errors = sum(rows, (r) => r.errors);
    setText("stat-requests", fmtInt(requests));
    setText("stat-errors", requests ? `${fmtInt(errors)} · ${((100 * errors) / requests).toFixed(1)} %` : fmtInt(errors));
    setText("stat-tokens", fmtInt(sum(rows, METRICS.tokens.value)));
    setText("stat-cost", fmtUsd(sum(rows, (r) => r.cost_usd)));
  }

  // ---- Charts -------------------------------------------------------------------------------------------

  function keyLabel(row) {
    if (!row.key_id) return "master key";
    return row.key_name || row.key_id;
  }

  /** Stacked datasets, one per series (top MAX_SERIES by the metric, the rest as "other"), one value per day. */
  function datasets(rows, days, seriesOf) {
    const metric = METRICS[state.metric];
    const index = new Map(days.map((day, i) => [day, i]));
    const series = new Map();
    for (const row of rows) {
      const i = index.get(row.day);
      if (i === undefined) continue;
      const { id, label, prefix } = seriesOf(row);
      let entry = series.get(id);
      if (!entry) {
        entry = { id, label, prefix, values: new Array(days.length).fill(0), total: 0 };
        series.set(id, entry);
      }
      const value = metric.value(row);
      entry.values[i] += value;
      entry.total += value;
    }
    const ranked = [...series.values()].sort((a, b) => b.total - a.total || a.label.localeCompare(b.label));
    disambiguate(ranked);
    const shown = ranked.slice(0, MAX_SERIES);
    const rest = ranked.slice(MAX_SERIES);
    if (rest.length) {
      const values = days.map((_, i) => sum(rest, (s) => s.values[i]));
      shown.push({ id: "other", label: `${rest.length} others`, values, color: OTHER_COLOR });
    }
    return shown.map((s, i) => ({
      label: s.label,
      data: s.values,
      backgroundColor: s.color || PALETTE[i % PALETTE.length],
      borderWidth: 0,
      borderRadius: 2,
      maxBarThickness: 36,
    }));
  }

  /** Two keys with one name: add the key's prefix to tell them apart. */
  function disambiguate(series) {
    const counts = new Map();
    for (const s of series) counts.set(s.label, (counts.get(s.label) || 0) + 1);
    for (const s of series) if (counts.get(s.label) > 1 && s.prefix) s.label = `${s.label} (${s.prefix})`;
  }

  const shortDay = (day) => {
    const [, month, date] = day.split("-");
    const names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    return `${names[Number(month) - 1]} ${Number(date)}`;
  };

  function drawChart(canvasId, titleId, sets, days, breakdown) {
    const metric = METRICS[state.metric];
    setText(titleId, `${metric.title} per day, by ${breakdown}`);
    const previous = state.charts[canvasId];
    if (previous) previous.destroy();
    const canvas = byId(canvasId);
    state.charts[canvasId] = new window.Chart(canvas, {
      type: "bar",
      data: { labels: days, datasets: sets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: {
            stacked: true,
            grid: { display: false },
            ticks: {
              maxRotation: 0,
              autoSkip: true,
              autoSkipPadding: 12,
              callback(value) {
                return shortDay(this.getLabelForValue(value));
              },
            },
          },
          y: {
            stacked: true,
            beginAtZero: true,
            grid: { color: "#eef1f5" },
            ticks: { callback: (value) => metric.axis(value) },
          },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12, padding: 14 } },
          tooltip: {
            filter: (item) => item.parsed.y !== 0,
            callbacks: { label: (item) => `${item.dataset.label}: ${metric.format(item.parsed.y)}` },
          },
        },
      },
    });
  }

  function renderCharts() {
    const { days, byKey, byModel } = state.reports;
    const keySets = datasets(byKey, days, (row) => ({
      id: row.key_id || "master",
      label: keyLabel(row),
      prefix: row.key_prefix,
    }));
    const modelSets = datasets(byModel, days, (row) => ({ id: row.model || "", label: row.model || "(unknown)" }));
    drawChart("chart-key", "chart-key-title", keySets, days, "key");
    drawChart("chart-model", "chart-model-title", modelSets, days, "model");
  }

  // ---- The totals table ---------------------------------------------------------------------------------

  function renderTable(rows) {
    const table = byId("usage-table");
    const body = clear(table.tBodies[0]);
    const foot = clear(table.tFoot);
    const sorted = [...rows].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests);
    for (const row of sorted) {
      const tokens = METRICS.tokens.value(row);
      body.append(
        el(
          "tr",
          { dataset: { keyId: row.key_id || "", keyName: row.key_name || "" } },
          el("td", {}, el("span", { text: keyLabel(row) }), row.key_id ? el("span", { class: "sub mono", text: row.key_id }) : null),
          el("td", { class: "mono nowrap", text: row.key_prefix ? `ogk-${row.key_prefix}…` : DASH }),
          el("td", { class: "nowrap", text: row.team || DASH }),
          el("td", { class: "num", dataset: { field: "requests" }, text: fmtInt(row.requests) }),
          el("td", { class: "num", dataset: { field: "errors" }, text: fmtInt(row.errors) }),
          el("td", { class: "num", dataset: { field: "tokens" }, text: fmtInt(tokens) }),
          el("td", { class: "num", dataset: { field: "cost" }, text: fmtUsd(row.cost_usd) }),
          el("td", { class: "num", text: fmtMs(row.latency_ms_avg) }),
        ),
      );
    }
    byId("usage-empty").hidden = rows.length > 0;
    if (rows.length > 1) {
      const latency = sum(rows, (r) => r.latency_ms_avg * r.requests) / Math.max(1, sum(rows, (r) => r.requests));
      foot.append(
        el(
          "tr",
          {},
          el("td", { colspan: 3, text: `All ${rows.length} keys` }),
          el("td", { class: "num", text: fmtInt(sum(rows, (r) => r.requests)) }),
          el("td", { class: "num", text: fmtInt(sum(rows, (r) => r.errors)) }),
          el("td", { class: "num", text: fmtInt(sum(rows, METRICS.tokens.value)) }),
          el("td", { class: "num", text: fmtUsd(sum(rows, (r) => r.cost_usd)) }),
          el("td", { class: "num", text: fmtMs(latency) }),
        ),
      );
    }
  }

  // ---- Controls -----------------------------------------------------------------------------------------

  function press(group, button) {
    for (const b of group.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
  }

  function setup() {
    const range = byId("range");
    range.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-days]");
      if (!button) return;
      press(range, button);
      state.days = Number(button.dataset.days);
      admin.guarded(load);
    });
    const metric = byId("metric");
    metric.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-metric]");
      if (!button) return;
      press(metric, button);
      state.metric = button.dataset.metric;
      renderCharts();
    });
  }

  function reset() {
    for (const chart of Object.values(state.charts)) chart.destroy();
    state.charts = {};
    state.reports = null;
  }

  admin.usage = { setup, load, reset };
})();
