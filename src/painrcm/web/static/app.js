/* painrcm keyboard shortcuts and the small-screen menu (no inline script: the CSP forbids it).
   /        focus the search box
   j / k    next / previous row of a work table (Enter or o opens it)
   n / p    on a claim page: next / previous claim of the queue you came from
   F        on a claim page: apply the safe fixes (the page's own button, so it asks nothing new)
   Esc      leave the search box */
(function () {
  "use strict";
  var QUEUE_KEY = "painrcm.queue";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table[data-rows] tbody tr[data-href]"));
  }

  function rememberQueue() {
    var links = rows().map(function (tr) { return tr.getAttribute("data-href"); })
      .filter(function (h) { return /^\/claims\/\d+$/.test(h || ""); });
    if (links.length) {
      try { sessionStorage.setItem(QUEUE_KEY, JSON.stringify(links)); } catch (e) { /* private mode */ }
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var cur = all.findIndex(function (tr) { return tr.classList.contains("current"); });
    var next = Math.max(0, Math.min(all.length - 1, cur < 0 ? 0 : cur + step));
    if (cur >= 0) all[cur].classList.remove("current");
    all[next].classList.add("current");
    all[next].scrollIntoView({ block: "nearest" });
    var link = all[next].querySelector("a");
    if (link) link.focus({ preventScroll: true });
  }

  function openCurrent() {
    var tr = document.querySelector("table[data-rows] tbody tr.current");
    if (tr) window.location.href = tr.getAttribute("data-href");
  }

  function claimStep(step) {
    var m = window.location.pathname.match(/^\/claims\/(\d+)$/);
    if (!m) return false;
    var list;
    try { list = JSON.parse(sessionStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { list = []; }
    var i = list.indexOf("/claims/" + m[1]);
    if (i < 0) return false;
    var target = list[i + step];
    if (target) window.location.href = target;
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var search = document.getElementById("global-search");
    if (ev.key === "Escape" && document.activeElement === search) { search.blur(); return; }
    if (typing(document.activeElement)) return;
    if (ev.key === "/" && search) { ev.preventDefault(); search.focus(); search.select(); return; }
    if (ev.key === "j") { move(1); return; }
    if (ev.key === "k") { move(-1); return; }
    if (ev.key === "o" || (ev.key === "Enter" && document.querySelector("tr.current") &&
        !document.activeElement.closest("a,button"))) { openCurrent(); return; }
    if (ev.key === "n") { claimStep(1); return; }
    if (ev.key === "p") { claimStep(-1); return; }
    if (ev.key === "F") {
      var fix = document.querySelector('form[action$="/fix"] button[type="submit"], form[action$="/fix"] button');
      if (fix) { ev.preventDefault(); fix.click(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    rememberQueue();
    document.body.addEventListener("htmx:afterSwap", rememberQueue);
    var toggle = document.querySelector("button.navtoggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var header = toggle.closest("header");
        var open = header.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    // select-all checkbox of a bulk table
    Array.prototype.forEach.call(document.querySelectorAll("input[data-select-all]"), function (box) {
      box.addEventListener("change", function () {
        var form = document.getElementById(box.getAttribute("data-select-all"));
        if (!form) return;
        Array.prototype.forEach.call(document.querySelectorAll('input[name="ids"][form="' + form.id + '"]'),
          function (c) { c.checked = box.checked; });
      });
    });
  });
})();
