// The list's filters apply as soon as one changes; without this script the Apply button does the same.
(function () {
  "use strict";

  // After the page reloads with the new filter, focus goes back to the control that was changed (and its
  // "Filters" disclosure opens again), so that keyboard users carry on where they were.
  var REFOCUS_KEY = "soundclone:filters:refocus";
  var ARROW_KEYS = { ArrowUp: true, ArrowDown: true, ArrowLeft: true, ArrowRight: true, Home: true, End: true, PageUp: true, PageDown: true };

  function filterForm(element) {
    var form = element && element.form;
    return form && form.matches("form[data-apply-on-change]") ? form : null;
  }

  function apply(control) {
    var form = filterForm(control);
    if (!form || form.dataset.applying === "yes") return;
    form.dataset.applying = "yes";
    try {
      if (control.id) window.sessionStorage.setItem(REFOCUS_KEY, control.id);
    } catch (error) {
      // Storage can be switched off; the filter still applies, focus just starts at the top.
    }
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  // A closed select changes with each arrow key in some browsers: applying then would reload the page at
  // the first key press. Choices made with the keyboard apply on Enter or when the select loses focus.
  var choosingByKeyboard = null;
  var changedByKeyboard = null;

  document.addEventListener("keydown", function (event) {
    var control = event.target;
    if (!filterForm(control) || control.tagName !== "SELECT") return;
    if (ARROW_KEYS[event.key]) {
      choosingByKeyboard = control;
    } else if (event.key === "Enter" && changedByKeyboard === control) {
      event.preventDefault();
      apply(control);
    }
  });

  document.addEventListener("pointerdown", function () {
    choosingByKeyboard = null;
  });

  document.addEventListener("change", function (event) {
    var control = event.target;
    if (!filterForm(control) || control.type === "search") return;
    if (control.tagName === "SELECT" && choosingByKeyboard === control) {
      changedByKeyboard = control;
      return;
    }
    apply(control);
  });

  document.addEventListener("focusout", function (event) {
    if (changedByKeyboard && event.target === changedByKeyboard) apply(changedByKeyboard);
  });

  // The address is the bookmark: only the filters in force go into it (no "status=&version=&…").
  function tidyAddress(form) {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || control.disabled || control.type === "submit" || control.type === "button") return;
      if (control.type === "checkbox") {
        if (control.checked) params.append(control.name, "1");
      } else if (control.tagName === "SELECT") {
        // The first option is the default ("Any status", "Newest first"): leaving it out changes nothing.
        if (control.selectedIndex > 0) params.append(control.name, control.value);
      } else if (control.value.trim()) {
        params.append(control.name, control.value);
      }
    });
    var query = params.toString();
    return form.action.split("?")[0] + (query ? "?" + query : "");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-apply-on-change]")) return;
    event.preventDefault();
    window.location.assign(tidyAddress(form));
  });

  function refocus() {
    var id = null;
    try {
      id = window.sessionStorage.getItem(REFOCUS_KEY);
      window.sessionStorage.removeItem(REFOCUS_KEY);
    } catch (error) {
      return;
    }
    var control = id && document.getElementById(id);
    if (!control || !filterForm(control)) return;
    var disclosure = control.closest("details");
    if (disclosure) disclosure.open = true;
    control.focus({ preventScroll: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refocus);
  } else {
    refocus();
  }
})();
