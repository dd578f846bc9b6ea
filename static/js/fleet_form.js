/* The fleet form and the import form: an error's field is scrolled into view and focused (after
   an htmx 422 swap, or a page answered 422); maintenance events are added and removed in place
   (removing ticks the event's Delete box and hides it, with an undo, until the form is saved). */
(function () {
  "use strict";
  const FIELDS = ".has-error input:not([type=hidden]), .has-error select, .has-error textarea";

  function focusFirstError(root) {
    const field = root.querySelector(FIELDS) || root.querySelector(".error-box");
    if (!field) return false;
    if (!field.matches("input, select, textarea")) field.setAttribute("tabindex", "-1");
    field.scrollIntoView({block: "center"});
    field.focus({preventScroll: true});
    return true;
  }

  // the focus is still where the request left it: on what asked for it (the Add button), or on
  // nothing in particular
  function focusStayed(event) {
    const active = document.activeElement;
    const asked = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    return !active || active === document.body || active === asked || !active.isConnected;
  }

  function setUpEvents(form) {
    form.querySelectorAll(".event-form").forEach(setUpEvent);
  }

  function setUpEvent(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    const remove = box.querySelector(".remove-event");
    const deleteBox = box.querySelector("input[name$='-DELETE']");
    if (!remove || !deleteBox) return;
    deleteBox.closest(".field").hidden = true; // the button does it
    remove.hidden = false;
    const gone = document.createElement("p");
    gone.className = "event-removed note";
    gone.hidden = true;
    gone.innerHTML = '<span></span> <button type="button" class="undo-remove">Undo</button>';
    gone.querySelector("span").textContent = box.querySelector("h3").textContent + " is removed (saved with the form).";
    box.after(gone);
    const show = (removed) => {
      deleteBox.checked = removed;
      box.hidden = removed;
      gone.hidden = !removed;
    };
    show(deleteBox.checked);
    remove.addEventListener("click", () => { show(true); gone.querySelector("button").focus(); });
    gone.querySelector("button").addEventListener("click", () => { show(false); remove.focus(); });
  }

  function ready(root) {
    const form = root.querySelector ? (root.id === "fleet-form" ? root : root.querySelector("#fleet-form")) : null;
    if (form) setUpEvents(form);
  }

  document.addEventListener("DOMContentLoaded", () => {
    ready(document);
    const withErrors = document.querySelector("form .has-error, form .error-box");
    if (withErrors) focusFirstError(withErrors.closest("form"));
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.elt;
    const form = document.getElementById("fleet-form");
    if (!form) return;
    setUpEvents(form);
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 422 && (target === form || form.contains(target) || target.contains(form))) {
      focusFirstError(form);
    } else if (target && target.id === "event-forms" && focusStayed(event)) {
      // an event added: its first field, unless the visitor went on while it was on its way
      // (moved then, the focus took the rest of what they were typing into the new name)
      const added = target.querySelector(".event-form:last-of-type");
      const first = added && added.querySelector("input:not([type=hidden]), select");
      if (first) { added.scrollIntoView({block: "nearest"}); first.focus({preventScroll: true}); }
    }
  });
  window.fleetForm = {focusFirstError};
})();
