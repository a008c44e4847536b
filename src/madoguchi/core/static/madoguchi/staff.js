/*
 * Back office enhancements; every page works without this file (strict CSP: no inline script).
 *  - [data-copy-target]: copy the saved-filter URL to the clipboard;
 *  - #select-all: check / uncheck every row of the inbox page;
 *  - [data-print]: open the browser's print dialog on the print view.
 * Controls that need JavaScript are rendered `hidden` and shown here.
 */
(function () {
  "use strict";

  function setupCopy() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) {
        return;
      }
      button.hidden = false;
      var original = button.textContent;
      button.addEventListener("click", function () {
        input.select();
        var done = function () {
          button.textContent = button.getAttribute("data-copied-text") || original;
          window.setTimeout(function () {
            button.textContent = original;
          }, 2000);
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(done, function () {
            document.execCommand("copy");
            done();
          });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function setupSelectAll() {
    var all = document.getElementById("select-all");
    if (!all) {
      return;
    }
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name='ids']"));
    all.hidden = false;
    function sync() {
      var checked = boxes.filter(function (box) {
        return box.checked;
      }).length;
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) {
        box.checked = all.checked;
      });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", sync);
    });
    sync();
  }

  function setupPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  setupCopy();
  setupSelectAll();
  setupPrint();
})();
