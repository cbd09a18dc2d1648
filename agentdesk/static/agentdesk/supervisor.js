// Supervisor view: agents with state and time in state, queues, live counts; force Not Ready
// or logout. Polls the JSON overview; everything is rendered with textContent.

import { mountHistory } from "./history-view.js";

const REFRESH_MS = 2000;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}:` : ""}${String(m).padStart(h ? 2 : 1, "0")}:${String(s).padStart(2, "0")}`;
}

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]").value;
}

async function force(agentId, state) {
  const body = new URLSearchParams({ state });
  const response = await fetch(`/agent/supervisor/agents/${agentId}/force/`, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body,
  });
  if (!response.ok) alert((await response.json()).error || "Could not change the agent's state.");
  refresh();
}

function render(data) {
  const c = data.counts;
  document.getElementById("counts").textContent =
    `Logged in ${c.agents_logged_in} · Ready ${c.by_state.ready} · Busy ${c.by_state.busy} · ` +
    `Not Ready ${c.by_state.not_ready} · ACW ${c.by_state.acw} · Active chats ${c.chats_active} · ` +
    `Waiting ${c.chats_waiting} · Ringing ${c.offers_ringing}`;
  const agents = document.querySelector("#agents tbody");
  agents.replaceChildren(
    ...data.agents.map((a) => {
      const row = el("tr");
      row.dataset.agent = a.username;
      row.append(
        el("td", a.name),
        el("td", a.team),
        el("td", a.state_label, `state state-${a.state}`),
        el("td", a.reason),
        el("td", clock(a.seconds_in_state)),
        el("td", `${a.chats} / ${a.capacity}`),
        el("td", a.connected ? "yes" : "no"),
      );
      const actions = el("td");
      if (a.state !== "logged_out") {
        const nr = el("button", "Force Not Ready", "force-not-ready");
        nr.type = "button";
        nr.addEventListener("click", () => force(a.id, "not_ready"));
        const out = el("button", "Log out", "force-logout");
        out.type = "button";
        out.addEventListener("click", () => force(a.id, "logged_out"));
        actions.append(nr, out);
      }
      row.append(actions);
      return row;
    }),
  );
  const queues = document.querySelector("#queues tbody");
  queues.replaceChildren(
    ...data.queues.map((q) => {
      const row = el("tr");
      row.append(el("td", q.service), el("td", q.waiting), el("td", clock(q.longest_wait_seconds)));
      return row;
    }),
  );
}

async function refresh() {
  try {
    const response = await fetch("/agent/supervisor/data/", { headers: { Accept: "application/json" } });
    if (response.ok) render(await response.json());
  } catch {
    /* retried on the next tick */
  }
}

refresh();
setInterval(refresh, REFRESH_MS);

mountHistory({
  searchUrl: document.querySelector(".supervisor-grid").dataset.historyUrl,
  form: document.getElementById("history-form"),
  results: document.getElementById("history-results"),
  view: document.getElementById("past-view"),
});
