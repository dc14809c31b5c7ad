// The proposal form: stage rows (add, remove, renumber), and live errors shown only
// at fields the person has touched. The server judges every field on each change
// (HTMX, #validation) and sends each field's errors; this decides which to show.
// After a submit every error shows, each invalid input carries aria-invalid, and
// the first of them takes the focus.
(function () {
  "use strict";
  const form = document.getElementById("proposal-form");
  if (!form) return;

  const submitted = form.hasAttribute("data-submitted");
  const touched = new Set();
  const typing = new Set();

  function fieldName(element) {
    return element && element.name ? element.name : null;
  }

  function isStageField(name) {
    return /^stages-\d+-/.test(name);
  }

  function shown(name) {
    if (submitted) return true;
    if (name === "stages") {
      return Array.from(touched).some(isStageField);
    }
    return touched.has(name);
  }

  function input(name) {
    return form.querySelector('[name="' + name.replace(/"/g, "") + '"]');
  }

  // Show the errors of touched fields; hide the rest; keep aria-invalid in step.
  function applyVisibility() {
    form.querySelectorAll("[data-errors-for]").forEach(function (box) {
      const name = box.getAttribute("data-errors-for");
      const visible = shown(name);
      const hasErrors = box.children.length > 0;
      box.hidden = !visible;
      const field = name === "stages" ? null : input(name);
      if (field) {
        if (visible && hasErrors) field.setAttribute("aria-invalid", "true");
        else field.removeAttribute("aria-invalid");
      }
    });
    const verdict = form.querySelector("[data-verdict]");
    if (!verdict) return;
    let visible = 0;
    let waiting = 0;
    verdict.querySelectorAll("[data-problem-for]").forEach(function (item) {
      const name = item.getAttribute("data-problem-for");
      const show = !name || shown(name);
      item.hidden = !show;
      if (show) visible += 1;
      else waiting += 1;
    });
    const count = verdict.querySelector("[data-problem-count]");
    if (count) count.textContent = visible + (visible === 1 ? " problem" : " problems") + " to fix";
    const note = verdict.querySelector("[data-untouched]");
    if (note) {
      note.hidden = waiting === 0;
      note.querySelector("small").textContent =
        waiting + (waiting === 1 ? " more check waits" : " more checks wait") +
        " for fields you have not filled in yet.";
    }
    verdict.querySelector("p").hidden = visible === 0;
  }

  function touch(element) {
    const name = fieldName(element);
    if (!name || name.endsWith("-DELETE") || name === "csrfmiddlewaretoken") return;
    if (!touched.has(name)) {
      touched.add(name);
      applyVisibility();
    }
  }

  form.addEventListener("input", function (event) {
    const name = fieldName(event.target);
    if (name) typing.add(name);
  });
  form.addEventListener("change", function (event) {
    touch(event.target);
  });
  form.addEventListener("focusout", function (event) {
    const name = fieldName(event.target);
    if (name && typing.has(name)) touch(event.target);
  });

  // --- Stage rows -------------------------------------------------------------------

  function totalInput() {
    return form.querySelector('input[name="stages-TOTAL_FORMS"]');
  }

  function renumber() {
    let n = 0;
    form.querySelectorAll("[data-stage-list] [data-stage-row]").forEach(function (row) {
      if (row.hidden) return;
      n += 1;
      row.querySelectorAll("[data-stage-number]").forEach(function (label) {
        label.textContent = String(n);
      });
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
      const rows = form.querySelectorAll("[data-stage-list] [data-stage-row]");
      const first = rows[rows.length - 1].querySelector("input");
      if (first) first.focus();
      changed();
    } else if (remove) {
      const row = remove.closest("[data-stage-row]");
      const del = row.querySelector('input[name$="-DELETE"]');
      if (del) del.checked = true;
      row.hidden = true;
      changed();
      form.querySelector("[data-add-stage]").focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (!target) return;
    if (target.id === "stage-rows") {
      // Generated rows: what the generator filled in counts as touched, so its
      // problems show; empty fields wait for the person.
      target.querySelectorAll("input, textarea").forEach(function (element) {
        if (element.value && element.name && isStageField(element.name)) touched.add(element.name);
      });
      changed();
    }
  });
  document.body.addEventListener("htmx:afterSettle", applyVisibility);

  // A link in an error summary puts the focus on the field it names, not only the view.
  document.addEventListener("click", function (event) {
    const link = event.target.closest('.error-summary a[href^="#"], [data-verdict] a[href^="#"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({ block: "center" });
    target.focus();
  });

  renumber();
  applyVisibility();
  if (submitted) {
    const first = form.querySelector('[aria-invalid="true"]');
    const summary = document.getElementById("error-summary");
    if (first) first.focus();
    else if (summary) summary.focus();
  }
})();
