// The speech form: a live character counter, "Insert pause" (<#x#> at the cursor), and the language list
// following the model version. Options and texts come from the server; this builds no HTML.
(function () {
  "use strict";

  var PAUSE = /^[0-9]{1,2}(\.[0-9]{1,2})?$/;

  function init() {
    var form = document.querySelector(".speech-form");
    if (!form) return;
    var text = form.querySelector("textarea[name=text]");
    var counter = document.getElementById("speech-text-counter");
    var limit = parseInt(counter.dataset.limit, 10);

    function updateCounter() {
      // Code points, pause markers included, as the service counts them (not UTF-16 units).
      var count = Array.from(text.value.trim()).length;
      // Grouped as the help text writes the limit ("9,999"), in the page's language.
      var locale = document.documentElement.lang || undefined;
      counter.textContent = counter.dataset.template
        .replace("{count}", count.toLocaleString(locale))
        .replace("{limit}", limit.toLocaleString(locale));
      counter.classList.toggle("over", count > limit);
    }
    text.addEventListener("input", updateCounter);
    updateCounter();

    var seconds = document.getElementById("pause-seconds");
    var message = document.getElementById("pause-message");
    document.getElementById("insert-pause").addEventListener("click", function () {
      var value = seconds.value.trim();
      var number = parseFloat(value);
      if (!PAUSE.test(value) || number < 0.01 || number > 99.99) {
        message.textContent = message.dataset.invalid;
        seconds.setAttribute("aria-invalid", "true");
        seconds.focus();
        return;
      }
      message.textContent = "";
      seconds.removeAttribute("aria-invalid");
      var marker = "<#" + value + "#>";
      var start = text.selectionStart, end = text.selectionEnd;
      text.value = text.value.slice(0, start) + marker + text.value.slice(end);
      text.focus();
      text.setSelectionRange(start + marker.length, start + marker.length);
      updateCounter();
    });

    var select = form.querySelector("select[name=language]");
    function applyVersion() {
      var checked = form.querySelector("input[name=sound_version]:checked");
      var version = checked ? checked.value : "v1";
      Array.prototype.forEach.call(select.options, function (option) {
        var offered = (option.dataset.versions || "").split(" ").indexOf(version) !== -1;
        option.hidden = !offered;
        option.disabled = !offered;
      });
    }
    Array.prototype.forEach.call(form.querySelectorAll("input[name=sound_version]"), function (input) {
      input.addEventListener("change", applyVersion);
    });
    applyVersion();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
