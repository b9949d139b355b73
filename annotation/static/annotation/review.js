// The review page, keyboard first. htmx replaces #review-panel after every
// submit, skip and undo, so handlers are delegated from the document and read
// the DOM when they run; nothing holds on to a product's elements.
//
//   Enter  submit the checked tags (and get the next product)
//   1-9, then letters   toggle the tag with that key (every listed tag has one)
//   0      no tags apply: uncheck every tag and submit that, explicitly
//   /      find any tag (arrow keys + Enter add it, Esc closes)
//   s skip · u undo · ? shortcuts
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  let busy = false;

  const panel = () => $("[data-review-panel]");
  // Where the review keys work: the product's title (a heading, tabindex=-1).
  const focusProduct = () => $("#product-title")?.focus({ preventScroll: true });
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

  // "No tags apply" is the explicit empty decision (an empty Enter is refused):
  // its button unchecks every tag, then submits with none_apply=1.
  function noTagsApply() {
    const button = $("[data-review-form] [data-none-apply]");
    if (!button || busy) return;
    if (window.htmx) window.htmx.process(button.form);
    button.click();
  }

  // A tag counts as seen once its row has been inside the tag list's visible
  // area; only seen tags are sent as "shown", so a tag scrolled out of sight
  // is never recorded as the reviewer's rejection.
  const seen = new WeakSet();
  function isVisible(row) {
    const box = row.getBoundingClientRect();
    const scroller = row.closest("[data-tag-scroll]");
    const area = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
    const top = Math.max(area.top, 0);
    const bottom = Math.min(area.bottom, window.innerHeight);
    return box.height > 0 && box.top >= top - 1 && box.bottom <= bottom + 1;
  }
  // The tag panel ends at the window's bottom edge, wherever the page puts its
  // top (app.css reads --tag-form-top), so the submit bar never hides a tag.
  function fitPanel() {
    const form = reviewForm();
    if (!form) return;
    const top = Math.max(form.getBoundingClientRect().top + window.scrollY, 8);
    document.documentElement.style.setProperty("--tag-form-top", `${top}px`);
  }

  function markSeen() {
    document.querySelectorAll("[data-review-form] [data-tag-row]").forEach((row) => {
      if (isVisible(row)) seen.add(row);
    });
  }
  let seenTimer = 0;
  function markSeenSoon() {
    clearTimeout(seenTimer);
    seenTimer = setTimeout(markSeen, 100);
  }
  document.addEventListener("scroll", markSeenSoon, true);
  window.addEventListener("resize", () => {
    fitPanel();
    markSeenSoon();
  });
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-review-form")) return;
      markSeen();
      form.querySelectorAll("[data-tag-row]").forEach((row) => {
        const shown = row.querySelector("input[name=shown]");
        if (shown) shown.disabled = !seen.has(row);
      });
    },
    true,
  );

  function toggleNumber(n) {
    const box = $(`[data-review-form] input[data-key="${n}"]`);
    if (!box) return false;
    box.checked = !box.checked;
    enforceSingle(box);
    const row = box.closest(".tag-row");
    row?.scrollIntoView({ block: "nearest" });
    if (row) seen.add(row);
    box.closest(".tag-row")?.classList.add("is-flashed");
    setTimeout(() => box.closest(".tag-row")?.classList.remove("is-flashed"), 300);
    return true;
  }

  // A row of "Added by you": a tag the reviewer found through the search.
  // `tag`: {id, label, facetLabel, facet, single}.
  function appendAdded(form, tag, checked) {
    const search = $("[data-tag-search]", form);
    const list = $("[data-added-list]", form);
    if (!list) return null;
    const li = document.createElement("li");
    li.className = "tag-row is-added";
    li.dataset.tagRow = String(tag.id);
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "tag";
    box.value = String(tag.id);
    box.id = `tag-${tag.id}`;
    box.checked = checked;
    box.dataset.facet = tag.facet;
    if (tag.single) box.setAttribute("data-single", "");
    const labelEl = document.createElement("label");
    labelEl.htmlFor = box.id;
    const name = document.createElement("span");
    name.className = "tag-label";
    name.textContent = tag.label;
    labelEl.append(name);
    if (tag.facetLabel) {
      const facet = document.createElement("span");
      facet.className = "opt-facet";
      facet.textContent = tag.facetLabel;
      labelEl.append(" ", facet);
    }
    const note = document.createElement("span");
    note.className = "score-value muted";
    note.textContent = search?.dataset.textAdded || "";
    li.append(box, labelEl, note);
    list.append(li);
    list.closest("[data-added]").hidden = false;
    return box;
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
    const box = appendAdded(
      form,
      {
        id: tag.id,
        label: window.TaggerTags.label(tag),
        facetLabel: window.TaggerTags.facetLabel(tag.group),
        facet: tag.group.name,
        single: tag.group.single,
      },
      true,
    );
    if (box) enforceSingle(box);
  }

  function closeSearch() {
    const input = $("[data-tag-search-input]");
    if (input) {
      input.value = "";
      input.blur();
    }
    // Back to the page, so the next Enter submits.
    focusProduct();
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
    } else if (/^[1-9a-z]$/.test(key) && toggleNumber(key)) {
      // 1-9, then the letters no other shortcut uses (s and u keep their meaning).
      event.preventDefault();
    } else if (key === "0") {
      event.preventDefault();
      noTagsApply();
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
    if (!(event.target instanceof Element)) return;
    if (event.target.closest("[data-shortcuts-open]")) {
      $("#shortcuts-dialog")?.showModal();
    }
    const none = event.target.closest("[data-none-apply]");
    if (none?.form) {
      none.form.querySelectorAll("input[name=tag]").forEach((box) => {
        box.checked = false;
      });
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
    fitPanel();
    requestAnimationFrame(markSeen);
    // Focus the new product's title: screen readers read it, and the keys keep working.
    focusProduct();
    window.scrollTo({ top: 0 });
  });
  // A submit the leases refuse (409) still answers with the next product's
  // panel and the reason: show it like any answer.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The status line speaks in words. An error answer is a page (Django's 404
  // or 500 page, a proxy's 502) or a traceback, never a message to show: the
  // line says what happened from the status, in the page's language (the texts
  // are data-* attributes of #review-status). A plain-text answer is the
  // server's own message for the reviewer, shown as text.
  function say(text, kind = "error", { append = false } = {}) {
    const status = $("#review-status");
    if (!status || !text) return;
    const line = document.createElement("span");
    line.className = `status-${kind}`;
    line.textContent = text;
    if (append && status.childElementCount) status.append(" ", line);
    else status.replaceChildren(line);
  }

  function errorText(xhr) {
    const texts = $("#review-status")?.dataset || {};
    const type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    const body = (xhr.responseText || "").trim();
    if (type.startsWith("text/plain") && body) return body.slice(0, 400);
    const code = xhr.status;
    if (code === 0) return texts.errorNetwork;
    if (code === 400) return texts.errorBadRequest;
    if (code === 403) return texts.errorForbidden;
    if (code === 404) return texts.errorNotFound;
    if (code === 502 || code === 503 || code === 504) return texts.errorUnavailable;
    if (code >= 500) return texts.errorServer;
    return `${texts.errorOther} (HTTP ${code})`;
  }

  document.body.addEventListener("htmx:responseError", (event) => {
    say(errorText(event.detail.xhr));
  });
  // No answer at all: the server is down or the network is.
  document.body.addEventListener("htmx:sendError", () => {
    say($("#review-status")?.dataset.errorNetwork);
  });

  // A session that ended (or a page whose token went stale) answers a submit
  // with HX-Redirect, and htmx leads the tab away: the ticks are kept in this
  // tab's sessionStorage and put back when the same product comes back to
  // the same reviewer after they log in (their lease keeps it theirs).
  const DRAFT = "tagger-review-draft";
  const reviewer = () => $(".topbar .username")?.textContent.trim() || "";

  function saveDraft(form) {
    const product = form.querySelector("input[name=product]")?.value;
    if (!product) return;
    const ticked = [...form.querySelectorAll("input[name=tag]:checked")].map((box) => box.value);
    const added = [...form.querySelectorAll("[data-added-list] input[name=tag]")].map((box) => {
      const row = box.closest(".tag-row");
      return {
        id: box.value,
        label: row?.querySelector(".tag-label")?.textContent || box.value,
        facetLabel: row?.querySelector(".opt-facet")?.textContent || "",
        facet: box.dataset.facet || "",
        single: box.hasAttribute("data-single"),
      };
    });
    try {
      sessionStorage.setItem(DRAFT, JSON.stringify({ reviewer: reviewer(), product, ticked, added }));
    } catch {
      // Storage full or refused (a private window): nothing to keep them in.
    }
  }

  function restoreDraft() {
    let draft = null;
    try {
      draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
      sessionStorage.removeItem(DRAFT);
    } catch {
      return;
    }
    const form = reviewForm();
    const product = form?.querySelector("input[name=product]")?.value;
    if (!draft || !form || draft.product !== product || draft.reviewer !== reviewer()) return;
    const ticked = new Set(draft.ticked || []);
    for (const tag of draft.added || []) {
      if (!form.querySelector(`input[name=tag][value="${CSS.escape(String(tag.id))}"]`)) {
        appendAdded(form, tag, false);
      }
    }
    form.querySelectorAll("input[name=tag]").forEach((box) => {
      box.checked = ticked.has(box.value);
    });
    say($("#review-status")?.dataset.draftRestored, "ok", { append: true });
  }

  document.body.addEventListener("htmx:beforeOnLoad", (event) => {
    const { xhr, elt } = event.detail;
    if (!xhr.getResponseHeader("HX-Redirect")) return;
    if (elt instanceof HTMLFormElement && elt.hasAttribute("data-review-form")) saveDraft(elt);
  });

  // Closing the shortcuts (Esc, its Close button) gives the focus back to the
  // product, as after a swap, not to the button that opened it: the next Enter
  // submits instead of opening the dialog again. The browser puts the focus
  // back before "close" fires, so this runs last.
  $("#shortcuts-dialog")?.addEventListener("close", focusProduct);

  setupPanel();
  restoreDraft();
  fitPanel();
  requestAnimationFrame(markSeen);
})();
