/*
 * Progressive enhancement only: every page works without this file.
 *  - focus the error summary when a form comes back with errors;
 *  - fill the address from a 7-digit postal code as it is typed (only when the address
 *    input is still empty), using /<lg_code>/postal/<code>/ (JSON {address}).
 * Loaded with `defer`; no inline script anywhere (strict CSP).
 */
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector(".dads-error-summary");
    if (!summary) {
      return;
    }
    if (!summary.hasAttribute("tabindex")) {
      summary.setAttribute("tabindex", "-1");
    }
    summary.focus();
    // Links in the summary move focus to the input itself, not just scroll to it.
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) {
        return;
      }
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (target) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus();
      }
    });
  }

  function digitsOf(value) {
    // full-width digits → ASCII, then keep digits only
    return value
      .replace(/[０-９]/g, function (c) {
        return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
      })
      .replace(/[^0-9]/g, "");
  }

  function addressInputFor(input, form) {
    var targetId = input.getAttribute("data-address-target") || input.getAttribute("data-postal-target");
    if (targetId) {
      return document.getElementById(targetId);
    }
    var targetName = input.getAttribute("data-address-field");
    if (targetName) {
      // inside a repeat item the address input shares the item prefix
      var prefix = input.name.replace(/[a-z][a-z0-9_]*$/, "");
      var byName = form.querySelector("[name='" + prefix + targetName + "']");
      return byName || form.querySelector("[name='" + targetName + "']");
    }
    return null;
  }

  function setupPostal() {
    var forms = document.querySelectorAll("form[data-postal-url]");
    Array.prototype.forEach.call(forms, function (form) {
      var base = form.getAttribute("data-postal-url");
      if (!base || !window.fetch) {
        return;
      }
      var inputs = form.querySelectorAll(
        "input[data-address-target], input[data-postal-target], input[data-address-field]"
      );
      Array.prototype.forEach.call(inputs, function (input) {
        var lastLookedUp = "";
        var status = document.createElement("span");
        status.className = "dads-help dads-postal-status";
        status.setAttribute("role", "status");
        status.setAttribute("aria-live", "polite");
        (input.closest(".dads-inline-group") || input).insertAdjacentElement("afterend", status);

        input.addEventListener("input", function () {
          var code = digitsOf(input.value);
          if (code.length !== 7 || code === lastLookedUp) {
            return;
          }
          var address = addressInputFor(input, form);
          if (!address || address.value.trim() !== "") {
            return;
          }
          lastLookedUp = code;
          fetch(base + code + "/", {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
          })
            .then(function (response) {
              return response.json();
            })
            .then(function (data) {
              if (data && data.address && address.value.trim() === "") {
                address.value = data.address;
                status.textContent =
                  form.getAttribute("data-postal-filled") || "住所を入力しました。";
              } else if (data && data.error) {
                status.textContent = data.error;
              }
            })
            .catch(function () {
              /* the 住所を検索 button still works without this */
            });
        });
      });
    });
  }

  /*
   * Conditional fields of the same step (data-condition, JSON written by the form engine):
   * show or hide them as the resident answers. The server evaluates the same conditions
   * again, so without JavaScript they simply appear after 「次へ進む」.
   */
  function valuesOf(form, name) {
    var values = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name !== name || el.disabled) {
        return;
      }
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) {
          values.push(el.value);
        }
      } else if (el.type !== "file" && el.type !== "submit" && el.type !== "button") {
        values.push(el.value);
      }
    });
    return values;
  }

  function evaluate(cond, form) {
    if (!cond || typeof cond !== "object") {
      return true;
    }
    if (Object.prototype.hasOwnProperty.call(cond, "const")) {
      return !!cond["const"];
    }
    if (cond.all) {
      return cond.all.every(function (c) {
        return evaluate(c, form);
      });
    }
    if (cond.any) {
      return cond.any.some(function (c) {
        return evaluate(c, form);
      });
    }
    if (cond.not) {
      return !evaluate(cond.not, form);
    }
    var values = valuesOf(form, cond.name).filter(function (v) {
      return v.trim() !== "";
    });
    if (Object.prototype.hasOwnProperty.call(cond, "equals")) {
      return values.indexOf(String(cond.equals)) !== -1;
    }
    if (cond["in"]) {
      return values.some(function (v) {
        return cond["in"].indexOf(v) !== -1;
      });
    }
    if (Object.prototype.hasOwnProperty.call(cond, "filled")) {
      return (values.length > 0) === !!cond.filled;
    }
    return true;
  }

  function setupConditions() {
    var forms = document.querySelectorAll("form");
    Array.prototype.forEach.call(forms, function (form) {
      var dependents = form.querySelectorAll("[data-condition]");
      if (!dependents.length) {
        return;
      }
      var parsed = [];
      Array.prototype.forEach.call(dependents, function (el) {
        try {
          parsed.push({ el: el, cond: JSON.parse(el.getAttribute("data-condition")) });
        } catch (e) {
          /* leave it to the server */
        }
      });
      function update() {
        parsed.forEach(function (item) {
          item.el.hidden = !evaluate(item.cond, form);
        });
      }
      form.addEventListener("change", update);
      form.addEventListener("input", update);
    });
  }

  function init() {
    focusErrorSummary();
    setupPostal();
    setupConditions();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
