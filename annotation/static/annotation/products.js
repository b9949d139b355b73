// Bulk review: select all on the page, a live count of the selection, and the
// tag autocompletes of the filter and bulk forms.
(() => {
  "use strict";

  const rows = () => Array.from(document.querySelectorAll("[data-select-row]"));
  const all = document.querySelector("[data-select-all]");
  const count = document.querySelector("[data-selected-count]");

  function refresh() {
    const boxes = rows();
    const checked = boxes.filter((box) => box.checked).length;
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    if (count) count.textContent = checked ? `${checked} ${count.dataset.textSelected}` : "";
  }

  all?.addEventListener("change", () => {
    rows().forEach((box) => {
      box.checked = all.checked;
    });
    refresh();
  });
  document.addEventListener("change", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.hasAttribute("data-select-row")) refresh();
  });

  document.querySelectorAll("[data-tag-combobox]").forEach((box) => {
    const input = box.querySelector("[data-tag-combobox-input]");
    window.TaggerTags.combobox(input, box.querySelector("[data-tag-combobox-list]"), {
      url: box.dataset.tagIndex,
      onChoose: (tag) => {
        input.value = tag.key;
      },
      texts: {
        empty: box.dataset.textEmpty,
        loading: box.dataset.textLoading,
        failed: box.dataset.textFailed,
      },
    });
  });
  refresh();
})();
