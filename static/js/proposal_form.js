// Stage rows of the proposal form: add and remove rows of the Django formset.
(function () {
  "use strict";
  const form = document.getElementById("proposal-form");
  if (!form) return;

  function totalInput() {
    return form.querySelector('input[name="stages-TOTAL_FORMS"]');
  }

  function renumber() {
    let n = 0;
    form.querySelectorAll("[data-stage-row]").forEach(function (row) {
      if (row.hidden) return;
      n += 1;
      const label = row.querySelector("[data-stage-number]");
      if (label) label.textContent = String(n);
    });
  }

  function changed() {
    renumber();
    form.dispatchEvent(new Event("stages-changed"));
  }

  form.addEventListener("click", function (event) {
    const add = event.target.closest("[data-add-stage]");
    const remove = event.target.closest("[data-remove-stage]");
    if (add) {
      const template = document.getElementById("stage-template");
      const total = totalInput();
      const index = parseInt(total.value, 10);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      form.querySelector("[data-stage-list]").insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const rows = form.querySelectorAll("[data-stage-row]");
      const input = rows[rows.length - 1].querySelector("input");
      if (input) input.focus();
      changed();
    } else if (remove) {
      const row = remove.closest("[data-stage-row]");
      const del = row.querySelector('input[name$="-DELETE"]');
      if (del) del.checked = true;
      row.hidden = true;
      changed();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "stage-rows") changed();
  });
})();
