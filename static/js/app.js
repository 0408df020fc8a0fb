// SoundClone Studio: behaviour shared by every page. No HTML is built here: rows come from the server.
(function () {
  "use strict";

  // --- Status refresh: browsers ask our database (never the voice service) about unfinished rows. ---
  // The page sends the version of each row it shows ("pk:version" in .pending-id) and hears 204 No Content
  // when none changed, so an idle tab costs a few hundred bytes a minute. It asks no more often than the
  // worker can learn something new: every interval (SOUNDCLONE_BROWSER_REFRESH_SECONDS, 5 s) while a row is
  // young, as the worker asks the service every 5 s for two minutes (services._poll_delay); then
  // OLDER_FACTOR times slower, as the worker slows to 10 s and more, but still within the promise that a
  // finished voice shows within 10 s of the worker learning it. Hidden tabs slow right down; finished rows
  // carry no .pending-id, so they are never asked about again, and with none left the timer stops.
  var OLDER_FACTOR = 1.6;
  var HIDDEN_FACTOR = 6;
  var YOUNG_SECONDS = 120;

  function pendingRows() {
    return Array.prototype.map.call(document.querySelectorAll(".pending-id"), function (input) {
      return input.closest(".task");
    });
  }

  // --- Running times: counted on here, so that a row that did not change needs no answer. ---
  // Each .running-time holds the seconds it had when rendered; the words follow duration_words' patterns,
  // in the page's language, from the refresher's data-duration-patterns.
  var runningSince = typeof WeakMap === "function" ? new WeakMap() : null;

  function secondsRunning(element) {
    var since = runningSince && runningSince.get(element);
    if (since === undefined) {
      since = Date.now() - (parseInt(element.dataset.seconds, 10) || 0) * 1000;
      if (runningSince) runningSince.set(element, since);
    }
    return Math.max(0, Math.floor((Date.now() - since) / 1000));
  }

  function durationWords(total, patterns) {
    var values = {
      days: Math.floor(total / 86400),
      hours: Math.floor((total % 86400) / 3600),
      minutes: Math.floor((total % 3600) / 60),
      seconds: total % 60,
    };
    var pattern = values.days ? patterns.days : values.hours ? patterns.hours
      : values.minutes ? patterns.minutes : patterns.seconds;
    return pattern.replace(/%\((\w+)\)d/g, function (match, name) {
      return String(values[name]);
    });
  }

  function youngestAge() {
    var youngest = Infinity;
    pendingRows().forEach(function (row) {
      var running = row && row.querySelector(".running-time");
      youngest = Math.min(youngest, running ? secondsRunning(running) : 0);
    });
    return youngest;
  }

  function startRefresh() {
    var refresher = document.getElementById("task-refresher");
    if (!refresher || !window.htmx) return;
    var interval = parseInt(refresher.dataset.refreshMs, 10) || 5000;
    var patterns = null;
    try {
      patterns = JSON.parse(refresher.dataset.durationPatterns || "null");
    } catch (error) {
      patterns = null; // the server's words stay as they were rendered
    }
    var timer = null;
    var clock = null;

    function delay() {
      var wait = youngestAge() < YOUNG_SECONDS ? interval : interval * OLDER_FACTOR;
      return document.visibilityState === "hidden" ? wait * HIDDEN_FACTOR : wait;
    }
    function schedule() {
      window.clearTimeout(timer);
      timer = document.querySelector(".pending-id") ? window.setTimeout(tick, delay()) : null;
    }
    function tick() {
      timer = null;
      if (!document.querySelector(".pending-id")) return;
      window.htmx.trigger(document.body, "refresh-tick");
      schedule();
    }
    function countOn() {
      var running = document.querySelectorAll(".task .running-time");
      if (!running.length || !patterns) {
        window.clearInterval(clock);
        clock = null;
        return;
      }
      Array.prototype.forEach.call(running, function (element) {
        var words = durationWords(secondsRunning(element), patterns);
        if (element.textContent !== words) element.textContent = words;
      });
    }
    document.addEventListener("visibilitychange", function () {
      // Coming back to the tab: refresh at once instead of waiting for the slow timer.
      if (document.visibilityState === "visible" && timer !== null) {
        window.clearTimeout(timer);
        tick();
      }
    });
    if (!document.querySelector(".pending-id")) return; // nothing will change: no timer, no request
    schedule();
    if (patterns) clock = window.setInterval(countOn, 1000);
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
    restoreFocus(row);
    var status = row.dataset.status;
    if (status === row.dataset.previousStatus || status === row.dataset.announcedStatus) return;
    row.dataset.announcedStatus = status; // htmx may report one swap more than once: announce it once
    announce(row);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var row = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (row && incoming && incoming.dataset) incoming.dataset.previousStatus = row.dataset.status || "";
    rememberFocus(row);
  });

  // --- Focus stays put when a row is refreshed. ---
  // A refresh replaces the whole row: the focused link or button leaves the document, and the next Tab would
  // start after the old row, skipping the new player and Copy. So the control is found again in the new row
  // (same element, class, link, name and form, and the same one of several alike), or the row itself takes
  // focus when that control is gone.
  var focusToRestore = null;

  function signature(element) {
    return [
      element.tagName,
      (element.getAttribute("class") || "").replace(/\bcopied\b/, "").trim(),
      element.getAttribute("href") || "",
      element.getAttribute("name") || "",
      element.form ? element.form.getAttribute("action") || "" : "",
    ].join("|");
  }

  function alike(row, wanted, tag) {
    return Array.prototype.filter.call(row.querySelectorAll(tag), function (element) {
      return signature(element) === wanted;
    });
  }

  function rememberFocus(row) {
    var focused = document.activeElement;
    if (!row || !row.id || !focused || !row.contains(focused)) return;
    if (focused === row) {
      focusToRestore = { rowId: row.id, signature: null };
      return;
    }
    var wanted = signature(focused);
    focusToRestore = {
      rowId: row.id,
      signature: wanted,
      tag: focused.tagName,
      index: alike(row, wanted, focused.tagName).indexOf(focused),
    };
  }

  function restoreFocus(row) {
    if (!focusToRestore || focusToRestore.rowId !== row.id) return;
    var wanted = focusToRestore;
    focusToRestore = null;
    var target = null;
    if (wanted.signature !== null) {
      var candidates = alike(row, wanted.signature, wanted.tag);
      target = candidates[wanted.index] || candidates[0] || null;
    }
    if (!target) {
      target = row;
      row.setAttribute("tabindex", "-1");
      row.addEventListener("blur", function () {
        row.removeAttribute("tabindex");
      }, { once: true });
    }
    target.focus({ preventScroll: true });
  }

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
