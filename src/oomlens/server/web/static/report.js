// The report page's dominator tree explorer. htmx fetches a node's children the first time its
// button is pressed (hx-trigger="click once"); this shows and hides them on every press after.
"use strict";
document.addEventListener("click", function (event) {
  const button = event.target.closest("button.dt-toggle");
  if (!button) return;
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", open ? "true" : "false");
  const list = document.getElementById(button.getAttribute("aria-controls"));
  if (list) list.hidden = !open;
});

// A node that is gone (another analysis replaced the tree) answers 404 with a message for the
// explorer: show it where the children would have been rather than nothing.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 404 && event.detail.target.closest(".domtree")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
