// Confirmation dialogs: a button with data-opens="<dialog id>" opens that dialog;
// a button with data-closes inside it closes it. Delegated from the document, so
// controls replaced by a live update keep working.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-opens]");
    if (opener) {
      const dialog = document.getElementById(opener.getAttribute("data-opens"));
      if (dialog && typeof dialog.showModal === "function" && !dialog.open) {
        dialog.showModal();
        const field = dialog.querySelector("textarea, input:not([type=hidden])");
        if (field) field.focus();
      }
      return;
    }
    const closer = event.target.closest("[data-closes]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // A click on the backdrop (outside the dialog's article) closes it too.
    if (event.target.tagName === "DIALOG" && event.target.open) event.target.close();
  });
})();
