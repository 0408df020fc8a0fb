// "Tell me when it is done": when a voice this page is following finishes, say so in the tab's title while
// the tab is hidden and, for people who asked for it, in a browser notification. app.js dispatches
// `task:status` on document whenever a refreshed row's status changes; every word shown here comes from the
// server, in the page's language, through the data- attributes of the .notify element.
(function () {
  "use strict";

  var STORAGE_KEY = "soundclone.notifyWhenFinished";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : match;
    });
  }

  function supportsNotifications() {
    return "Notification" in window;
  }

  function storedChoice() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) === "yes";
    } catch (error) {
      return false; // storage switched off: behave as if never asked
    }
  }

  function storeChoice(wanted) {
    try {
      if (wanted) window.localStorage.setItem(STORAGE_KEY, "yes");
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      /* nothing to remember it in; the permission itself still applies to this page */
    }
  }

  function wantsNotifications() {
    return supportsNotifications() && Notification.permission === "granted" && storedChoice();
  }

  function init() {
    var box = document.querySelector(".notify");
    if (!box) return;
    var words = box.dataset;
    var button = box.querySelector(".notify-button");
    var state = box.querySelector(".notify-state");
    var originalTitle = document.title;
    var unseen = []; // voices that finished while the tab was hidden

    // --- The tab title ---
    function titleFor(finished) {
      if (finished.length > 1) {
        return fill(words.manyTitle, { count: finished.length });
      }
      var only = finished[0];
      return fill(only.outcome === "failed" ? words.failedTitle : words.finishedTitle, { name: only.name });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && unseen.length) {
        unseen = [];
        document.title = originalTitle;
      }
    });

    // --- The notification ---
    function showNotification(name, outcome, row) {
      var title = fill(outcome === "failed" ? words.failedTitle : words.finishedTitle, { name: name });
      var link = row.querySelector(".task-name a");
      try {
        var notification = new Notification(title, {
          body: outcome === "failed" ? words.failedBody : words.finishedBody,
          tag: row.id, // one notification per voice, even if two tabs follow it
          lang: document.documentElement.lang,
        });
        notification.addEventListener("click", function () {
          window.focus();
          if (link) window.location.href = link.href;
          notification.close();
        });
      } catch (error) {
        /* some browsers only allow notifications from a service worker; the title still tells */
      }
    }

    document.addEventListener("task:status", function (event) {
      var row = event.detail && event.detail.row;
      // The server says whether a row has finished, and how (data-outcome): the page keeps no copy of the rule.
      if (!row || !row.dataset.outcome) return;
      var name = row.dataset.name;
      var outcome = row.dataset.outcome;
      var away = document.visibilityState === "hidden";
      if (away) {
        unseen.push({ name: name, outcome: outcome });
        document.title = titleFor(unseen) + " — " + words.siteTitle;
      }
      if (wantsNotifications() && (away || !document.hasFocus())) {
        showNotification(name, outcome, row);
      }
    });

    // --- The button: permission is only ever asked for when someone clicks it, never on page load ---
    // The box keeps its room from the first paint (invisible until now), so showing it moves nothing; where
    // notifications do not exist it stays an empty room rather than collapse under the reader's eyes.
    if (!supportsNotifications()) return;
    box.classList.add("is-ready");

    // On load only the button's label says the state: a line of text added below it would push the page
    // down after it was drawn. The sentences come after a click, when the reader expects a change.
    function render(clicked) {
      var permission = Notification.permission;
      if (permission === "denied") {
        button.textContent = words.onLabel;
        state.textContent = clicked ? words.deniedLabel : "";
      } else if (permission === "granted" && storedChoice()) {
        button.textContent = words.offLabel;
        state.textContent = clicked ? words.enabledLabel : "";
      } else {
        button.textContent = words.onLabel;
        state.textContent = "";
      }
    }

    button.addEventListener("click", function () {
      if (wantsNotifications()) {
        storeChoice(false);
        render(true);
        return;
      }
      if (Notification.permission !== "default") {
        storeChoice(Notification.permission === "granted");
        render(true);
        return;
      }
      Notification.requestPermission().then(function (permission) {
        storeChoice(permission === "granted");
        render(true);
      });
    });
    render(false);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
