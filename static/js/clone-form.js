// The clone form: the language list follows the model version, and the preview text has a live counter.
// Options come from the server (clones/languages.py); this only shows or hides them.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector(".clone-form");
    if (!form) return;
    var select = form.querySelector("select[name=language]");
    var notice = document.getElementById("language-notice");
    var versionInputs = form.querySelectorAll("input[name=sound_version]");

    function currentVersion() {
      var checked = form.querySelector("input[name=sound_version]:checked");
      return checked ? checked.value : "v1";
    }

    function applyVersion(userChanged) {
      var version = currentVersion();
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) return;
        var offered = (option.dataset.versions || "").split(" ").indexOf(version) !== -1;
        option.hidden = !offered;
        option.disabled = !offered;
      });
      var selected = select.options[select.selectedIndex];
      if (selected && selected.value && selected.disabled) {
        if (userChanged) {
          notice.textContent = notice.dataset.template
            .replace("{language}", selected.textContent.trim())
            .replace("{version}", version);
          notice.hidden = false;
        }
        select.value = "";
      } else if (userChanged) {
        notice.hidden = true;
        notice.textContent = "";
      }
    }

    Array.prototype.forEach.call(versionInputs, function (input) {
      input.addEventListener("change", function () { applyVersion(true); });
    });
    select.addEventListener("change", function () {
      notice.hidden = true;
      notice.textContent = "";
    });
    applyVersion(false);

    var text = form.querySelector("textarea[name=content_text]");
    var counter = document.getElementById("content-text-counter");
    if (text && counter) {
      // The one place the page states the limit: rendered from clones/forms.py MAX_CONTENT_TEXT.
      var limit = parseInt(counter.dataset.limit, 10);
      var update = function () {
        // Code points after trimming, as the service counts them (not UTF-16 units).
        var count = Array.from(text.value.trim()).length;
        counter.textContent = counter.dataset.template.replace("{count}", count).replace("{limit}", limit);
        counter.classList.toggle("over", count > limit);
      };
      text.addEventListener("input", update);
      update();
    }
  }

  // A refused form opens on its error summary (templates/form_error_summary.html), so keyboard and
  // screen-reader users meet what went wrong first, wherever the form is on the page; each link in it
  // moves focus to its field (a plain #link would only scroll there).
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      field.focus();
    });
  }

  function start() {
    init();
    focusErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
