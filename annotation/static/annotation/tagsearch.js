// The tag index for autocompletes: fetched once (the server sends a cache
// header and an ETag), searched in memory so every keystroke answers at once
// even with thousands of tags. Exposes window.TaggerTags.
(() => {
  "use strict";

  const cache = new Map(); // url -> Promise<Index>

  const fold = (text) => (text || "").normalize("NFKC").toLowerCase();
  const isZh = () => (document.documentElement.lang || "").toLowerCase().startsWith("zh");

  function build(data) {
    const groups = new Map();
    for (const [id, name, en, zh, multi] of data.groups) {
      groups.set(id, { id, name, en, zh, single: !multi });
    }
    const tags = data.tags.map(([id, groupId, name, en, zh, aliases]) => {
      const group = groups.get(groupId) || { id: groupId, name: "", en: "", zh: "", single: false };
      const names = [name, en, zh, ...aliases].filter(Boolean);
      return {
        id,
        group,
        name,
        en,
        zh,
        aliases,
        key: `${group.name}:${name}`,
        folded: names.map(fold),
        facetFolded: [group.name, group.en, group.zh].filter(Boolean).map(fold),
      };
    });
    return { groups, tags, byId: new Map(tags.map((t) => [t.id, t])) };
  }

  // Sent as htmx sends its requests, so that a signed-out answer is the one
  // every htmx action gets (tagger/htmx.py): HX-Redirect to the login page,
  // with `next` this page, which the whole tab then follows.
  function load(url) {
    if (!cache.has(url)) {
      const headers = {
        Accept: "application/json",
        "HX-Request": "true",
        "HX-Current-URL": window.location.href,
      };
      const promise = fetch(url, { credentials: "same-origin", headers })
        .then((response) => {
          const redirect = response.headers.get("HX-Redirect");
          if (redirect) {
            window.location.assign(redirect);
            throw new Error("tag index: the session has ended");
          }
          if (!response.ok) throw new Error(`tag index: HTTP ${response.status}`);
          return response.json();
        })
        .then(build);
      promise.catch(() => cache.delete(url)); // let a later attempt retry
      cache.set(url, promise);
    }
    return cache.get(url);
  }

  // Lower rank is better: exact name, name prefix, word prefix, substring,
  // then facet matches. "facet:value" narrows to one facet.
  function rankNames(folded, q) {
    let best = Infinity;
    folded.forEach((text, i) => {
      const penalty = i === 0 ? 0 : 0.5; // the tag's own name beats its aliases
      let rank = Infinity;
      if (text === q) rank = 0;
      else if (text.startsWith(q)) rank = 1;
      else if (text.includes(` ${q}`) || text.includes(`-${q}`)) rank = 2;
      else if (text.includes(q)) rank = 3;
      best = Math.min(best, rank + penalty);
    });
    return best;
  }

  // `filter(tag)`, when given, keeps only the tags it returns true for.
  function search(index, query, limit = 12, filter = null) {
    let q = fold(query).trim();
    if (!q) return [];
    let facetQ = "";
    const colon = q.indexOf(":");
    if (colon > 0) {
      facetQ = q.slice(0, colon).trim();
      q = q.slice(colon + 1).trim();
    }
    const hits = [];
    for (const tag of index.tags) {
      if (filter && !filter(tag)) continue;
      let rank;
      if (facetQ) {
        if (!tag.facetFolded.some((f) => f.startsWith(facetQ))) continue;
        rank = q ? rankNames(tag.folded, q) : 1;
      } else {
        rank = rankNames(tag.folded, q);
        if (rank === Infinity && tag.facetFolded.some((f) => f.startsWith(q))) rank = 5;
      }
      if (rank !== Infinity) hits.push([rank, tag]);
    }
    hits.sort((a, b) => a[0] - b[0] || a[1].name.length - b[1].name.length || a[1].key.localeCompare(b[1].key));
    return hits.slice(0, limit).map(([, tag]) => tag);
  }

  function label(tag) {
    return isZh() ? tag.zh || tag.en || tag.name : tag.en || tag.name;
  }

  function facetLabel(group) {
    return isZh() ? group.zh || group.en || group.name : group.en || group.name;
  }

  // The alias or other-language name that matched, to show why a tag came up.
  function matchedAlias(tag, query) {
    const q = fold(query).split(":").pop().trim();
    if (!q) return "";
    const shown = fold(label(tag));
    const hit = [tag.name, tag.en, tag.zh, ...tag.aliases].find(
      (name) => name && fold(name) !== shown && fold(name).includes(q),
    );
    return hit || "";
  }

  let comboboxCount = 0;

  // An ARIA 1.2 combobox over the index: `input` (role=combobox) and `list`
  // (role=listbox). options: url, onChoose(tag), onEscape(), onEnterWithout()
  // (Enter with no option to choose; return true when it handled the key),
  // texts {empty, loading, failed, count}, status (an aria-live element for counts),
  // filter(tag) (offer only these tags), showKey (each option reads
  // "facet: name", the exact tag, with its display name beside it).
  function combobox(input, list, options) {
    const prefix = `tagopt${++comboboxCount}`;
    let results = [];
    let active = -1;
    let index = null;
    const texts = options.texts || {};

    const setExpanded = (open) => {
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      if (!open) input.removeAttribute("aria-activedescendant");
    };
    const close = () => {
      results = [];
      active = -1;
      list.replaceChildren();
      setExpanded(false);
    };
    const message = (text) => {
      const li = document.createElement("li");
      li.className = "tag-search-empty";
      li.setAttribute("role", "presentation");
      li.textContent = text;
      list.replaceChildren(li);
      setExpanded(true);
    };
    const highlight = (i) => {
      active = i;
      list.querySelectorAll("[role=option]").forEach((li, n) => {
        li.setAttribute("aria-selected", n === i ? "true" : "false");
        if (n === i) {
          input.setAttribute("aria-activedescendant", li.id);
          li.scrollIntoView({ block: "nearest" });
        }
      });
    };
    const render = () => {
      const query = input.value;
      if (!query.trim()) return close();
      if (!index) return message(texts.loading || "…");
      results = search(index, query, 12, options.filter || null);
      if (options.status) options.status.textContent = `${texts.count || ""} ${results.length}`.trim();
      if (!results.length) return message(texts.empty || "—");
      list.replaceChildren(
        ...results.map((tag, n) => {
          const li = document.createElement("li");
          li.id = `${prefix}-${tag.id}`;
          li.setAttribute("role", "option");
          li.dataset.index = String(n);
          const name = document.createElement("span");
          name.className = "opt-label";
          name.textContent = options.showKey ? `${tag.group.name}: ${tag.name}` : label(tag);
          const facet = document.createElement("span");
          facet.className = "opt-facet";
          facet.textContent = options.showKey ? label(tag) : facetLabel(tag.group);
          li.append(name);
          if (!options.showKey || label(tag) !== tag.name) li.append(" ", facet);
          const alias = matchedAlias(tag, query);
          if (alias) {
            const hint = document.createElement("span");
            hint.className = "opt-alias";
            hint.textContent = alias;
            li.append(" ", hint);
          }
          return li;
        }),
      );
      setExpanded(true);
      highlight(0);
    };
    const ensureIndex = () =>
      load(options.url).then(
        (loaded) => {
          index = loaded;
          if (document.activeElement === input) render();
        },
        () => message(texts.failed || "!"),
      );

    input.addEventListener("focus", ensureIndex);
    input.addEventListener("input", () => {
      if (!index) ensureIndex();
      render();
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.addEventListener("keydown", (event) => {
      const open = !list.hidden && results.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) return render();
        const step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + results.length) % results.length);
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          event.stopPropagation();
          const tag = results[active];
          close();
          options.onChoose(tag);
        } else if (options.onEnterWithout && options.onEnterWithout()) {
          event.preventDefault();
          event.stopPropagation();
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
        if (options.onEscape) options.onEscape();
      }
    });
    // mousedown, not click: the input must not blur (and close) first.
    list.addEventListener("mousedown", (event) => {
      const li = event.target.closest("[role=option]");
      if (!li) return;
      event.preventDefault();
      const tag = results[Number(li.dataset.index)];
      close();
      options.onChoose(tag);
    });
    return { close, prefetch: ensureIndex };
  }

  window.TaggerTags = { load, search, label, facetLabel, matchedAlias, combobox };
})();
