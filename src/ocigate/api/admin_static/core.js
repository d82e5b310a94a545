/* The admin page's shared pieces: the namespace every script adds to, DOM helpers that only ever set text
 * (data never goes through innerHTML), number and date formats, notices, and the API client that sends the
 * master key as a Bearer token and turns the gateway's OpenAI-style errors into readable messages. */
"use strict";

(function () {
  const admin = (window.ocigateAdmin = window.ocigateAdmin || {});
  const STORAGE_KEY = "ocigate.admin.masterKey";

  // ---- DOM ----------------------------------------------------------------------------------------------

  const byId = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes, null and false are skipped. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    node.replaceChildren();
    return node;
  }

  function setText(id, value) {
    byId(id).textContent = value;
  }

  // ---- Formats ------------------------------------------------------------------------------------------

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const compactFormat = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const DASH = "—";

  function fmtInt(value) {
    return value === null || value === undefined ? DASH : integer.format(value);
  }

  function fmtCompact(value) {
    return compactFormat.format(value);
  }

  /** $12.34, or more digits for small amounts ($0.00042), so that a few cheap requests do not read $0.00. */
  function fmtUsd(value) {
    if (value === null || value === undefined) return DASH;
    if (value === 0) return "$0.00";
    if (Math.abs(value) < 0.01) return "$" + Number(value.toPrecision(2)).toString();
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function fmtMs(value) {
    if (value === null || value === undefined) return DASH;
    return value >= 1000 ? (value / 1000).toFixed(2) + " s" : Math.round(value) + " ms";
  }

  const pad = (n) => String(n).padStart(2, "0");

  /** A Unix time as local "YYYY-MM-DD HH:MM". */
  function fmtTime(seconds) {
    if (seconds === null || seconds === undefined) return DASH;
    const d = new Date(seconds * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** "in 3 days", "2 h ago": how far a Unix time is from now. */
  function fmtRelative(seconds) {
    const delta = seconds - Date.now() / 1000;
    const abs = Math.abs(delta);
    const [amount, unit] =
      abs < 90 ? [Math.round(abs), "s"] : abs < 5400 ? [Math.round(abs / 60), "min"]
        : abs < 129600 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), abs < 172800 ? "day" : "days"];
    return delta >= 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
  }

  /** A UTC day "YYYY-MM-DD" for a Date. */
  function utcDay(date) {
    return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  }

  // ---- Notices ------------------------------------------------------------------------------------------

  function notify(message, kind) {
    const box = byId("notice");
    box.classList.toggle("info", kind === "info");
    setText("notice-text", message);
    box.hidden = false;
  }

  function clearNotice() {
    byId("notice").hidden = true;
    setText("notice-text", "");
  }

  // ---- The API ------------------------------------------------------------------------------------------

  /** An error from the gateway: ``status`` is the HTTP status (0 when the gateway could not be reached). */
  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.code = code || null;
    }

    get refused() {
      return this.status === 401 || this.status === 403;
    }
  }

  /** Where the admin API lives: this page's own path (``/admin``, or under a proxy's prefix). */
  function apiBase() {
    return window.location.pathname.replace(/\/+$/, "");
  }

  const session = {
    get key() {
      return window.sessionStorage.getItem(STORAGE_KEY);
    },
    set key(value) {
      if (value) window.sessionStorage.setItem(STORAGE_KEY, value);
      else window.sessionStorage.removeItem(STORAGE_KEY);
    },
  };

  /** Calls the admin API (``path`` relative to /admin) with the master key; the parsed JSON, or an ApiError. */
  async function api(path, options) {
    const { method = "GET", body, key = session.key } = options || {};
    const headers = { Accept: "application/json", Authorization: `Bearer ${key || ""}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(apiBase() + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiError(0, `Cannot reach the gateway (${err.message}).`);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const detail = data && data.error && typeof data.error === "object" ? data.error : null;
      const message = detail && detail.message
        ? String(detail.message)
        : `The gateway answered ${response.status} ${response.statusText}.`.replace(" .", ".");
      throw new ApiError(response.status, message, detail && detail.code);
    }
    if (data === null) throw new ApiError(response.status, "The gateway's answer was not JSON.");
    return data;
  }

  /** Runs ``task``; an ApiError that refuses the key signs out, any other error is shown as a notice. */
  async function guarded(task) {
    try {
      return await task();
    } catch (err) {
      if (err instanceof ApiError && err.refused && admin.signOut) {
        admin.signOut(`The gateway refused the key: ${err.message}`);
      } else {
        notify(err instanceof ApiError ? err.message : `Unexpected error: ${err.message}`);
      }
      return undefined;
    }
  }

  Object.assign(admin, {
    byId, el, append, clear, setText,
    fmtInt, fmtCompact, fmtUsd, fmtMs, fmtTime, fmtRelative, utcDay, DASH,
    notify, clearNotice,
    ApiError, api, guarded, session,
  });
})();
