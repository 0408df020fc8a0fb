// SoundClone Studio: the first time a person is seen without a stored time zone, report the browser's zone
// once, so that every page shows times where they are. A zone the person picked is never overridden (the
// server keeps it). No HTML is built here.
(function () {
  "use strict";

  var REPORTED_KEY = "soundclone-time-zone-reported";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function alreadyReported() {
    try {
      return window.sessionStorage.getItem(REPORTED_KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  function markReported() {
    try {
      window.sessionStorage.setItem(REPORTED_KEY, "1");
    } catch (error) {
      // Private modes may refuse storage: at worst the zone is reported again on the next page.
    }
  }

  function start() {
    var link = document.getElementById("time-zone-link");
    if (!link || !link.dataset.detectUrl || !window.fetch || alreadyReported()) return;
    var zone = browserZone();
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!zone || !token) return;
    // Typing has begun: the page is not reloaded under the person's hands; the next page shows the zone.
    var hasTyped = false;
    document.addEventListener("input", function () { hasTyped = true; }, { once: true });
    markReported();
    var body = new URLSearchParams();
    body.set("time_zone", zone);
    body.set("detected", "1");
    window.fetch(link.dataset.detectUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token.value, Accept: "application/json" },
      body: body,
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || !answer.shows_other_times || hasTyped) return;
        // The page's times were written in the fallback zone: show them again in the person's own.
        window.location.reload();
      })
      .catch(function () {});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
