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
const state = { key: customerKey(), after: 0, afterRequest: 0, afterDelivery: 0, timer: null };

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

function addMessage(message) {
  const item = document.createElement("li");
  item.className = message.direction;
  item.dataset.id = message.id;
  item.textContent = message.text; // never innerHTML: customer and bot text is untrusted
  const a = message.attachment || {};
  if (message.media_url && message.kind === "image") {
    const img = document.createElement("img");
    img.src = message.media_url;
    img.alt = a.name || "picture";
    img.className = "media";
    item.prepend(img);
  } else if (message.media_url) {
    const link = document.createElement("a");
    link.href = message.media_url;
    link.download = a.name || "file";
    link.textContent = `📎 ${a.name || "file"} (${a.size || 0} bytes) `;
    item.prepend(link);
  } else if (message.kind === "location") {
    item.prepend(`📍 ${a.latitude}, ${a.longitude} `);
  }
  $("messages").append(item);
  $("messages").scrollTop = $("messages").scrollHeight;
}

function addLog(text, failed) {
  const item = document.createElement("li");
  item.textContent = text;
  if (failed) item.classList.add("fail");
  $("log").append(item);
}

async function poll() {
  const id = accountId();
  if (!id) return;
  try {
    const query = new URLSearchParams({ customer: state.key, after: state.after });
    const response = await fetch(`${base}chat/${id}/messages?${query}`);
    if (response.ok) {
      const data = await response.json();
      showBlocked(data.customer);
      showIdentity(data.customer);
      for (const message of data.messages) {
        if (!document.querySelector(`#messages li[data-id="${message.id}"]`)) addMessage(message);
        state.after = Math.max(state.after, message.id);
      }
    }
    if ($("wire").open) await pollLog(id);
  } catch (error) {
    showStatus(`Connection problem: ${error.message}`, true);
  } finally {
    state.timer = setTimeout(poll, POLL_MS);
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

async function send(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim() || !accountId()) return;
  showStatus("Sending…");
  const response = await fetch(`${base}chat/${accountId()}/send`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ customer: state.key, name: $("name").value.trim(), text }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showStatus(data.error || `Not sent (HTTP ${response.status})`, true);
    return;
  }
  $("text").value = "";
  addMessage(data.message);
  state.after = Math.max(state.after, data.message.id);
  const d = data.delivery;
  if (data.echo) showStatus("Echo mode: the simulator answers itself (no webhook registered, or echo on).");
  else if (!d) showStatus("Not delivered: the webhook is not subscribed to messages.", true);
  else if (d.status === "delivered") showStatus(`Delivered to the webhook (HTTP ${d.last_status_code}).`);
  else if (d.status === "dropped") showStatus("Dropped (drop mode): the contact center will not see it.");
  else showStatus(`Webhook answered ${d.last_status_code ?? "nothing"}; the platform will retry.`, true);
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
  addMessage(data.message);
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
