// Review queue: Enter opens the selected document, arrow keys move the selection. No dependencies.
(function () {
  "use strict";
  var links = Array.prototype.slice.call(document.querySelectorAll("a.open"));
  var at = 0;
  function select(i) {
    if (!links.length) return;
    at = Math.max(0, Math.min(links.length - 1, i));
    links.forEach(function (a, j) { a.closest("tr").classList.toggle("selected", j === at); });
    links[at].focus();
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    if (e.key === "ArrowDown") { select(at + 1); e.preventDefault(); }
    else if (e.key === "ArrowUp") { select(at - 1); e.preventDefault(); }
    else if (e.key === "Enter" && links.length && document.activeElement === document.body) {
      window.location.href = links[at].href; e.preventDefault();
    }
  });
  select(0);
})();
