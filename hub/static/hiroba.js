// Hiroba's own few lines of script on top of htmx (no third-party code here).
// A reply's answer and the 3-second poll may both bring the same new post: keep the first copy.
document.addEventListener("htmx:afterSettle", function () {
  var seen = {};
  document.querySelectorAll("#posts > article[id^='post-']").forEach(function (el) {
    if (seen[el.id]) { el.remove(); } else { seen[el.id] = true; }
  });
});
