// Drives the gateway's admin page in Debian's Chromium (playwright-core) for tests/e2e/browser/test_admin_page.py.
//
// Usage: node admin_page.mjs '<json config>' (see test_admin_page.py: url, master, keys to find, artifacts dir).
// It walks the page as an operator would and reports what it saw, one JSON line per step on stdout:
// {"step": "charts", ...}. A step with "await": true waits for one line on stdin: the test checks something
// from outside the browser first (a new secret works against /v1, a revoked one gets 401) and answers with a
// JSON line. The assertions are the test's; this script fails only when the page does not do what a step
// waits for (a timeout), reporting {"step": "error"} and saving a screenshot of the moment.

import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const TIMEOUT = 15_000;
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function emit(step, data = {}) {
  process.stdout.write(JSON.stringify({ step, ...data }) + "\n");
}

async function ask(step, data = {}) {
  emit(step, { ...data, await: true });
  const { value, done } = await stdinLines.next();
  if (done) throw new Error(`the test closed stdin while '${step}' waited for its answer`);
  return JSON.parse(value);
}

const consoleErrors = [];
const pageErrors = [];
let phase = "start";

const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: config.url });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
page.on("console", (message) => {
  if (message.type() === "error") consoleErrors.push({ phase, text: message.text() });
});
page.on("pageerror", (error) => pageErrors.push({ phase, text: String(error) }));

// ---- Helpers that read the page ------------------------------------------------------------------------

const text = (selector) => page.locator(selector).innerText();
const storedKeyIs = (key) => page.evaluate((k) => sessionStorage.getItem("ocigate.admin.masterKey") === k, key);
const storedKey = () => page.evaluate(() => sessionStorage.getItem("ocigate.admin.masterKey"));

async function submitSignIn(key) {
  await page.fill("#signin-key", key);
  await page.click("#signin-submit");
}

/** Waits until the sign-in error shows a message other than ``previous``. */
async function signInError(previous) {
  await page.waitForFunction((old) => {
    const box = document.getElementById("signin-error");
    return !box.hidden && box.textContent && box.textContent !== old;
  }, previous ?? null);
  return text("#signin-error");
}

async function allReady() {
  for (const id of ["usage", "keys", "deployments"]) {
    await page.waitForSelector(`#${id}[data-state="ready"]`);
  }
}

/** What a chart canvas holds: its Chart.js data, and how many pixels of each dataset's colour are painted. */
function chartInfo(id) {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId);
    const chart = window.Chart && window.Chart.getChart(canvas);
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
    const datasets = chart
      ? chart.data.datasets.map((set) => {
          const [r, g, b] = rgb(set.backgroundColor);
          let colour = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b && pixels[i + 3] === 255) colour++;
          }
          return { label: set.label, sum: set.data.reduce((a, v) => a + v, 0), pixels: colour };
        })
      : [];
    return {
      drawn: Boolean(chart),
      width: canvas.width,
      height: canvas.height,
      painted,
      labels: chart ? chart.data.labels : [],
      datasets,
      title: document.getElementById(canvasId + "-title").textContent,
    };
  }, id);
}

function tableRows(selector) {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => ({
      data: { ...row.dataset },
      className: row.className,
      cells: [...row.cells].map((cell) => cell.innerText.trim()),
      fields: Object.fromEntries(
        [...row.querySelectorAll("[data-field]")].map((cell) => [cell.dataset.field, cell.innerText.trim()]),
      ),
    })),
  );
}

const keyRow = (name) => page.locator(`#keys-table tbody tr[data-key-name="${name}"]`);

async function waitForKeyStatus(name, status) {
  await page.waitForFunction(
    ([n, s]) => {
      const row = document.querySelector(`#keys-table tbody tr[data-key-name="${n}"] [data-field="status"]`);
      return row && row.textContent.trim() === s;
    },
    [name, status],
  );
}

async function clickRange(days) {
  await page.click(`#range button[data-days="${days}"]`);
  await page.waitForSelector('#usage[data-state="ready"]');
  return chartInfo("chart-key");
}

async function clickMetric(metric) {
  await page.click(`#metric button[data-metric="${metric}"]`);
  return { byKey: await chartInfo("chart-key"), byModel: await chartInfo("chart-model") };
}

/** In ``datetime-local`` form: the browser's local time ``days`` from now. */
function localInput(days) {
  const d = new Date(Date.now() + days * 86400_000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function confirmDialog(answer) {
  await page.waitForSelector("#confirm[open]");
  const seen = { title: await text("#confirm-title"), text: await text("#confirm-text") };
  await page.click(answer ? "#confirm-ok" : "#confirm-cancel");
  await page.waitForSelector("#confirm:not([open])", { state: "attached" });
  return seen;
}

async function readSecretBox() {
  await page.waitForSelector("#secret-box", { state: "visible" });
  return {
    title: await text("#secret-title"),
    warning: await text("#secret-warning"),
    secret: await page.inputValue("#secret-value"),
  };
}

async function dismissSecret() {
  await page.click("#secret-dismiss");
  await page.waitForSelector("#secret-box", { state: "hidden" });
  return { hidden: await page.isHidden("#secret-box"), value: await page.inputValue("#secret-value") };
}

// ---- The walk ------------------------------------------------------------------------------------------

async function walk() {
  phase = "sign-in";
  const response = await page.goto(`${config.url}/admin`);
  emit("loaded", {
    status: response.status(),
    signinVisible: await page.isVisible("#signin-form"),
    appHidden: await page.isHidden("#app"),
  });

  await submitSignIn("not-the-master-key");
  const wrong = await signInError();
  emit("wrong_key", { error: wrong, appHidden: await page.isHidden("#app"), stored: await storedKey() });
  await page.screenshot({ path: `${config.artifacts}/signin-error.png` });

  await submitSignIn(config.teamSecret);
  emit("team_key", { error: await signInError(wrong), appHidden: await page.isHidden("#app") });

  phase = "signed-in";
  await submitSignIn(config.master);
  await allReady();
  emit("signed_in", {
    stored: await storedKeyIs(config.master),
    signinHidden: await page.isHidden("#signin"),
    errorHidden: await page.isHidden("#signin-error"),
  });

  emit("charts", {
    byKey: await chartInfo("chart-key"),
    byModel: await chartInfo("chart-model"),
    stats: {
      requests: await text("#stat-requests"),
      errors: await text("#stat-errors"),
      tokens: await text("#stat-tokens"),
      cost: await text("#stat-cost"),
    },
  });
  emit("usage_table", { rows: await tableRows("#usage-table") });

  const days7 = await clickRange(7);
  const days90 = await clickRange(90);
  const days30 = await clickRange(30);
  const tokens = await clickMetric("tokens");
  const cost = await clickMetric("cost");
  const requests = await clickMetric("requests");
  emit("controls", { days7, days90, days30, tokens, cost, requests });

  // A key made through the form: its secret is shown once, and works.
  phase = "create";
  await page.click("#new-key");
  await page.waitForSelector("#create-form", { state: "visible" });
  await page.click("#create-submit"); // empty: the form says what is missing
  await page.waitForSelector("#create-error", { state: "visible" });
  const emptyError = await text("#create-error");
  const form = config.form;
  await page.fill("#f-name", form.name);
  await page.fill("#f-team", form.team);
  await page.fill("#f-user", form.user);
  await page.fill("#f-models", form.models);
  await page.fill("#f-rpm", String(form.rpm));
  await page.fill("#f-tpm", String(form.tpm));
  await page.fill("#f-concurrent", String(form.max_concurrent));
  await page.fill("#f-budget", String(form.budget));
  await page.selectOption("#f-unit", form.unit);
  await page.selectOption("#f-period", form.period);
  await page.fill("#f-expires", localInput(form.expires_in_days));
  const modelsHint = await text("#f-models-hint");
  await page.click("#create-submit");
  const created = await readSecretBox();
  await page.click("#secret-copy");
  await page.waitForFunction(() => document.getElementById("secret-copy").textContent !== "Copy");
  const copied = {
    button: await text("#secret-copy"),
    clipboardMatches: await page.evaluate(async (s) => (await navigator.clipboard.readText()) === s, created.secret),
  };
  await page.screenshot({ path: `${config.artifacts}/secret.png` });
  await ask("created", { ...created, emptyError, modelsHint, copied, formHidden: await page.isHidden("#create-form") });
  await keyRow(form.name).waitFor();
  emit("created_row", {
    row: (await tableRows("#keys-table")).find((r) => r.data.keyName === form.name),
    dismissed: await dismissSecret(),
  });

  // An error from the API is shown with its message: rotating a key that someone revoked meanwhile.
  phase = "stale";
  await ask("revoke_behind");
  await keyRow(config.staleKey).getByRole("button", { name: "Rotate" }).click();
  await confirmDialog(true);
  await page.waitForSelector("#notice", { state: "visible" });
  await waitForKeyStatus(config.staleKey, "revoked"); // the list is reloaded: it shows what the gateway has now
  emit("stale_rotate", { notice: await text("#notice-text"), secretHidden: await page.isHidden("#secret-box") });
  await page.click("#notice-close");

  // Rotate: a new secret, shown once; the old one stops working.
  phase = "rotate";
  await keyRow(config.rotateKey).getByRole("button", { name: "Rotate" }).click();
  const rotateDialog = await confirmDialog(true);
  const rotated = await readSecretBox();
  const newPrefix = `ogk-${rotated.secret.slice(4, 12)}…`;
  await page
    .waitForFunction(
      ([name, prefix]) => {
        const row = document.querySelector(`#usage-table tbody tr[data-key-name="${name}"]`);
        return row && row.cells[1].textContent === prefix;
      },
      [config.rotateKey, newPrefix],
      { timeout: 5000 },
    )
    .catch(() => {}); // the test reports what the table shows
  const usageRow = (await tableRows("#usage-table")).find((r) => r.data.keyName === config.rotateKey);
  await ask("rotated", { ...rotated, dialog: rotateDialog, usagePrefix: usageRow && usageRow.cells[1] });
  await dismissSecret();

  // Revoke, with a confirmation that can be cancelled.
  phase = "revoke";
  await keyRow(form.name).getByRole("button", { name: "Revoke" }).click();
  const cancelled = await confirmDialog(false);
  const statusAfterCancel = await keyRow(form.name).locator('[data-field="status"]').innerText();
  await keyRow(form.name).getByRole("button", { name: "Revoke" }).click();
  const confirmed = await confirmDialog(true);
  await waitForKeyStatus(form.name, "revoked");
  await ask("revoked", {
    cancelled,
    statusAfterCancel,
    confirmed,
    notice: await text("#notice-text"),
    row: (await tableRows("#keys-table")).find((r) => r.data.keyName === form.name),
    actionsLeft: await keyRow(form.name).getByRole("button").count(),
  });

  phase = "deployments";
  emit("deployments", { rows: await tableRows("#deployments-table") });

  await page.click("#notice-close");
  await page.screenshot({ path: `${config.artifacts}/admin.png`, fullPage: true });
  const overflow = await page.$$eval(".table-wrap", (wraps) =>
    Object.fromEntries(wraps.map((w) => [w.querySelector("table").id, w.scrollWidth - w.clientWidth])),
  );
  emit("screenshot", { path: `${config.artifacts}/admin.png`, overflow });

  // The key lives in the tab's session: a reload stays signed in; signing out forgets it.
  phase = "session";
  await page.reload();
  await allReady();
  const reloaded = { appVisible: await page.isVisible("#app"), stored: await storedKeyIs(config.master) };
  await page.click("#sign-out");
  await page.waitForSelector("#signin-form", { state: "visible" });
  emit("session", {
    reloaded,
    signedOut: { appHidden: await page.isHidden("#app"), stored: await storedKey() },
  });

  // A key the gateway refuses later (changed, or a stale tab): back to the sign-in form with the reason.
  phase = "refused";
  await page.evaluate(() => sessionStorage.setItem("ocigate.admin.masterKey", "a-stale-key"));
  await page.reload();
  const refused = await signInError();
  emit("refused_session", { error: refused, appHidden: await page.isHidden("#app"), stored: await storedKey() });

  emit("done", { consoleErrors, pageErrors });
}

try {
  await walk();
} catch (error) {
  await page.screenshot({ path: `${config.artifacts}/failure.png`, fullPage: true }).catch(() => {});
  emit("error", { phase, message: String(error && error.stack ? error.stack : error), consoleErrors, pageErrors });
  process.exitCode = 1;
} finally {
  await browser.close();
  stdinLines.return?.();
  process.stdin.destroy();
}
