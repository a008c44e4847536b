/* 様式作成: drag and drop (SortableJS) posts the new order with the page's ordinary reorder
   form; deleting asks for confirmation; value pick lists of a condition show only the
   options of the chosen field. Everything also works without this file (buttons). */
(function () {
  "use strict";

  function submitOrder(list) {
    var form = document.getElementById("reorder-form");
    if (!form) { return; }
    form.querySelector("input[name=container]").value = list.getAttribute("data-container") || "";
    Array.prototype.forEach.call(form.querySelectorAll("input[name=order]"), function (el) { el.remove(); });
    Array.prototype.forEach.call(list.children, function (item) {
      var key = item.getAttribute("data-key");
      if (!key) { return; }
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "order";
      input.value = key;
      form.appendChild(input);
    });
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  function initSortable(root) {
    if (typeof window.Sortable === "undefined") { return; }
    Array.prototype.forEach.call(root.querySelectorAll("[data-sortable]"), function (list) {
      if (list.getAttribute("data-sortable-ready")) { return; }
      list.setAttribute("data-sortable-ready", "1");
      window.Sortable.create(list, {
        handle: ".builder-handle",
        draggable: "> li",
        ghostClass: "builder-ghost",
        animation: 120,
        onEnd: function (event) {
          if (event.oldIndex !== event.newIndex) { submitOrder(list); }
        }
      });
    });
  }

  function filterChoices(row) {
    var fieldSelect = row.querySelector("select[name$='_field']");
    var choiceSelect = row.querySelector("select[name$='_choice']");
    if (!fieldSelect || !choiceSelect) { return; }
    Array.prototype.forEach.call(choiceSelect.querySelectorAll("optgroup"), function (group) {
      var match = false;
      Array.prototype.forEach.call(group.querySelectorAll("option"), function (opt) {
        if (opt.value.split("::")[0] === fieldSelect.value) { match = true; }
      });
      group.hidden = !match;
      group.disabled = !match;
    });
  }

  function initConditions(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-condition-row]"), function (row) {
      filterChoices(row);
      var select = row.querySelector("select[name$='_field']");
      if (select) { select.addEventListener("change", function () { filterChoices(row); }); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  function init(root) {
    initSortable(root);
    initConditions(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  // After a change saved in the background, show it in the phone preview too.
  document.addEventListener("htmx:afterSwap", function () {
    var frame = document.getElementById("preview-frame");
    if (frame && frame.contentWindow) { frame.contentWindow.location.reload(); }
  });
}());
