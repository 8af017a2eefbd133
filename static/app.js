/* Exchange: a little progressive enhancement. Every page works without it. */
(function () {
  "use strict";

  // Quick choices (1, 2, 4, 8 h) fill the hours field they belong to.
  document.querySelectorAll("[data-quick-for]").forEach(function (group) {
    var input = document.getElementById(group.getAttribute("data-quick-for"));
    if (!input) return;
    var buttons = group.querySelectorAll("[data-value]");
    function mark() {
      var typed = input.value.trim().replace(",", ".");
      buttons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.getAttribute("data-value") === typed));
      });
    }
    group.addEventListener("click", function (event) {
      var button = event.target.closest("[data-value]");
      if (!button) return;
      input.value = button.getAttribute("data-value");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    input.addEventListener("input", mark);
    group.setAttribute("data-ready", "");
    mark();
  });

  // A verifier list grouped by place shows only the people of the chosen place.
  document.querySelectorAll("select[data-follows]").forEach(function (select) {
    var place = document.getElementById(select.getAttribute("data-follows"));
    if (!place) return;
    function follow() {
      var option = place.options[place.selectedIndex];
      var chosen = place.value && option ? option.text : null;
      select.querySelectorAll("optgroup").forEach(function (group) {
        var shown = chosen === null || group.label === chosen;
        group.hidden = !shown;
        group.disabled = !shown;
      });
      var current = select.options[select.selectedIndex];
      if (current && current.parentElement.disabled) select.value = "";
    }
    place.addEventListener("change", follow);
    follow();
  });

  // Forms marked data-once are sent once: a second tap while the page loads does
  // nothing. Forms marked data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (!form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
  });

  // The bottom menu steps aside while the on-screen keyboard is open: on a touch
  // screen, while a field that types has the focus.
  if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
    var typed = "input:not([type=checkbox]):not([type=radio]):not([type=submit])" +
      ":not([type=button]):not([type=file]):not([type=hidden]), textarea";
    document.addEventListener("focusin", function (event) {
      if (event.target.matches && event.target.matches(typed)) {
        document.documentElement.setAttribute("data-typing", "");
      }
    });
    document.addEventListener("focusout", function () {
      document.documentElement.removeAttribute("data-typing");
    });
  }

  // "Copy link" and "Share…" beside a link, where the browser can do them.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) return;
    var label = button.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.getAttribute("data-done");
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
    button.setAttribute("data-ready", "");
  });
  document.querySelectorAll("[data-share]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-share"));
    if (!field || !navigator.share) return;
    button.addEventListener("click", function () {
      navigator.share({ title: button.getAttribute("data-title"), url: field.value })
        .catch(function () { /* closed without sharing */ });
    });
    button.setAttribute("data-ready", "");
  });

  // Coming back with the browser's Back button: the forms may be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
    });
  });
})();
