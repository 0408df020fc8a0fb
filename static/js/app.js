// SoundClone Studio: behaviour shared by every page. No HTML is built here: rows come from the server.
(function () {
  "use strict";

  // --- Status refresh: browsers ask our database (never the voice service) about unfinished rows. ---
  // Hidden tabs slow right down; finished rows carry no .pending-id, so they are never asked about again.
  var HIDDEN_FACTOR = 10;

  function startRefresh() {
    var refresher = document.getElementById("task-refresher");
    if (!refresher || !window.htmx) return;
    var interval = parseInt(refresher.dataset.refreshMs, 10) || 3000;
    var timer = null;

    function schedule() {
      var delay = document.visibilityState === "hidden" ? interval * HIDDEN_FACTOR : interval;
      timer = window.setTimeout(tick, delay);
    }
    function tick() {
      if (document.querySelector(".pending-id")) {
        window.htmx.trigger(document.body, "refresh-tick");
        schedule();
      } else {
        timer = null;
      }
    }
    document.addEventListener("visibilitychange", function () {
      // Coming back to the tab: refresh at once instead of waiting for the slow timer.
      if (document.visibilityState === "visible" && timer !== null) {
        window.clearTimeout(timer);
        tick();
      }
    });
    schedule();
  }

  // A status change is announced to screen readers, and (when the tab is hidden) in the tab's title.
  function announce(row) {
    var announcer = document.getElementById("status-announcer");
    var text = row.dataset.name + ": " + row.dataset.statusLabel;
    if (announcer) announcer.textContent = text;
    document.dispatchEvent(new CustomEvent("task:status", { detail: { row: row, text: text } }));
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    // htmx fires this on the elements it swapped in (event.target); detail.target is the row they replaced,
    // already out of the document, still showing the old status.
    var row = event.target;
    if (!row || !row.classList || !row.classList.contains("task")) return;
    var status = row.dataset.status;
    if (status === row.dataset.previousStatus || status === row.dataset.announcedStatus) return;
    row.dataset.announcedStatus = status; // htmx may report one swap more than once: announce it once
    announce(row);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var row = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (row && incoming && incoming.dataset) incoming.dataset.previousStatus = row.dataset.status || "";
  });

  // --- Copy buttons: put the value on the clipboard and say so. ---
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a LAN has no clipboard API: fall back to selecting a temporary field.
    return new Promise(function (resolve, reject) {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.className = "offscreen";
      document.body.appendChild(field);
      field.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(field);
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    copyText(button.dataset.copy).then(function () {
      button.textContent = button.dataset.copiedLabel || "Copied";
      button.classList.add("copied");
      window.setTimeout(function () {
        button.textContent = original;
        button.classList.remove("copied");
      }, 2000);
    }, function () {
      button.textContent = original;
    });
  });

  // --- Small conveniences that must not need inline script (the CSP forbids it). ---
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-submit-once]")) return;
    // The server refuses duplicates anyway (one token per form); this only spares a confusing second click.
    if (form.dataset.submitted === "yes") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "yes";
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startRefresh);
  } else {
    startRefresh();
  }
})();
