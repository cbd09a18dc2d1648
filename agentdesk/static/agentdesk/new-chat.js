// "New chat": the agent writes first to a customer an outbound chat account already knows.
// The platforms allow writing only to people who wrote to the bot (Facebook: within its
// window), so the form searches known customers only and says the rule. The server decides;
// this form only shows its answer.

import { dateTimeOf, el } from "./transcript.js";

const SEARCH_DELAY_MS = 250;

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

// `optionsUrl` serves the choices; `customers/` and `start/` live beside it.
export function mountNewChat({ optionsUrl, button, dialog, onStarted }) {
  const form = dialog.querySelector("form");
  const account = form.elements.account;
  const search = form.elements.q;
  const text = form.elements.text;
  const list = dialog.querySelector(".new-chat-customers");
  const found = dialog.querySelector(".new-chat-found");
  const rule = dialog.querySelector(".new-chat-rule");
  const error = dialog.querySelector(".new-chat-error");
  const start = form.querySelector("button[type=submit]");
  let searchTimer = null;
  let searchSeq = 0;
  let starting = false; // not `disabled`: that would drop the focus from the button

  function showError(message, field = null) {
    error.textContent = message;
    error.hidden = !message;
    if (field) field.focus();
  }

  // The services with an outbound account: no such service, no button.
  async function loadOptions() {
    try {
      const response = await fetch(optionsUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return false;
      const data = await response.json();
      const picked = account.value;
      account.replaceChildren();
      for (const service of data.services) {
        for (const a of service.accounts) {
          const label = `${service.name} · ${a.messenger_label}: ${a.name}`;
          account.append(el("option", { text: label, attrs: { value: `${service.id}|${a.id}` } }));
        }
      }
      if ([...account.options].some((o) => o.value === picked)) account.value = picked;
      rule.textContent = data.note;
      button.hidden = account.options.length === 0;
      return account.options.length > 0;
    } catch {
      return false;
    }
  }

  function chosen() {
    const [service, accountId] = account.value.split("|");
    return { service, accountId };
  }

  function customerItem(c) {
    const id = `new-chat-customer-${c.id}`;
    const item = el("li", { cls: "new-chat-customer" });
    const radio = el("input", { attrs: { type: "radio", name: "customer", value: String(c.id), id } });
    const label = el("label", { attrs: { for: id } });
    label.append(el("span", { cls: "chat-name", text: c.name || c.external_id }));
    const details = [c.username ? `@${c.username}` : "", `id ${c.external_id}`];
    if (c.last_inbound_at) details.push(`last wrote ${dateTimeOf(c.last_inbound_at)}`);
    label.append(el("span", { cls: "muted", text: details.filter(Boolean).join(" · ") }));
    if (c.refusal) {
      radio.disabled = true;
      label.append(el("span", { cls: "new-chat-refusal", text: c.refusal }));
    }
    item.append(radio, label);
    return item;
  }

  async function findCustomers() {
    clearTimeout(searchTimer);
    const { accountId } = chosen();
    if (!accountId) return;
    const seq = ++searchSeq;
    found.textContent = "Searching…";
    try {
      const params = new URLSearchParams({ account: accountId, q: search.value.trim() });
      const response = await fetch(`${optionsUrl}customers/?${params}`, { headers: { Accept: "application/json" } });
      if (seq !== searchSeq) return; // a newer search is on its way
      if (!response.ok) throw new Error(String(response.status));
      const { customers } = await response.json();
      const picked = list.querySelector("input:checked")?.value;
      list.replaceChildren(...customers.map(customerItem));
      const radios = [...list.querySelectorAll("input[type=radio]:not(:disabled)")];
      const keep = radios.find((r) => r.value === picked) || (radios.length === 1 ? radios[0] : null);
      if (keep) keep.checked = true;
      found.textContent = customers.length
        ? `${customers.length} known customer${customers.length === 1 ? "" : "s"}${customers.length >= 20 ? " (the most recent; narrow the search)" : ""}.`
        : "No known customer matches. Customers appear here once they have written to this account.";
    } catch {
      if (seq === searchSeq) found.textContent = "The search failed; try again.";
    }
  }

  function searchSoon() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(findCustomers, SEARCH_DELAY_MS);
  }

  async function open() {
    showError("");
    await loadOptions();
    if (!account.options.length) return;
    dialog.showModal();
    (account.options.length > 1 ? account : search).focus();
    findCustomers();
  }

  async function submit(event) {
    event.preventDefault();
    if (starting) return;
    const { service } = chosen();
    const customer = list.querySelector("input:checked")?.value;
    if (!service) return showError("Pick the service and account to write from.", account);
    if (!customer) return showError("Pick a customer from the list (search by name, username or id).", search);
    if (!text.value.trim()) return showError("Write the first message.", text);
    showError("");
    starting = true;
    start.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${optionsUrl}start/`, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: new URLSearchParams({ service, customer, text: text.value }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        const field = { empty: text, unknown_customer: search, busy_customer: search }[data.code] || null;
        return showError(data.error || `The chat did not start (HTTP ${response.status}).`, field);
      }
      text.value = "";
      search.value = "";
      list.replaceChildren();
      dialog.close();
      onStarted?.(data.interaction_id);
    } catch {
      showError("The chat did not start: the server could not be reached. Try again.");
    } finally {
      starting = false;
      start.removeAttribute("aria-busy");
    }
  }

  button.addEventListener("click", open);
  account.addEventListener("change", () => {
    list.replaceChildren();
    findCustomers();
  });
  search.addEventListener("input", searchSoon);
  search.addEventListener("keydown", (event) => {
    // Enter in the search field searches now; it does not start the chat.
    if (event.key === "Enter") {
      event.preventDefault();
      findCustomers();
    }
  });
  form.addEventListener("submit", submit);
  form.addEventListener("input", () => showError("")); // the agent is fixing it
  dialog.querySelector(".new-chat-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    clearTimeout(searchTimer);
    showError("");
  });
  loadOptions();
  return { open, refresh: loadOptions };
}
