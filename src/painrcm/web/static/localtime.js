// Show <time datetime="..."> values in the reader's local time (the server stores UTC).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d.getTime())) {
      el.title = el.getAttribute("datetime");
      el.textContent = d.toLocaleString();
    }
  });
});
