// The review page, keyboard first. htmx replaces #review-panel after every
// submit, skip and undo, so handlers are delegated from the document and read
// the DOM when they run; nothing holds on to a product's elements.
//
//   Enter  submit the checked tags (and get the next product)
//   1-9    toggle the tag with that number
//   /      find any tag (arrow keys + Enter add it, Esc closes)
//   s skip · u undo · ? shortcuts
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  let busy = false;

  const panel = () => $("[data-review-panel]");
  const reviewForm = () => $("[data-review-form]");

  function isTextEntry(el) {
    if (!el || !(el instanceof HTMLElement)) return false;
    if (el.isContentEditable) return true;
    if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
    return el instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit"].includes(el.type);
  }

  // One request at a time: a held-down Enter must not submit the next product too.
  function send(form) {
    if (!form || busy) return;
    // A key pressed the moment a new panel is swapped in can reach its forms
    // before htmx has wired them; wire them now (a no-op once done) so the
    // action stays an htmx request instead of a full page post.
    if (window.htmx && form.hasAttribute("hx-post")) window.htmx.process(form);
    form.requestSubmit();
  }

  // Single-valued facets: checking one tag unchecks the others of its facet,
  // like radio buttons that can also all be off.
  function enforceSingle(box) {
    if (!box.checked || !box.hasAttribute("data-single")) return;
    const form = box.form;
    if (!form) return;
    form.querySelectorAll("input[name=tag][data-single]").forEach((other) => {
      if (other !== box && other.dataset.facet === box.dataset.facet) other.checked = false;
    });
  }

  function toggleNumber(n) {
    const box = $(`[data-review-form] input[data-key="${n}"]`);
    if (!box) return;
    box.checked = !box.checked;
    enforceSingle(box);
    box.closest(".tag-row")?.classList.add("is-flashed");
    setTimeout(() => box.closest(".tag-row")?.classList.remove("is-flashed"), 300);
  }

  function addTag(tag) {
    const form = reviewForm();
    if (!form) return;
    const existing = form.querySelector(`input[name=tag][value="${tag.id}"]`);
    if (existing) {
      existing.checked = true;
      enforceSingle(existing);
      existing.closest(".tag-row")?.classList.add("is-flashed");
      return;
    }
    const search = $("[data-tag-search]", form);
    const list = $("[data-added-list]", form);
    const li = document.createElement("li");
    li.className = "tag-row is-added";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "tag";
    box.value = String(tag.id);
    box.id = `tag-${tag.id}`;
    box.checked = true;
    box.dataset.facet = tag.group.name;
    if (tag.group.single) box.setAttribute("data-single", "");
    const labelEl = document.createElement("label");
    labelEl.htmlFor = box.id;
    const name = document.createElement("span");
    name.className = "tag-label";
    name.textContent = window.TaggerTags.label(tag);
    const facet = document.createElement("span");
    facet.className = "opt-facet";
    facet.textContent = window.TaggerTags.facetLabel(tag.group);
    labelEl.append(name, " ", facet);
    const note = document.createElement("span");
    note.className = "score-value muted";
    note.textContent = search?.dataset.textAdded || "";
    li.append(box, labelEl, note);
    list.append(li);
    list.closest("[data-added]").hidden = false;
    enforceSingle(box);
  }

  function closeSearch() {
    const input = $("[data-tag-search-input]");
    if (input) {
      input.value = "";
      input.blur();
    }
    // Back to the page, so the next Enter submits.
    $("#product-title")?.focus({ preventScroll: true });
  }

  // Wire the combobox of the current panel (a new one after each swap).
  function setupPanel() {
    const root = panel();
    const input = $("[data-tag-search-input]");
    if (!root || !input || input.dataset.ready) return;
    input.dataset.ready = "1";
    const box = $("[data-tag-search]");
    const combo = window.TaggerTags.combobox(input, $("[data-tag-search-list]"), {
      url: root.dataset.tagIndex,
      onChoose: (tag) => {
        addTag(tag);
        closeSearch();
      },
      onEscape: closeSearch,
      onEnterWithout: () => {
        closeSearch();
        return true;
      },
      texts: {
        empty: box.dataset.textEmpty,
        loading: box.dataset.textLoading,
        failed: box.dataset.textFailed,
        count: box.dataset.textCount,
      },
      status: $("[data-tag-search-count]"),
    });
    // Fetch the index while the reviewer reads, so the first "/" is instant.
    setTimeout(combo.prefetch, 300);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return; // the dialog handles its keys
    const target = event.target;
    if (isTextEntry(target)) return;
    const key = event.key;
    if (key === "Enter") {
      // Buttons, links and summaries keep their own Enter.
      if (target instanceof HTMLElement && target.closest("button, a, summary")) return;
      const form = reviewForm();
      if (!form) return;
      event.preventDefault();
      send(form);
    } else if (/^[1-9]$/.test(key)) {
      event.preventDefault();
      toggleNumber(key);
    } else if (key === "/") {
      const input = $("[data-tag-search-input]");
      if (!input) return;
      event.preventDefault();
      input.focus();
    } else if (key === "s") {
      if (!$("[data-skip-form]")) return;
      event.preventDefault();
      send($("[data-skip-form]"));
    } else if (key === "u") {
      event.preventDefault();
      send($("[data-undo-form]"));
    } else if (key === "?") {
      event.preventDefault();
      $("#shortcuts-dialog")?.showModal();
    }
  });

  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el instanceof HTMLInputElement && el.name === "tag") enforceSingle(el);
  });

  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("[data-shortcuts-open]")) {
      $("#shortcuts-dialog")?.showModal();
    }
  });

  // Light up the words behind the tag under the pointer or focus.
  function lightUp(event, on) {
    const row = event.target instanceof Element && event.target.closest("[data-tag-row]");
    if (!row) return;
    const id = row.dataset.tagRow;
    document.querySelectorAll("mark[data-tags]").forEach((mark) => {
      if (mark.dataset.tags.split(" ").includes(id)) mark.classList.toggle("is-lit", on);
    });
  }
  document.addEventListener("mouseover", (event) => lightUp(event, true));
  document.addEventListener("mouseout", (event) => lightUp(event, false));
  document.addEventListener("focusin", (event) => lightUp(event, true));
  document.addEventListener("focusout", (event) => lightUp(event, false));

  let shownPanel = panel();
  document.body.addEventListener("htmx:beforeRequest", () => {
    busy = true;
  });
  document.body.addEventListener("htmx:afterRequest", () => {
    busy = false;
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    const current = panel();
    if (!current || current === shownPanel) return;
    shownPanel = current;
    setupPanel();
    // Focus the new product's title: screen readers read it, and the keys keep working.
    $("#product-title")?.focus({ preventScroll: true });
    window.scrollTo({ top: 0 });
  });
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = $("#review-status");
    if (!status) return;
    const line = document.createElement("span");
    line.className = "status-error";
    line.textContent = event.detail.xhr.responseText.slice(0, 300) || String(event.detail.xhr.status);
    status.replaceChildren(line);
  });

  setupPanel();
})();
