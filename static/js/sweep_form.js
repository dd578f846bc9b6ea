// The sweep form: when a parameter is chosen, its values field gets that parameter's example
// values (sweep_forms.EXAMPLES) if it is empty or still holds the previous parameter's examples,
// so a cap's "1, 2, 4" is never left under a downtime limit; typed values are kept. Without
// JavaScript the form says in place what does not fit.
(function () {
  "use strict";
  const data = document.getElementById("sweep-examples");
  if (!data) return;
  const examples = JSON.parse(data.textContent);
  const norm = (text) => text.split(",").map((v) => v.trim()).filter(Boolean).join(", ");
  const isExample = (text) => text.trim() === "" || Object.values(examples).some((e) => norm(text) === norm(e));
  for (const values of document.querySelectorAll("[data-examples-of]")) {
    const select = document.getElementById(`id_${values.dataset.examplesOf}`);
    if (!select) continue;
    select.addEventListener("change", () => {
      const example = examples[select.value] || "";
      values.placeholder = example;
      if (isExample(values.value)) values.value = example;
    });
  }
})();
