/* The admin page's start: the sign-in form (the master key is checked against the gateway, then kept in this
 * tab's sessionStorage), sign-out (also what any 401 or 403 leads to, with the gateway's message), and the
 * refresh of every section. */
"use strict";

(function () {
  const admin = window.ocigateAdmin;
  const { byId, setText, ApiError } = admin;

  function show(signedIn) {
    byId("signin").hidden = signedIn;
    byId("app").hidden = !signedIn;
    byId("nav").hidden = !signedIn;
    byId("session").hidden = !signedIn;
  }

  function signInError(message) {
    const box = byId("signin-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  /** Back to the sign-in form, forgetting the key; ``message`` says why (shown on the form). */
  function signOut(message) {
    admin.session.key = null;
    admin.usage.reset();
    admin.keys.reset();
    admin.deployments.reset();
    admin.clearNotice();
    show(false);
    signInError(message);
    const input = byId("signin-key");
    input.value = "";
    input.focus();
  }

  const SECTIONS = ["usage", "keys", "deployments"];

  /** Loads every section; false when the gateway refused the key (and so signed out). */
  async function refresh() {
    const button = byId("refresh");
    button.disabled = true;
    try {
      const results = await Promise.allSettled(SECTIONS.map((name) => admin[name].load()));
      const failures = [];
      results.forEach((result, i) => {
        if (result.status === "rejected") {
          byId(SECTIONS[i]).dataset.state = "error";
          failures.push(result.reason);
        }
      });
      const refused = failures.find((err) => err instanceof ApiError && err.refused);
      if (refused) {
        signOut(`The gateway refused the key: ${refused.message} Sign in again.`);
        return false;
      }
      if (failures.length) {
        admin.notify([...new Set(failures.map((err) => err.message))].join(" "));
      }
      setText("updated", `Updated ${new Date().toLocaleTimeString()}`);
      return true;
    } finally {
      button.disabled = false;
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const key = byId("signin-key").value.trim();
    if (!key) {
      signInError("Enter the master key.");
      return;
    }
    const button = byId("signin-submit");
    button.disabled = true;
    signInError("");
    try {
      await admin.api("/deployments", { key }); // a cheap call that needs the master key
    } catch (err) {
      signInError(err instanceof ApiError && err.refused ? `Sign-in failed: ${err.message}` : err.message);
      return;
    } finally {
      button.disabled = false;
    }
    admin.session.key = key;
    byId("signin-key").value = "";
    show(true);
    await refresh();
  }

  function start() {
    if (typeof window.Chart !== "function") {
      admin.notify("The chart library did not load: the charts stay empty. Reload the page.");
    }
    admin.signOut = signOut;
    admin.usage.setup();
    admin.keys.setup();
    byId("signin-form").addEventListener("submit", signIn);
    byId("sign-out").addEventListener("click", () => signOut(""));
    byId("refresh").addEventListener("click", refresh);
    byId("notice-close").addEventListener("click", admin.clearNotice);
    if (admin.session.key) {
      show(true);
      refresh();
    } else {
      show(false);
      byId("signin-key").focus();
    }
  }

  start();
})();
