// Conversation history: a search form, its results, and the transcript of the one opened,
// with its private notes and a form to add one. The desktop and the supervisor page use it.

import { dateTimeOf, el, renderTranscriptItems } from "./transcript.js";

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

export function mountHistory({ searchUrl, form, results, view, onOpen, onClose }) {
  const transcript = view.querySelector(".past-transcript");
  const title = view.querySelector(".past-title");
  const noteForm = view.querySelector(".past-note-form");
  let openId = null;

  async function search(event) {
    event?.preventDefault();
    const params = new URLSearchParams(new FormData(form));
    results.replaceChildren(el("li", { cls: "muted", text: "Searching…" }));
    try {
      const response = await fetch(`${searchUrl}?${params}`, { headers: { Accept: "application/json" } });
      const data = await response.json();
      results.replaceChildren();
      for (const r of data.results) {
        const button = el("button", { cls: "result", attrs: { type: "button", "data-interaction": r.interaction_id } });
        button.append(el("span", { cls: "result-name", text: `${r.customer} · ${r.messenger_label}` }));
        button.append(el("span", { cls: "result-when muted", text: `${dateTimeOf(r.opened_at)}${r.agent ? ` · ${r.agent}` : ""}` }));
        button.append(el("span", { cls: "result-excerpt", text: r.excerpt }));
        button.addEventListener("click", () => open(r.interaction_id));
        const li = el("li");
        li.append(button);
        results.append(li);
      }
      if (!data.results.length) results.append(el("li", { cls: "muted", text: "No conversation found." }));
    } catch {
      results.replaceChildren(el("li", { cls: "muted", text: "The search failed; try again." }));
    }
  }

  async function open(id) {
    const response = await fetch(`${searchUrl}${id}/`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    openId = id;
    title.textContent = `${data.customer} · ${data.messenger_label} · ${dateTimeOf(data.opened_at)}`;
    view.hidden = false;
    view.dataset.interaction = String(id);
    delete transcript.dataset.rendered;
    renderTranscriptItems(transcript, data.messages, data.notes, { customerName: data.customer });
    onOpen?.(data);
    view.querySelector(".past-close")?.focus();
  }

  function close() {
    view.hidden = true;
    openId = null;
    onClose?.();
  }

  form.addEventListener("submit", search);
  view.querySelector(".past-close")?.addEventListener("click", close);
  noteForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = noteForm.elements.text.value.trim();
    if (!text || openId === null) return;
    const response = await fetch(`${searchUrl}${openId}/notes/`, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: new URLSearchParams({ text }),
    });
    if (response.ok) {
      noteForm.elements.text.value = "";
      open(openId);
    }
  });
  return { search, open, close };
}
