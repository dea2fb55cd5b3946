// HQ console: the one script. Pages work without it; with it, a part marked
// data-live="SECONDS" is fetched again every SECONDS and swapped in place, and a
// confirmation field arms its button. No library, nothing from the internet.
(function () {
  "use strict";

  function refresh(live) {
    var every = Math.max(2, parseInt(live.getAttribute("data-live"), 10) || 5) * 1000;
    var stamp = document.querySelector("[data-live-stamp]");
    function tick() {
      if (document.hidden) { return schedule(); }
      fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store" })
        .then(function (answer) {
          if (answer.redirected || !answer.ok) { throw new Error("status " + answer.status); }
          return answer.text();
        })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById(live.id);
          if (fresh) { live.innerHTML = fresh.innerHTML; }
          if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString(); stamp.classList.remove("stale"); }
        })
        .catch(function () {
          if (stamp) { stamp.textContent = "Not updating: HQ did not answer"; stamp.classList.add("stale"); }
        })
        .then(schedule);
    }
    function schedule() { window.setTimeout(tick, every); }
    schedule();
  }

  function arm(field) {
    var form = field.form;
    var button = form && form.querySelector("button[type=submit]");
    var wanted = field.getAttribute("data-confirm");
    if (!button) { return; }
    function check() { button.disabled = field.value.trim() !== wanted; }
    field.addEventListener("input", check);
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live][id]").forEach(refresh);
    document.querySelectorAll("input[data-confirm]").forEach(arm);
  });
})();
