// Hiroba's own few lines of script on top of htmx (no third-party code here).
// A reply's answer and the 3-second poll may both bring the same new post: keep the first copy.
document.addEventListener("htmx:afterSettle", function () {
  var seen = {};
  document.querySelectorAll("#posts > article[id^='post-']").forEach(function (el) {
    if (seen[el.id]) { el.remove(); } else { seen[el.id] = true; }
  });
});

// Working hours: while the member types, the note under the two times says what they mean
// ("until 06:00 the next day" for a night shift). The texts come translated in data-* attributes.
function hirobaHoursNote(form) {
  var note = form.querySelector("[data-hours-note]");
  if (!note || !form.elements.work_start || !form.elements.work_end) { return; }
  var start = form.elements.work_start.value, end = form.elements.work_end.value;
  var kind = "sameday";
  if (start === "00:00" && end === "00:00") { kind = "allday"; }
  else if (start && end && end < start && end !== "00:00") { kind = "overnight"; }
  var text = note.getAttribute("data-" + kind).replace("{start}", start).replace("{end}", end);
  (note.firstElementChild || note).textContent = text;
}
["input", "change"].forEach(function (type) {
  document.addEventListener(type, function (event) {
    if (event.target.matches && event.target.matches("input[data-hours]") && event.target.form) {
      hirobaHoursNote(event.target.form);
    }
  });
});

// A form marked data-undo-on-cancel (the role select on the members page submits on change):
// when the admin answers its hx-confirm with Cancel, the form goes back to what the page
// showed, so the select does not claim a change that was never made.
document.addEventListener("htmx:confirm", function (event) {
  var form = event.detail.elt;
  if (!event.detail.question || !form.matches || !form.matches("form[data-undo-on-cancel]")) { return; }
  event.preventDefault();
  if (window.confirm(event.detail.question)) { event.detail.issueRequest(true); } else { form.reset(); }
});

// A link to a post that is not on this thread page (/t/N#post-M from a mail or a bookmark, the
// post since pushed back to an older page) opens the page that holds it (/p/M). A page of older
// posts (?before=) is where /p/M leads: it never goes on from there.
function hirobaFindPost() {
  var match = /^#post-(\d+)$/.exec(location.hash);
  var posts = document.getElementById("posts");
  if (!match || !posts || !posts.dataset.permalink || /[?&]before=/.test(location.search)) { return; }
  if (!document.getElementById("post-" + match[1])) {
    location.replace(posts.dataset.permalink.replace(/0$/, match[1]));
  }
}
document.addEventListener("DOMContentLoaded", hirobaFindPost);
document.addEventListener("htmx:afterSettle", hirobaFindPost);
document.addEventListener("htmx:historyRestore", hirobaFindPost);
