// The merge picker on a tag's taxonomy page: it offers only the other active
// tags of the same facet, each shown as "facet: name", and remembers the id of
// the one chosen. Typing after a choice forgets it: the server then accepts the
// text only when it is exactly one tag's facet:name.
(() => {
  "use strict";

  const box = document.querySelector("[data-merge-picker]");
  if (!box || !window.TaggerTags) return;
  const input = box.querySelector("[data-merge-input]");
  const idField = box.querySelector("[data-merge-into-id]");
  const chosen = box.querySelector("[data-merge-chosen]");
  const facet = Number(box.dataset.facet);
  const source = Number(box.dataset.source);

  const forget = () => {
    idField.value = "";
    chosen.textContent = "";
  };

  window.TaggerTags.combobox(input, box.querySelector("[data-merge-list]"), {
    url: box.dataset.tagIndex,
    filter: (tag) => tag.group.id === facet && tag.id !== source,
    showKey: true,
    onChoose: (tag) => {
      input.value = tag.key;
      idField.value = String(tag.id);
      chosen.textContent = `${box.dataset.textChosen} ${tag.group.name}: ${tag.name}`;
    },
    texts: {
      empty: box.dataset.textEmpty,
      loading: box.dataset.textLoading,
      failed: box.dataset.textFailed,
    },
  });
  input.addEventListener("input", forget);
})();
