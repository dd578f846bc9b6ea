// A request htmx sent that the server refused (any 4xx or 5xx but a form's 422 and 429, which
// are swapped in place: base.html's responseHandling), or that never got an answer: htmx
// swaps nothing then, so without this a refused save looked like a click that did nothing.
// It is said at the top of the page, in the server's own words (the error page's #refused),
// until the same element's next request succeeds.
(function () {
  let failed = null; // the element whose request failed last

  function show(text, elt) {
    const box = document.getElementById("request-error");
    if (!box) return;
    failed = elt;
    box.textContent = text;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function serverWords(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    const body = xhr.responseText || "";
    if (type.includes("json")) {
      try {
        const said = JSON.parse(body).error;
        if (said) return String(said);
      } catch (e) { /* not JSON after all: said as text below */ }
    }
    if (type.includes("html")) {
      const page = new DOMParser().parseFromString(body, "text/html");
      // the error page's sentence (its own #request-error, from base.html, is empty)
      for (const selector of ["#refused", "[role=alert]:not(#request-error)", "main"]) {
        const said = page.querySelector(selector);
        if (said && said.textContent.trim()) return said.textContent.trim().replace(/\s+/g, " ");
      }
      return "";
    }
    return body.trim();
  }

  // A request the visitor made (a click, a submit, a change) is "not done"; one the page makes
  // on its own (a poll, a load) did not fail any action of theirs: what stopped is the page's
  // updating, and that is what it says.
  function byVisitor(event) {
    const config = event.detail.requestConfig;
    return Boolean(config && config.triggeringEvent);
  }

  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    const words = serverWords(xhr).slice(0, 600) || xhr.statusText || "the server refused it";
    const what = byVisitor(event) ? "Not done" : "This page stopped updating";
    show(`${what} (HTTP ${xhr.status}): ${words}`, event.detail.elt);
  });
  document.addEventListener("htmx:sendError", (event) => {
    show(byVisitor(event)
      ? "Not done: the server could not be reached (or did not answer). Try again."
      : "This page stopped updating: the server could not be reached (or did not answer). " +
        "Reload the page to try again.",
    event.detail.elt);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const box = document.getElementById("request-error");
    if (box && event.detail.successful && event.detail.elt === failed) {
      box.hidden = true;
      failed = null;
    }
  });
})();
