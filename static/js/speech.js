// Speech rows refresh themselves from our database (never the service), like the voices' rows, through their
// own endpoint; a finished row is never re-rendered, so a playing player is never cut off. Timed subtitles
// (rendered by the server) follow the player: the line being spoken is highlighted.
(function () {
  "use strict";

  var HIDDEN_FACTOR = 10;

  function startRefresh() {
    var refresher = document.getElementById("speech-refresher");
    if (!refresher || !window.htmx) return;
    var interval = parseInt(refresher.dataset.refreshMs, 10) || 3000;
    var timer = null;

    function schedule() {
      var delay = document.visibilityState === "hidden" ? interval * HIDDEN_FACTOR : interval;
      timer = window.setTimeout(tick, delay);
    }
    function tick() {
      if (document.querySelector(".pending-speech-id")) {
        window.htmx.trigger(document.body, "speech-tick");
        schedule();
      } else {
        timer = null;
      }
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && timer !== null) {
        window.clearTimeout(timer);
        tick();
      }
    });
    schedule();
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var row = event.target;
    if (!row || !row.classList || !row.classList.contains("speech")) return;
    if (row.dataset.status === row.dataset.announcedStatus) return;
    row.dataset.announcedStatus = row.dataset.status;
    var announcer = document.getElementById("speech-announcer");
    if (announcer) announcer.textContent = row.dataset.name + ": " + row.dataset.statusLabel;
  });

  function followSubtitles(player) {
    var audio = player.querySelector("audio");
    var list = player.querySelector(".subtitles");
    if (!audio || !list) return;
    var lines = Array.prototype.slice.call(list.querySelectorAll("li"));
    var current = null;
    audio.addEventListener("timeupdate", function () {
      var time = audio.currentTime;
      var found = null;
      for (var i = 0; i < lines.length; i++) {
        if (time >= parseFloat(lines[i].dataset.start) && time < parseFloat(lines[i].dataset.end)) {
          found = lines[i];
          break;
        }
      }
      if (found === current) return;
      if (current) {
        current.classList.remove("current");
        current.removeAttribute("aria-current");
      }
      current = found;
      if (current) {
        current.classList.add("current");
        current.setAttribute("aria-current", "true");
        // Scroll the list, not the page.
        list.scrollTop = current.offsetTop - list.offsetTop - list.clientHeight / 3;
      }
    });
  }

  function init() {
    startRefresh();
    Array.prototype.forEach.call(document.querySelectorAll(".speech-player"), followSubtitles);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
