// The Agent Desktop: state, offers, Active Conversations, transcript, composer, wrap-up.
// Everything the customer or the server sends is shown with textContent, never as HTML.

import { DeskSocket } from "./desk-socket.js";

const config = JSON.parse(document.getElementById("desk-config").textContent);
const $ = (id) => document.getElementById(id);

const STATUS_LABELS = {
  received: "",
  queued: "queued",
  sending: "sending",
  sent: "sent",
  delivered: "delivered",
  read: "read",
  failed: "failed",
};
const REPLY_LATE_SECONDS = 60;

const desk = {
  snapshot: null,
  selected: null, // interaction id shown in the chat pane
  messages: new Map(), // interaction id -> Map(message id -> message)
  lastIds: {}, // interaction id -> last message id seen
  localUnread: new Map(),
  socket: null,
};
window.agentDesk = desk; // for operators and tests: desk.socket.drop() simulates a network drop

function el(tag, { cls, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function since(iso) {
  if (!iso) return 0;
  return Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
}

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function timeOf(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

function notice(text, isError = false) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = !text;
  box.classList.toggle("error", isError);
}

function chatById(id) {
  return desk.snapshot?.chats.find((c) => c.interaction_id === id) || null;
}

// --- Frames ------------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "snapshot":
      applySnapshot(frame);
      break;
    case "message":
      addMessage(frame.message);
      break;
    case "transcript":
      renderHistory(frame);
      break;
    case "notice":
      notice(frame.text);
      break;
    case "error":
      notice(frame.message || frame.error, true);
      break;
    default:
      break;
  }
}

function applySnapshot(snap) {
  desk.snapshot = snap;
  desk.localUnread.clear();
  const readable = new Set(snap.chats.filter((c) => c.status !== "offered").map((c) => c.interaction_id));
  for (const id of [...desk.messages.keys()]) {
    if (!readable.has(id)) {
      desk.messages.delete(id);
      delete desk.lastIds[id];
    }
  }
  const missing = [...readable].filter((id) => !(id in desk.lastIds));
  if (missing.length) {
    for (const id of missing) desk.lastIds[id] = 0;
    desk.socket.send("sync", syncPayload());
  }
  if (desk.selected && !readable.has(desk.selected)) desk.selected = null;
  if (!desk.selected && readable.size) desk.selected = [...readable][0];
  renderAll();
}

function addMessage(message) {
  const id = message.interaction_id;
  if (!desk.messages.has(id)) desk.messages.set(id, new Map());
  const known = desk.messages.get(id);
  const isNew = !known.has(message.id);
  known.set(message.id, message); // a repeat only updates the status
  desk.lastIds[id] = Math.max(desk.lastIds[id] || 0, message.id);
  if (isNew && message.direction === "in") {
    if (id === desk.selected && document.visibilityState !== "hidden") {
      desk.socket.send("read", { interaction_id: id, message_id: message.id });
    } else {
      desk.localUnread.set(id, (desk.localUnread.get(id) || 0) + 1);
    }
  }
  if (id === desk.selected) renderTranscript();
  renderChatList();
}

function syncPayload() {
  return { last_ids: { ...desk.lastIds } };
}

// --- Rendering ---------------------------------------------------------------------------

function renderAll() {
  renderState();
  renderOffers();
  renderChatList();
  renderChat();
}

function renderState() {
  const { agent, reasons } = desk.snapshot;
  const label = agent.reason ? `${agent.state_label} (${agent.reason})` : agent.state_label;
  $("state-label").textContent = agent.pending_not_ready ? `${label}, Not Ready after chats` : label;
  $("state-label").dataset.state = agent.state;
  const select = $("state-select");
  select.replaceChildren();
  const options = [["", "Choose…"], ["ready", "Ready"]];
  if (reasons.length) for (const r of reasons) options.push([`not_ready:${r.id}`, `Not Ready: ${r.name}`]);
  else options.push(["not_ready", "Not Ready"]);
  options.push(["logged_out", "Logged out"]);
  for (const [value, text] of options) select.append(el("option", { text, attrs: { value } }));
  select.value = "";
}

function renderOffers() {
  const box = $("offers");
  box.replaceChildren();
  for (const chat of desk.snapshot.chats.filter((c) => c.status === "offered")) {
    const card = el("div", { cls: "offer", attrs: { "data-interaction": chat.interaction_id, role: "alert" } });
    const title = chat.origin === "transfer" ? "Transferred chat" : "New chat";
    card.append(el("strong", { text: `${title}: ${chat.service ? chat.service.name : "no service"}` }));
    card.append(el("div", { cls: "offer-customer", text: `${chat.customer.name} · ${chat.messenger_label}` }));
    card.append(el("blockquote", { cls: "offer-message", text: chat.first_message }));
    if (chat.transfer_note) card.append(el("div", { cls: "offer-note", text: `Note from ${chat.transferred_from}: ${chat.transfer_note}` }));
    card.append(el("span", { cls: "offer-countdown muted", attrs: { "data-deadline": chat.offer_deadline || "" } }));
    const accept = el("button", { cls: "accept", text: "Accept", attrs: { type: "button" } });
    accept.addEventListener("click", () => {
      desk.selected = chat.interaction_id;
      desk.socket.send("accept", { interaction_id: chat.interaction_id });
    });
    const reject = el("button", { cls: "reject", text: "Reject", attrs: { type: "button" } });
    reject.addEventListener("click", () => desk.socket.send("reject", { interaction_id: chat.interaction_id }));
    card.append(accept, reject);
    box.append(card);
  }
  if (box.childElementCount) chime();
}

function replyWaitSeconds(chat) {
  // On the agent's turn: time since the customer's last message not yet answered.
  const msgs = [...(desk.messages.get(chat.interaction_id)?.values() || [])];
  let lastIn = null;
  let lastOut = null;
  for (const m of msgs) {
    if (m.direction === "in") lastIn = m;
    else if (m.sender === "agent") lastOut = m;
  }
  if (!lastIn || (lastOut && lastOut.id > lastIn.id) || chat.status !== "active") return null;
  return since(lastIn.created_at);
}

function renderChatList() {
  if (!desk.snapshot) return;
  const list = $("chat-list");
  list.replaceChildren();
  const chats = desk.snapshot.chats.filter((c) => c.status !== "offered");
  $("no-chats").hidden = chats.length > 0;
  for (const chat of chats) {
    const item = el("li", { cls: "chat-item", attrs: { "data-interaction": chat.interaction_id } });
    if (chat.interaction_id === desk.selected) item.classList.add("selected");
    item.append(el("span", { cls: "chat-name", text: chat.customer.name }));
    item.append(el("span", { cls: "chat-messenger muted", text: chat.messenger_label }));
    if (chat.status === "wrap_up") item.append(el("span", { cls: "chat-wrap", text: "wrap-up" }));
    else if (chat.accepted_at) item.append(el("span", { cls: "session-timer muted", attrs: { "data-since": chat.accepted_at } }));
    const unread = chat.interaction_id === desk.selected ? 0 : chat.unread + (desk.localUnread.get(chat.interaction_id) || 0);
    if (unread) item.append(el("span", { cls: "unread", text: unread }));
    const wait = replyWaitSeconds(chat);
    if (wait !== null) {
      const timer = el("span", { cls: "reply-timer", text: clock(wait) });
      timer.classList.toggle("late", wait >= REPLY_LATE_SECONDS);
      item.append(timer);
    }
    item.addEventListener("click", () => selectChat(chat.interaction_id));
    list.append(item);
  }
}

function selectChat(id) {
  desk.selected = id;
  desk.localUnread.delete(id);
  const last = desk.lastIds[id];
  if (last) desk.socket.send("read", { interaction_id: id, message_id: last });
  const chat = chatById(id);
  if (chat) chat.unread = 0;
  $("history").replaceChildren();
  renderChatList();
  renderChat();
}

function renderChat() {
  const chat = desk.selected ? chatById(desk.selected) : null;
  $("composer-box").hidden = !chat || chat.status !== "active";
  $("wrapup").hidden = !chat;
  const header = $("chat-header");
  header.replaceChildren();
  $("transfer-note").hidden = true;
  if (!chat) {
    $("transcript").replaceChildren();
    $("customer-card").replaceChildren();
    $("earlier").replaceChildren();
    return;
  }
  header.append(el("strong", { text: chat.customer.name }));
  header.append(el("span", { cls: "muted", text: ` · ${chat.messenger_label}${chat.service ? ` · ${chat.service.name}` : ""}` }));
  if (chat.status === "wrap_up") header.append(el("span", { cls: "chat-wrap", text: " chat ended, wrap-up" }));
  if (chat.transfer_note) {
    $("transfer-note").hidden = false;
    $("transfer-note").textContent = `Transferred by ${chat.transferred_from}: ${chat.transfer_note}`;
  }
  renderComposerTools(chat);
  renderWrapUp(chat);
  renderCustomer(chat);
  renderTranscript();
}

function renderTranscript() {
  const list = $("transcript");
  const msgs = [...(desk.messages.get(desk.selected)?.values() || [])].sort((a, b) => a.id - b.id);
  list.replaceChildren(...msgs.map(renderMessage));
  list.scrollTop = list.scrollHeight;
}

function renderMessage(m, { history = false } = {}) {
  const item = el("li", { cls: `msg ${m.direction === "in" ? "msg-in" : "msg-out"}`, attrs: { "data-id": m.id } });
  const who = m.direction === "in" ? "" : `${m.sender_name}: `;
  const body = m.text || (m.attachment && m.attachment.url) || `[${m.kind}]`;
  item.append(el("div", { cls: "msg-text", text: `${who}${body}` }));
  const meta = el("div", { cls: "msg-meta" });
  meta.append(el("time", { text: timeOf(m.created_at), attrs: { datetime: m.created_at || "" } }));
  if (m.direction === "out" && !history) {
    const status = el("span", { cls: `msg-status status-${m.status}`, text: STATUS_LABELS[m.status] ?? m.status });
    meta.append(status);
    if (m.status === "failed" && m.error) meta.append(el("span", { cls: "msg-error", text: m.error }));
  }
  item.append(meta);
  return item;
}

function renderComposerTools(chat) {
  const canned = $("canned");
  canned.replaceChildren(el("option", { text: "Canned responses…", attrs: { value: "" } }));
  chat.canned.forEach((c, i) => canned.append(el("option", { text: c.title, attrs: { value: String(i) } })));
  updateLimit();
  fillSelect($("transfer-agent"), desk.snapshot.transfer_agents.map((a) => [a.id, `${a.name} (${a.state})`]));
  fillSelect($("transfer-service"), desk.snapshot.transfer_services.map((s) => [s.id, s.name]));
}

// Rebuilds a select's options, keeping what the agent picked if it is still offered.
function fillSelect(select, options, fallback = "") {
  const picked = select.dataset.touched ? select.value : fallback;
  select.replaceChildren(el("option", { text: "—", attrs: { value: "" } }));
  for (const [value, text] of options) select.append(el("option", { text, attrs: { value: String(value) } }));
  select.value = options.some(([value]) => String(value) === picked) ? picked : "";
}

function renderWrapUp(chat) {
  const chatChanged = $("wrapup").dataset.chat !== String(chat.interaction_id);
  $("wrapup").dataset.chat = String(chat.interaction_id);
  if (chatChanged) {
    delete $("disposition").dataset.touched;
    delete $("notes").dataset.touched;
  }
  fillSelect($("disposition"), chat.dispositions.map((d) => [d.id, d.name]), String(chat.disposition_id || ""));
  if (!$("notes").dataset.touched) $("notes").value = chat.notes;
  $("wrapup-done").hidden = chat.status !== "wrap_up";
  $("acw-timer").dataset.deadline = chat.acw_deadline || "";
}

function renderCustomer(chat) {
  const card = $("customer-card");
  card.replaceChildren();
  const c = chat.customer;
  for (const [label, value] of [
    ["Messenger", chat.messenger_label],
    ["Name", c.name],
    ["Username", c.username],
    ["Language", c.language],
  ]) {
    card.append(el("dt", { text: label }), el("dd", { text: value || "—" }));
  }
  const earlier = $("earlier");
  earlier.replaceChildren();
  for (const e of chat.earlier) {
    const button = el("button", { cls: "link", text: new Date(e.opened_at).toLocaleString(), attrs: { type: "button" } });
    button.addEventListener("click", () => desk.socket.send("history", { interaction_id: e.interaction_id }));
    earlier.append(el("li")).append(button);
  }
  if (!chat.earlier.length) earlier.append(el("li", { cls: "muted", text: "None" }));
}

function renderHistory(frame) {
  $("history").replaceChildren(...frame.messages.map((m) => renderMessage(m, { history: true })));
}

function updateLimit() {
  const chat = desk.selected ? chatById(desk.selected) : null;
  if (!chat) return;
  const length = $("composer").value.length;
  const parts = Math.max(1, Math.ceil(length / chat.text_limit));
  $("limit").textContent = `${length} / ${chat.text_limit}${parts > 1 ? ` (sent as ${parts} messages)` : ""}`;
  $("limit").classList.toggle("over", length > chat.text_limit);
}

function tick() {
  if (!desk.snapshot) return;
  $("state-time").textContent = clock(since(desk.snapshot.agent.state_since));
  for (const node of document.querySelectorAll("[data-deadline]")) {
    const deadline = node.dataset.deadline;
    const left = deadline ? Math.ceil((new Date(deadline).getTime() - Date.now()) / 1000) : 0;
    node.textContent = left > 0 ? `${left} s left` : "";
  }
  for (const node of document.querySelectorAll("[data-since]")) node.textContent = clock(since(node.dataset.since));
  // Reply timers change every second; update them in place so clicks are not disturbed.
  for (const item of document.querySelectorAll(".chat-item")) {
    const chat = chatById(Number(item.dataset.interaction));
    const wait = chat ? replyWaitSeconds(chat) : null;
    let timer = item.querySelector(".reply-timer");
    if (wait === null) {
      timer?.remove();
      continue;
    }
    if (!timer) {
      timer = el("span", { cls: "reply-timer" });
      item.append(timer);
    }
    timer.textContent = clock(wait);
    timer.classList.toggle("late", wait >= REPLY_LATE_SECONDS);
  }
}

let audio = null;
function chime() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    osc.connect(audio.destination);
    osc.frequency.value = 880;
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch {
    /* no sound available */
  }
}

// --- Actions -----------------------------------------------------------------------------

function sendReply() {
  const text = $("composer").value.trim();
  if (!text || !desk.selected) return;
  if (desk.socket.send("send", { interaction_id: desk.selected, text })) {
    $("composer").value = "";
    updateLimit();
  } else {
    notice("Not connected; your text is kept. It can be sent once the desktop reconnects.", true);
  }
}

$("composer").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendReply();
  }
});
$("composer").addEventListener("input", updateLimit);
$("send").addEventListener("click", sendReply);
$("canned").addEventListener("change", (event) => {
  const chat = chatById(desk.selected);
  const pick = chat && chat.canned[Number(event.target.value)];
  if (pick) {
    const box = $("composer");
    box.value = box.value ? `${box.value} ${pick.text}` : pick.text;
    updateLimit();
    box.focus();
  }
  event.target.value = "";
});
$("end-chat").addEventListener("click", () => {
  if (desk.selected) desk.socket.send("end_chat", { interaction_id: desk.selected });
});
function wrapUp(finish) {
  if (!desk.selected) return;
  desk.socket.send("wrap_up", {
    interaction_id: desk.selected,
    disposition_id: $("disposition").value || null,
    notes: $("notes").value,
    finish,
  });
}
for (const id of ["disposition", "notes", "transfer-agent", "transfer-service"]) {
  $(id).addEventListener("input", () => {
    $(id).dataset.touched = "1";
  });
}
$("wrapup-save").addEventListener("click", () => wrapUp(false));
$("wrapup-done").addEventListener("click", () => wrapUp(true));
$("transfer-button").addEventListener("click", () => {
  if (!desk.selected) return;
  desk.socket.send("transfer", {
    interaction_id: desk.selected,
    to_agent_id: $("transfer-agent").value || null,
    service_id: $("transfer-service").value || null,
    note: $("transfer-note-input").value,
  });
  $("transfer-note-input").value = "";
  for (const id of ["transfer-agent", "transfer-service"]) {
    delete $(id).dataset.touched;
    $(id).value = "";
  }
  $("transfer-box").open = false;
});
// Who can take a transfer changes all the time: fetch a fresh list when the box opens.
$("transfer-box").addEventListener("toggle", () => {
  if ($("transfer-box").open) desk.socket.send("sync", syncPayload());
});
$("state-select").addEventListener("change", (event) => {
  const [state, reason] = event.target.value.split(":");
  if (state) desk.socket.send("set_state", { state, reason_id: reason || null });
});

desk.socket = new DeskSocket({
  path: config.wsPath,
  heartbeatSeconds: config.heartbeatSeconds,
  onFrame,
  syncPayload,
  onStatus: (status) => {
    const node = $("connection");
    node.dataset.status = status;
    node.textContent = {
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Connection lost, reconnecting…",
      refused: "Not logged in as an agent",
    }[status];
  },
});
desk.socket.connect();
setInterval(tick, 1000);
