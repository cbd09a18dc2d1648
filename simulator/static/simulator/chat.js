// The customer chat page: one customer per tab, replies by polling ?after=<id>.
const base = document.body.dataset.base;
const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;

// A per-tab customer identity (sessionStorage is per tab), kept across reloads of the tab.
function customerKey() {
  let key = sessionStorage.getItem("sim-customer");
  if (!key) {
    key = "c-" + crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    sessionStorage.setItem("sim-customer", key);
  }
  return key;
}

const NAMES = ["Ana Lee", "Ben Ito", "Chloe Martin", "Dev Patel", "Eva Novak", "Femi Ade"];
const state = { key: customerKey(), after: 0, afterRequest: 0, afterDelivery: 0, timer: null, generation: 0, lastSent: null };
const SEND_TRIES = 4; // a send whose answer is lost is re-sent with the same client_key (stored once)

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function accountId() {
  return $("account").value;
}

function showStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// One <li> per message, found by server id or, before the send's answer, by the page's client key:
// the poll and the send's answer may both bring the same message, in either order.
function findMessage(message) {
  const byId = $("messages").querySelector(`li[data-id="${message.id}"]`);
  if (byId || !message.client_key) return byId;
  return $("messages").querySelector(`li[data-client-key="${CSS.escape(message.client_key)}"]`);
}

function renderMessage(item, message) {
  item.className = message.direction;
  if (message.id) item.dataset.id = message.id;
  if (message.client_key) item.dataset.clientKey = message.client_key;
  let text = item.querySelector(".text");
  if (!text) {
    text = document.createElement("span");
    text.className = "text";
    item.append(text);
  }
  text.textContent = message.text; // never innerHTML: customer and bot text is untrusted
  const a = message.attachment || {};
  if (!item.querySelector(".media-part")) {
    let part = null;
    if (message.media_url && message.kind === "image") {
      part = document.createElement("img");
      part.src = message.media_url;
      part.alt = a.name || "picture";
      part.className = "media media-part";
    } else if (message.media_url) {
      part = document.createElement("a");
      part.href = message.media_url;
      part.download = a.name || "file";
      part.className = "media-part";
      part.textContent = `📎 ${a.name || "file"} (${a.size || 0} bytes) `;
    } else if (message.kind === "location") {
      part = document.createElement("span");
      part.className = "media-part";
      part.textContent = `📍 ${a.latitude}, ${a.longitude} `;
    }
    if (part) item.prepend(part);
  }
  if (message.fate) showFate(item, message.fate);
  const rows = (message.markup && message.markup.buttons) || [];
  if (rows.length && !item.querySelector(".keyboard")) {
    // Quick replies / keyboard as the platform's app shows them: rows of buttons under the text.
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "keyrow";
      for (const key of row) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "key";
        button.textContent = key.label;
        button.addEventListener("click", () => press(message.id, key.label));
        line.append(button);
      }
      keyboard.append(line);
    }
    item.append(keyboard);
  }
}

function upsertMessage(message) {
  let item = findMessage(message);
  if (!item) {
    item = document.createElement("li");
    $("messages").append(item);
    $("messages").scrollTop = $("messages").scrollHeight;
  }
  renderMessage(item, message);
  return item;
}

// The fate of a customer's message, as the platform sees its webhook delivery.
function showFate(item, fate) {
  let label = item.querySelector(".fate");
  if (!label) {
    label = document.createElement("small");
    label.className = "fate";
    item.append(label);
  }
  label.textContent = fate.text;
  item.dataset.fate = fate.state;
  item.dataset.final = fate.final ? "1" : "";
  const failed = ["failed", "not_sent", "not_subscribed"].includes(fate.state);
  label.classList.toggle("error", failed || fate.state === "retrying");
  if (state.lastSent && state.lastSent === item) showStatus(fate.text, failed || fate.state === "retrying");
}

function watchedIds() {
  return [...$("messages").querySelectorAll("li.in[data-id]")]
    .filter((item) => !item.dataset.final)
    .map((item) => item.dataset.id);
}

function addLog(text, failed) {
  const item = document.createElement("li");
  item.textContent = text;
  if (failed) item.classList.add("fail");
  $("log").append(item);
}

async function poll() {
  const id = accountId();
  const generation = state.generation; // a chat switch starts a new loop; this one then stops
  if (!id) return;
  try {
    const query = new URLSearchParams({ customer: state.key, after: state.after, watch: watchedIds().join(",") });
    const response = await fetch(`${base}chat/${id}/messages?${query}`);
    if (response.ok && generation === state.generation) {
      const data = await response.json();
      showBlocked(data.customer);
      showIdentity(data.customer);
      for (const message of data.messages) {
        upsertMessage(message);
        state.after = Math.max(state.after, message.id);
      }
      for (const [messageId, fate] of Object.entries(data.fates || {})) {
        const item = $("messages").querySelector(`li[data-id="${messageId}"]`);
        if (item) showFate(item, fate);
      }
    }
    if ($("wire").open && generation === state.generation) await pollLog(id);
  } catch (error) {
    showStatus(`Connection problem: ${error.message}`, true);
  } finally {
    if (generation === state.generation) state.timer = setTimeout(poll, POLL_MS);
  }
}

async function pollLog(id) {
  const query = new URLSearchParams({ after_request: state.afterRequest, after_delivery: state.afterDelivery });
  const response = await fetch(`${base}chat/${id}/log?${query}`);
  if (!response.ok) return;
  const data = await response.json();
  if (!$("log").children.length && !data.requests.length && !data.deliveries.length) {
    $("log-empty").hidden = false;
    return;
  }
  $("log-empty").hidden = true;
  for (const r of data.requests) {
    addLog(`⇠ API ${r.method} ${r.path} → ${r.status_code}\n${JSON.stringify(r.headers)}\n${r.body}\n← ${r.response}`,
      r.status_code >= 400);
    state.afterRequest = Math.max(state.afterRequest, r.id);
  }
  for (const d of data.deliveries) {
    addLog(`⇢ webhook ${d.kind} ${d.method} ${d.url} [${d.status}, ${d.attempts} attempt(s), last ${d.last_status_code ?? "-"}]\n` +
      `${JSON.stringify(d.headers)}\n${d.body}`, d.status === "failed");
    state.afterDelivery = Math.max(state.afterDelivery, d.id);
  }
}

const ID_NAMES = { telegram: "user id", facebook: "PSID", line: "userId", viber: "id", nexmo: "number" };

function showIdentity(customer) {
  const platform = $("platform").dataset.platform;
  $("identity").textContent = customer ? `You are ${customer.name} (${ID_NAMES[platform] || "id"} ${customer.external_id})` : "";
}

function showBlocked(customer) {
  $("block").hidden = !customer;
  state.blocked = Boolean(customer && customer.blocked);
  $("block").textContent = state.blocked ? "Unblock the bot" : "Block the bot";
}

async function toggleBlock() {
  const response = await fetch(`${base}chat/${accountId()}/block`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ customer: state.key, blocked: !state.blocked }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showStatus(data.error || `Failed (HTTP ${response.status})`, true);
    return;
  }
  showBlocked({ blocked: data.blocked });
  const told = data.delivery ? ` The platform told the bot (${data.delivery.kind} event, ${data.delivery.status}).` : "";
  showStatus((data.blocked ? "You blocked the bot." : "You unblocked the bot.") + told);
}

function resetChat() {
  clearTimeout(state.timer);
  state.generation += 1;
  state.lastSent = null;
  state.after = 0; state.afterRequest = 0; state.afterDelivery = 0;
  $("messages").replaceChildren();
  $("log").replaceChildren();
  showBlocked(null);
  showIdentity(null);
  const option = $("account").selectedOptions[0];
  $("platform").dataset.platform = option ? option.dataset.platform || "" : "";
  $("platform").textContent = option && option.value ? `Imitating ${option.textContent}` : "";
  sessionStorage.setItem("sim-account", accountId());
  poll();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// POST the send; an answer that is lost (network error, timeout, 5xx) is retried with the same
// client_key, which the simulator stores once. Returns {response, data} or {error}.
async function postSend(id, body, item) {
  let last = {};
  for (let attempt = 1; attempt <= SEND_TRIES; attempt++) {
    if (attempt > 1) await sleep(500 * 2 ** (attempt - 2));
    try {
      const response = await fetch(`${base}chat/${id}/send`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      last = { response, data };
      if (response.status < 500) return last;
    } catch (error) {
      last = { error };
    }
    showFate(item, { state: "sending", final: false, text: "Sending… (no answer yet, trying again)" });
  }
  return last;
}

async function press(messageId, label) {
  const response = await fetch(`${base}chat/${accountId()}/press`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ customer: state.key, message_id: messageId, label }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showStatus(data.error || `Not sent (HTTP ${response.status})`, true);
    return;
  }
  upsertMessage(data.message);
  state.after = Math.max(state.after, data.message.id);
}

async function send(event) {
  event.preventDefault();
  const text = $("text").value;
  const id = accountId();
  if (!text.trim() || !id) return;
  const clientKey = "m-" + crypto.randomUUID().replaceAll("-", "");
  const generation = state.generation;
  $("text").value = "";
  const item = upsertMessage({ direction: "in", text, client_key: clientKey });
  state.lastSent = item;
  showFate(item, { state: "sending", final: false, text: "Sending…" });
  const body = { customer: state.key, name: $("name").value.trim(), text, client_key: clientKey };
  const { response, data, error } = await postSend(id, body, item);
  if (generation !== state.generation) return;
  if (response && response.ok) {
    upsertMessage(data.message);
    state.after = Math.max(state.after, data.message.id);
    return;
  }
  if (item.dataset.id) return; // the poll found it stored: its fate shows, whatever this answer was
  const why = (data && data.error) || (error ? `no answer from the simulator (${error.message})` : `HTTP ${response.status}`);
  showFate(item, { state: "not_sent", final: true, text: `Not sent: ${why}` });
  if (!$("text").value) $("text").value = text; // nothing stored: let the customer send it again
}

sessionStorage.getItem("sim-account") && ($("account").value = sessionStorage.getItem("sim-account"));
$("name").value = sessionStorage.getItem("sim-name") || NAMES[Math.floor(Math.random() * NAMES.length)];
$("name").addEventListener("change", () => sessionStorage.setItem("sim-name", $("name").value));
sessionStorage.setItem("sim-name", $("name").value);
$("account").addEventListener("change", resetChat);
$("composer").addEventListener("submit", send);
$("block").addEventListener("click", toggleBlock);
$("wire").addEventListener("toggle", () => $("wire").open && pollLog(accountId()));
resetChat();

// Pictures, files and locations go as multipart to send-media; the fake platform then tells
// the bot the way it does (file ids, content endpoints, expiring CDN links).
async function sendMedia(fields) {
  if (!accountId()) return;
  const form = new FormData();
  form.append("customer", state.key);
  form.append("name", $("name").value);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(`${base}chat/${accountId()}/send-media`, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken() },
    body: form,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showStatus(data.error || `Failed (HTTP ${response.status})`, true);
    return;
  }
  upsertMessage(data.message);
  state.after = Math.max(state.after, data.message.id);
  showStatus(data.delivery ? `Webhook ${data.delivery.status} (HTTP ${data.delivery.last_status_code ?? "-"})` : "");
}

for (const id of ["picture", "file"]) {
  $(id).addEventListener("change", () => {
    const file = $(id).files[0];
    if (file) sendMedia({ file, caption: $("text").value }).then(() => { $(id).value = ""; $("text").value = ""; });
  });
}
$("location").addEventListener("click", () => {
  // A fixed spot (no geolocation prompt): Brandenburg Gate, Berlin.
  sendMedia({ latitude: "52.516275", longitude: "13.377704" });
});
