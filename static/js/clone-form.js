// The clone form: the language list follows the model version, the preview text has a live counter and a
// sample sentence in the chosen language.
// Options come from the server (clones/languages.py); this only shows or hides them.
(function () {
  "use strict";

  // "Earlier clones of this link": the server's fragment for the link typed so far, swapped in as it is typed
  // (a pause of 0.7 s) or changed; an answer to an older link never replaces a newer one.
  function followDuplicates(form) {
    var warning = document.getElementById("duplicate-warning");
    var link = form.querySelector("input[name=file_url]");
    if (!warning || !link || !window.fetch) return;
    var timer = null;
    var asked = 0;
    function check() {
      var mine = ++asked;
      var url = warning.dataset.checkUrl + "?" + new URLSearchParams({ file_url: link.value }).toString();
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (fragment) {
          if (fragment !== null && mine === asked) warning.innerHTML = fragment;
        })
        .catch(function () {});
    }
    link.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 700);
    });
    link.addEventListener("change", function () {
      clearTimeout(timer);
      check();
    });
  }

  function init() {
    var form = document.querySelector(".clone-form");
    if (!form) return;
    followDuplicates(form);
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

    // "Use a sample sentence": left empty, the service reads its own Chinese sentence whatever the language.
    // The sentences come from clones/languages.py, as data on the text area (data-samples); none is written here.
    var sampleButton = document.getElementById("use-sample-sentence");
    var sampleNote = document.getElementById("sample-sentence-note");
    if (text && sampleButton && sampleNote) {
      var samples = JSON.parse(text.dataset.samples || "{}");
      var isSample = function (value) {
        return Object.keys(samples).some(function (language) { return samples[language] === value; });
      };
      var updateSample = function () {
        var option = select.options[select.selectedIndex];
        var hasSample = Boolean(select.value && samples[select.value]);
        sampleButton.disabled = !hasSample;
        if (!select.value) {
          sampleNote.textContent = sampleNote.dataset.noLanguage;
        } else if (!hasSample) {
          sampleNote.textContent = sampleNote.dataset.noSample.replace("{language}", option.textContent.trim());
        } else {
          sampleNote.textContent = "";
        }
      };
      sampleButton.addEventListener("click", function () {
        var sentence = samples[select.value];
        if (!sentence) return;
        var typed = text.value.trim();
        if (typed && !isSample(typed) && !window.confirm(sampleButton.dataset.confirm)) return;
        text.value = sentence;
        text.dispatchEvent(new Event("input", { bubbles: true }));
        text.focus();
      });
      select.addEventListener("change", updateSample);
      Array.prototype.forEach.call(versionInputs, function (input) {
        input.addEventListener("change", updateSample);
      });
      sampleButton.hidden = false;
      updateSample();
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
