// The Agent Desktop: state, offers, conversations, transcript, composer, notes, wrap-up,
// history. Everything the customer or the server sends is shown as text, never as HTML.

import { DeskSocket } from "./desk-socket.js";
import { mountAttachments } from "./attachments.js";
import { mountHistory } from "./history-view.js";
import { mountNewChat } from "./new-chat.js";
import { dateTimeOf, el, renderTranscriptItems } from "./transcript.js";

const config = JSON.parse(document.getElementById("desk-config").textContent);
const $ = (id) => document.getElementById(id);

const REPLY_LATE_SECONDS = 60;
const RING_EVERY_MS = 2500;
const NOTIFY_RECENT_MS = 120000;
const TITLE = "Agent Desktop";

const desk = {
  snapshot: null,
  selected: null, // interaction id shown in the chat pane
  messages: new Map(), // interaction id -> Map(message id -> message)
  notes: new Map(), // interaction id -> Map(note id -> note)
  lastIds: {}, // interaction id -> last message id seen
  readUpTo: new Map(), // interaction id -> last message id this desktop marked read
  offersSeen: new Set(),
  notifications: [], // for operators and tests: what was shown, newest last
  ringing: false,
  loggedOut: false,
  socket: null,
};
window.agentDesk = desk; // for operators and tests: desk.socket.drop() simulates a network drop

function since(iso) {
  if (!iso) return 0;
  return Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
}

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function notice(text, isError = false) {
  const box = $("notice");
  box.replaceChildren(text);
  box.hidden = !text;
  box.classList.toggle("error", isError);
}

function chatById(id) {
  return desk.snapshot?.chats.find((c) => c.interaction_id === id) || null;
}

function liveChats() {
  return desk.snapshot ? desk.snapshot.chats.filter((c) => c.status !== "offered") : [];
}

function offers() {
  return desk.snapshot ? desk.snapshot.chats.filter((c) => c.status === "offered") : [];
}

// The agent is looking elsewhere: notify instead of relying on the screen.
function away() {
  return document.visibilityState === "hidden" || !document.hasFocus();
}

// --- Drafts: kept per conversation in this browser, across reloads --------------------------

const draftKey = (id) => `agentdesk.draft.${config.username}.${id}`;

function saveDraft() {
  const id = Number($("composer").dataset.chat);
  if (!id || $("composer").dataset.mode === "note") return;
  const text = $("composer").value;
  try {
    if (text) localStorage.setItem(draftKey(id), text);
    else localStorage.removeItem(draftKey(id));
  } catch {
    /* storage full or disabled: the draft lives only in the page */
  }
}

function loadDraft(id) {
  try {
    return localStorage.getItem(draftKey(id)) || "";
  } catch {
    return "";
  }
}

function dropDraft(id) {
  try {
    localStorage.removeItem(draftKey(id));
  } catch {
    /* nothing to drop */
  }
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
    case "note":
      addNote(frame.note);
      break;
    case "transcript":
      renderEarlier(frame);
      break;
    case "notice":
      notice(frame.text);
      break;
    case "error":
      if (frame.error === "refresh_failed") notice("The desktop could not refresh; trying again…", true);
      else notice(`${ACTION_LABELS[frame.action] || "That"} did not work: ${frame.message || frame.error}`, true);
      break;
    default:
      break;
  }
}

const ACTION_LABELS = {
  set_state: "Changing state",
  accept: "Accept",
  reject: "Reject",
  send: "Sending",
  end_chat: "End Chat",
  wrap_up: "Wrap-up",
  transfer: "Transfer",
  note: "The private note",
};

function applySnapshot(snap) {
  const firstSnapshot = desk.snapshot === null;
  desk.snapshot = snap;
  const readable = new Set(liveChats().map((c) => c.interaction_id));
  for (const id of [...desk.messages.keys()]) {
    if (!readable.has(id)) {
      desk.messages.delete(id);
      desk.notes.delete(id);
      delete desk.lastIds[id];
      desk.readUpTo.delete(id);
      if (!firstSnapshot) dropDraft(id);
    }
  }
  const missing = [...readable].filter((id) => !(id in desk.lastIds));
  if (missing.length) {
    for (const id of missing) desk.lastIds[id] = 0;
    desk.socket.send("sync", syncPayload());
  }
  if (desk.selected && !readable.has(desk.selected)) desk.selected = null;
  if (!desk.selected && readable.size) desk.selected = [...readable][0];
  for (const offer of offers()) {
    if (!desk.offersSeen.has(offer.assignment_id)) {
      desk.offersSeen.add(offer.assignment_id);
      const title = offer.origin === "transfer" ? "Transferred chat" : "New chat";
      notify(`${title}: ${offer.customer.name}`, offer.first_message, `offer-${offer.assignment_id}`);
    }
  }
  if (snap.agent.state === "logged_out") loggedOut();
  renderAll();
  openStartedChat();
}

// A chat the agent started from "New chat": selected once a snapshot carries it.
function openStartedChat(id = desk.opening) {
  desk.opening = id;
  if (!id || !chatById(id)) return;
  desk.opening = null;
  selectChat(id);
  $("composer").focus();
}

function addMessage(message) {
  const id = message.interaction_id;
  if (!desk.messages.has(id)) desk.messages.set(id, new Map());
  const known = desk.messages.get(id);
  const isNew = !known.has(message.id);
  known.set(message.id, message); // a repeat only updates the status
  // A message of a chat no snapshot has shown yet (a system line right after Accept) must not
  // mark the chat as loaded: the snapshot's sync then fetches its whole transcript from 0.
  if (id in desk.lastIds) desk.lastIds[id] = Math.max(desk.lastIds[id], message.id);
  if (isNew && message.direction === "in") {
    if (id === desk.selected && document.visibilityState !== "hidden") markRead(id);
    const recent = Date.now() - Date.parse(message.created_at) < NOTIFY_RECENT_MS;
    if (recent) {
      const chat = chatById(id);
      notify(chat ? chat.customer.name : "Customer", message.text || `[${message.kind}]`, `message-${id}`);
    }
  }
  if (id === desk.selected) renderTranscript();
  renderChatList();
}

function addNote(note) {
  const id = note.interaction_id;
  if (!desk.notes.has(id)) desk.notes.set(id, new Map());
  desk.notes.get(id).set(note.id, note);
  if (id === desk.selected) {
    renderTranscript();
    renderNotes();
  }
}

// Unread: inbound messages after the last one read (by the server's record or this desktop).
function unreadOf(chat) {
  const msgs = desk.messages.get(chat.interaction_id);
  if (!msgs || !msgs.size) return chat.unread;
  const upTo = Math.max(chat.last_read_message_id || 0, desk.readUpTo.get(chat.interaction_id) || 0);
  let count = 0;
  for (const m of msgs.values()) if (m.direction === "in" && m.id > upTo) count += 1;
  return count;
}

function markRead(id) {
  const last = desk.lastIds[id];
  if (!last || (desk.readUpTo.get(id) || 0) >= last) return;
  desk.readUpTo.set(id, last);
  desk.socket.send("read", { interaction_id: id, message_id: last });
}

function syncPayload() {
  return { last_ids: { ...desk.lastIds } };
}

// --- Attention: notifications, tab title, ringing ---------------------------------------------

function notify(title, body, tag) {
  if (!away() || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const shown = new Notification(title, { body: String(body || "").slice(0, 200), tag });
    shown.addEventListener("click", () => {
      window.focus();
      shown.close();
    });
    desk.notifications.push({ title, body, tag });
  } catch {
    /* some browsers only notify from a service worker */
  }
}

function renderNotificationButton() {
  const button = $("enable-notifications");
  button.hidden = !("Notification" in window) || Notification.permission !== "default";
}

function unreadTotal() {
  let total = 0;
  for (const chat of liveChats()) {
    if (chat.interaction_id === desk.selected && !away()) continue;
    total += unreadOf(chat);
  }
  return total;
}

function renderTitle() {
  const count = unreadTotal() + offers().length;
  document.title = count ? `(${count}) ${TITLE}` : TITLE;
}

let audio = null;
let ringTimer = null;
function chime() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.connect(gain);
    gain.connect(audio.destination);
    gain.gain.value = 0.2;
    osc.frequency.value = 880;
    osc.start();
    osc.stop(audio.currentTime + 0.2);
  } catch {
    /* no sound available */
  }
}

// Rings until every offer is answered (or withdrawn).
function renderRinging() {
  const ring = offers().length > 0 && !desk.loggedOut;
  if (ring && !ringTimer) {
    chime();
    ringTimer = setInterval(chime, RING_EVERY_MS);
  } else if (!ring && ringTimer) {
    clearInterval(ringTimer);
    ringTimer = null;
  }
  desk.ringing = ring;
}

// --- Rendering ---------------------------------------------------------------------------

function renderAll() {
  renderState();
  renderOffers();
  renderChatList();
  renderChat();
  renderRinging();
  renderTitle();
}

function stateValue(agent) {
  if (agent.state === "not_ready") return agent.reason_id ? `not_ready:${agent.reason_id}` : "not_ready";
  return agent.state;
}

function renderState() {
  const { agent, reasons } = desk.snapshot;
  const reason = agent.reason ? `${agent.state_label} (${agent.reason})` : agent.state_label;
  const label = agent.pending_not_ready ? `${reason}, Not Ready after chats` : reason;
  $("state-label").textContent = label;
  $("state-label").dataset.state = agent.state;
  const select = $("state-select");
  if (document.activeElement === select) return; // do not rebuild under the agent's hand
  const options = [["ready", "Ready"]];
  if (reasons.length) for (const r of reasons) options.push([`not_ready:${r.id}`, `Not Ready: ${r.name}`]);
  else options.push(["not_ready", "Not Ready"]);
  options.push(["logged_out", "Logged out"]);
  const current = stateValue(agent);
  select.replaceChildren();
  if (!options.some(([value]) => value === current)) {
    // Busy, After Call Work or a system reason: shown, but not something to choose.
    select.append(el("option", { text: label, attrs: { value: current, disabled: "" } }));
  }
  for (const [value, text] of options) select.append(el("option", { text, attrs: { value } }));
  select.value = current;
}

function renderOffers() {
  const box = $("offers");
  box.replaceChildren();
  offers().forEach((chat, index) => {
    const card = el("div", { cls: "offer", attrs: { "data-interaction": chat.interaction_id, role: "alert" } });
    const title = chat.origin === "transfer" ? "Transferred chat" : "New chat";
    card.append(el("strong", { text: `${title}: ${chat.service ? chat.service.name : "no service"}` }));
    card.append(el("div", { cls: "offer-customer", text: `${chat.customer.name} · ${chat.messenger_label}` }));
    card.append(el("blockquote", { cls: "offer-message", text: chat.first_message }));
    if (chat.transfer_note) card.append(el("div", { cls: "offer-note", text: `Note from ${chat.transferred_from}: ${chat.transfer_note}` }));
    card.append(el("span", { cls: "offer-countdown muted", attrs: { "data-deadline": chat.offer_deadline || "" } }));
    const keys = index === 0 ? " (Alt+A)" : "";
    const accept = el("button", { cls: "accept primary", text: "Accept", attrs: { type: "button", title: `Accept${keys}` } });
    accept.addEventListener("click", () => acceptOffer(chat));
    const reject = el("button", { cls: "reject", text: "Reject", attrs: { type: "button", title: `Reject${index === 0 ? " (Alt+R)" : ""}` } });
    reject.addEventListener("click", () => rejectOffer(chat));
    const actions = el("div", { cls: "offer-actions" });
    actions.append(accept, reject);
    card.append(actions);
    box.append(card);
  });
}

function acceptOffer(chat) {
  desk.selected = chat.interaction_id;
  desk.socket.send("accept", { interaction_id: chat.interaction_id });
}

function rejectOffer(chat) {
  desk.socket.send("reject", { interaction_id: chat.interaction_id });
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
  const chats = liveChats();
  $("no-chats").hidden = chats.length > 0;
  for (const chat of chats) {
    const item = el("li", { cls: "chat-item", attrs: { "data-interaction": chat.interaction_id } });
    const button = el("button", { cls: "chat-open", attrs: { type: "button" } });
    if (chat.interaction_id === desk.selected) {
      item.classList.add("selected");
      button.setAttribute("aria-current", "true");
    }
    button.append(el("span", { cls: "chat-name", text: chat.customer.name }));
    button.append(el("span", { cls: "chat-messenger muted", text: chat.messenger_label }));
    if (chat.status === "wrap_up") button.append(el("span", { cls: "chat-wrap", text: "wrap-up" }));
    else if (chat.accepted_at) button.append(el("span", { cls: "session-timer muted", attrs: { "data-since": chat.accepted_at, title: "Chat time" } }));
    const unread = chat.interaction_id === desk.selected ? 0 : unreadOf(chat);
    if (unread) button.append(el("span", { cls: "unread", text: unread, attrs: { "aria-label": `${unread} unread` } }));
    const wait = replyWaitSeconds(chat);
    if (wait !== null) {
      const timer = el("span", { cls: "reply-timer", text: clock(wait), attrs: { title: "Waiting for your reply" } });
      timer.classList.toggle("late", wait >= REPLY_LATE_SECONDS);
      button.append(timer);
    }
    button.addEventListener("click", () => selectChat(chat.interaction_id));
    item.append(button);
    list.append(item);
  }
  renderTitle();
}

function selectChat(id) {
  saveDraft();
  desk.selected = id;
  markRead(id);
  $("history").replaceChildren();
  delete $("transcript").dataset.rendered;
  pastView.close();
  renderChatList();
  renderChat();
}

function renderChat() {
  const chat = desk.selected ? chatById(desk.selected) : null;
  $("composer-box").hidden = !chat || chat.status !== "active";
  $("wrapup").hidden = !chat;
  $("no-chat").hidden = Boolean(chat);
  const header = $("chat-header");
  header.replaceChildren();
  $("transfer-note").hidden = true;
  if (!chat) {
    // Nothing selected: nothing of an earlier chat may linger (notes, timers, drafts).
    $("transcript").replaceChildren();
    $("customer-card").replaceChildren();
    $("earlier").replaceChildren();
    $("history").replaceChildren();
    $("notes-list").replaceChildren();
    $("notes").value = "";
    delete $("notes").dataset.touched;
    delete $("wrapup").dataset.chat;
    $("acw-timer").dataset.deadline = "";
    $("acw-timer").textContent = "";
    if ($("composer").dataset.chat) {
      saveDraft();
      $("composer").value = "";
      delete $("composer").dataset.chat;
    }
    return;
  }
  header.append(el("h2", { cls: "chat-title", text: chat.customer.name }));
  header.append(el("span", { cls: "muted", text: `${chat.messenger_label}${chat.service ? ` · ${chat.service.name}` : ""}` }));
  if (chat.status === "wrap_up") header.append(el("span", { cls: "chat-wrap", text: "chat ended, wrap-up" }));
  if (chat.transfer_note) {
    $("transfer-note").hidden = false;
    $("transfer-note").textContent = `Transferred by ${chat.transferred_from}: ${chat.transfer_note}`;
  }
  if ($("composer").dataset.chat !== String(chat.interaction_id)) {
    if ($("note-mode").checked) setNoteMode(false);
    $("composer").dataset.chat = String(chat.interaction_id);
    $("composer").value = loadDraft(chat.interaction_id);
  }
  renderComposerTools(chat);
  renderWrapUp(chat);
  renderCustomer(chat);
  renderNotes();
  renderTranscript();
}

function renderTranscript() {
  const chat = chatById(desk.selected);
  const msgs = [...(desk.messages.get(desk.selected)?.values() || [])];
  const notes = [...(desk.notes.get(desk.selected)?.values() || [])];
  renderTranscriptItems($("transcript"), msgs, notes, { customerName: chat ? chat.customer.name : "" });
}

function renderNotes() {
  const list = $("notes-list");
  const notes = [...(desk.notes.get(desk.selected)?.values() || [])].sort((a, b) => a.id - b.id);
  list.replaceChildren(
    ...notes.map((n) => {
      const li = el("li", { cls: "note" });
      li.append(el("div", { cls: "msg-head", text: `${n.author} · ${dateTimeOf(n.created_at)}` }));
      li.append(el("div", { cls: "note-text", text: n.text }));
      return li;
    }),
  );
  if (!notes.length) list.append(el("li", { cls: "muted", text: "None. Tick “Private note” to write one." }));
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
  // Folded while chatting (it is there for an early disposition), open once the chat ended.
  const phase = `${chat.interaction_id}:${chat.status}`;
  if ($("wrapup-details").dataset.phase !== phase) {
    $("wrapup-details").dataset.phase = phase;
    $("wrapup-details").open = chat.status === "wrap_up";
  }
  $("acw-timer").dataset.deadline = chat.status === "wrap_up" ? chat.acw_deadline || "" : "";
}

function renderCustomer(chat) {
  const card = $("customer-card");
  card.replaceChildren();
  const c = chat.customer;
  for (const [label, value] of [
    ["Name", c.name],
    ["Messenger", chat.messenger_label],
    ["Username", c.username],
    ["Language", c.language],
    ["Service", chat.service ? chat.service.name : ""],
    ["Chat started", dateTimeOf(chat.accepted_at || chat.offered_at)],
  ]) {
    card.append(el("dt", { text: label }), el("dd", { text: value || "—" }));
  }
  const earlier = $("earlier");
  earlier.replaceChildren();
  for (const e of chat.earlier) {
    const button = el("button", { cls: "link", text: dateTimeOf(e.opened_at), attrs: { type: "button" } });
    button.addEventListener("click", () => desk.socket.send("history", { interaction_id: e.interaction_id }));
    const item = el("li");
    item.append(button);
    earlier.append(item);
  }
  if (!chat.earlier.length) earlier.append(el("li", { cls: "muted", text: "None" }));
}

function renderEarlier(frame) {
  renderTranscriptItems($("history"), frame.messages, [], { showStatus: false });
}

function updateLimit() {
  const chat = desk.selected ? chatById(desk.selected) : null;
  if (!chat) return;
  if ($("note-mode").checked) {
    $("limit").textContent = "Only agents and supervisors see notes.";
    $("limit").classList.remove("over");
    return;
  }
  const length = $("composer").value.length;
  const parts = Math.max(1, Math.ceil(length / chat.text_limit));
  $("limit").textContent = `${length} / ${chat.text_limit}${parts > 1 ? ` (sent as ${parts} messages)` : ""}`;
  $("limit").classList.toggle("over", length > chat.text_limit);
}

function tick() {
  if (!desk.snapshot) return;
  $("state-time").textContent = desk.loggedOut ? "" : clock(since(desk.snapshot.agent.state_since));
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
    const button = item.querySelector(".chat-open");
    let timer = item.querySelector(".reply-timer");
    if (wait === null) {
      timer?.remove();
      continue;
    }
    if (!timer) {
      timer = el("span", { cls: "reply-timer", attrs: { title: "Waiting for your reply" } });
      button.append(timer);
    }
    timer.textContent = clock(wait);
    timer.classList.toggle("late", wait >= REPLY_LATE_SECONDS);
  }
}

// Logged out (by the agent or a supervisor): the desktop stops talking to the server.
function loggedOut() {
  if (desk.loggedOut) return;
  desk.loggedOut = true;
  desk.socket.stop();
  const node = $("connection");
  node.dataset.status = "logged_out";
  node.textContent = "Disconnected";
  const link = el("a", { text: "Log in again", attrs: { href: "/agent/login/" } });
  const box = $("notice");
  box.replaceChildren("You are logged out; this desktop no longer receives chats. ", link);
  box.hidden = false;
  box.classList.remove("error");
  $("state-select").disabled = true;
}

// --- Actions -----------------------------------------------------------------------------

const attachments = mountAttachments({
  box: $("composer-box"),
  dropZones: [$("composer-box"), $("transcript")],
  notice: (text, isError) => notice(text, isError),
});

async function sendAttachment() {
  const chat = desk.selected;
  const caption = $("composer").value.trim();
  if (await attachments.send(chat, caption)) {
    $("composer").value = "";
    dropDraft(chat);
    updateLimit();
  }
}

function sendComposer() {
  if (attachments.pending() && desk.selected && !$("note-mode").checked) {
    sendAttachment();
    return;
  }
  const text = $("composer").value.trim();
  if (!text || !desk.selected) return;
  const asNote = $("note-mode").checked;
  const { sent } = desk.socket.send(asNote ? "note" : "send", { interaction_id: desk.selected, text });
  $("composer").value = "";
  if (!asNote) dropDraft(desk.selected);
  updateLimit();
  if (!sent) notice("Not connected: it will be sent as soon as the desktop reconnects.", true);
}

function setNoteMode(on) {
  if (on) saveDraft();
  $("note-mode").checked = on;
  $("composer").dataset.mode = on ? "note" : "reply";
  $("composer-box").classList.toggle("note-mode", on);
  $("composer").value = on ? "" : loadDraft(desk.selected);
  $("composer").placeholder = on
    ? "Private note for agents and supervisors. The customer never sees it."
    : "Type a reply. Enter sends, Shift+Enter adds a line.";
  $("send").textContent = on ? "Add note" : "Send";
  updateLimit();
}

function endSelectedChat() {
  const chat = chatById(desk.selected);
  if (chat && chat.status === "active") desk.socket.send("end_chat", { interaction_id: chat.interaction_id });
}

function moveSelection(step) {
  const ids = liveChats().map((c) => c.interaction_id);
  if (!ids.length) return;
  const at = ids.indexOf(desk.selected);
  selectChat(ids[(at + step + ids.length) % ids.length]);
}

$("composer").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendComposer();
  }
});
$("composer").addEventListener("input", () => {
  saveDraft();
  updateLimit();
});
$("note-mode").addEventListener("change", (event) => setNoteMode(event.target.checked));
$("send").addEventListener("click", sendComposer);
$("canned").addEventListener("change", (event) => {
  const chat = chatById(desk.selected);
  const pick = chat && chat.canned[Number(event.target.value)];
  if (pick) {
    const box = $("composer");
    box.value = box.value ? `${box.value} ${pick.text}` : pick.text;
    saveDraft();
    updateLimit();
    box.focus();
  }
  event.target.value = "";
});
$("end-chat").addEventListener("click", endSelectedChat);
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
  if (state === "logged_out") {
    // The same as Log out: the session ends and the desktop disconnects.
    $("logout-form").requestSubmit();
    return;
  }
  if (state) desk.socket.send("set_state", { state, reason_id: reason || null });
  event.target.blur();
});
$("enable-notifications").addEventListener("click", async () => {
  // Asked from a click, never on load: browsers (rightly) ignore requests nobody made.
  await Notification.requestPermission();
  renderNotificationButton();
});
$("help-button").addEventListener("click", () => $("help-dialog").showModal());

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (event) => {
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    const first = offers()[0];
    const handled = {
      KeyA: () => first && acceptOffer(first),
      KeyR: () => first && rejectOffer(first),
      KeyE: endSelectedChat,
      KeyN: () => !$("composer-box").hidden && setNoteMode(!$("note-mode").checked),
      ArrowDown: () => moveSelection(1),
      ArrowUp: () => moveSelection(-1),
    }[event.code];
    if (handled) {
      event.preventDefault();
      handled();
    }
    return;
  }
  if (event.key === "?" && !typing(event.target) && !$("help-dialog").open) {
    event.preventDefault();
    $("help-dialog").showModal();
  }
});

function seen() {
  if (document.visibilityState !== "visible" || !desk.selected) return renderTitle();
  markRead(desk.selected);
  renderChatList();
}
document.addEventListener("visibilitychange", seen);
window.addEventListener("focus", seen);
window.addEventListener("blur", renderTitle);

const pastView = mountHistory({
  searchUrl: config.historyUrl,
  form: $("history-form"),
  results: $("history-results"),
  view: $("past-view"),
  onOpen: () => {
    for (const id of ["transcript", "composer-box", "wrapup", "chat-header", "no-chat"]) $(id).classList.add("covered");
  },
  onClose: () => {
    for (const id of ["transcript", "composer-box", "wrapup", "chat-header", "no-chat"]) $(id).classList.remove("covered");
  },
});

mountNewChat({
  optionsUrl: config.outboundUrl,
  button: $("new-chat"),
  dialog: $("new-chat-dialog"),
  onStarted: openStartedChat,
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
renderNotificationButton();
desk.socket.connect();
setInterval(tick, 1000);
