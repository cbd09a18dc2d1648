// Transcript rendering shared by the desktop and the supervisor's history view.
// Everything the customer or the server sends becomes text nodes; only http(s) addresses
// become links, and those open with rel="noopener noreferrer".

export function el(tag, { cls, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

export function timeOf(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

export function dateTimeOf(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
}

function dayOf(iso) {
  const day = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (day.toDateString() === today.toDateString()) return "Today";
  if (day.toDateString() === yesterday.toDateString()) return "Yesterday";
  return day.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;

// Appends `text` to `node`, with web addresses as safe links.
export function linkify(node, text) {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0].replace(/[.,;:!?)\]}]+$/, "");
    node.append(text.slice(last, match.index));
    node.append(el("a", { text: url, attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } }));
    last = match.index + url.length;
  }
  node.append(text.slice(last));
}

// Delivery as ticks: the word is in the tooltip and for screen readers.
const TICKS = {
  queued: ["🕓", "Queued"],
  sending: ["🕓", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
  failed: ["!", "Failed"],
};

function statusTick(m) {
  const [mark, word] = TICKS[m.status] || ["", m.status];
  const label = m.status === "failed" && m.error ? `${word}: ${m.error}` : word;
  const tick = el("span", {
    cls: `msg-status status-${m.status}`,
    attrs: { "data-status": m.status, title: label },
  });
  tick.append(el("span", { text: mark, attrs: { "aria-hidden": "true" } }), el("span", { cls: "sr-only", text: label }));
  return tick;
}

function renderMessage(m, { customerName, showStatus }) {
  const item = el("li", { cls: `msg ${m.direction === "in" ? "msg-in" : "msg-out"}`, attrs: { "data-id": m.id } });
  const head = el("div", { cls: "msg-head" });
  const who = m.direction === "in" ? customerName || m.sender_name : m.sender_name;
  head.append(el("span", { cls: "msg-sender", text: who }), " ");
  head.append(el("time", { text: timeOf(m.created_at), attrs: { datetime: m.created_at || "" } }));
  if (m.direction === "out" && showStatus) head.append(" ", statusTick(m));
  item.append(head);
  const media = renderAttachment(m);
  if (media) item.append(media);
  if (m.text || !media) {
    const body = el("div", { cls: "msg-text" });
    linkify(body, m.text || `[${m.kind}]`);
    item.append(body);
  }
  return item;
}

function sizeOf(size) {
  if (!size) return "";
  if (size >= 1048576) return `${(size / 1048576).toFixed(1)} MB`;
  return size >= 1024 ? `${Math.round(size / 1024)} KB` : `${size} bytes`;
}

const KIND_WORDS = { image: "Picture", sticker: "Sticker", video: "Video", audio: "Voice / audio", file: "File" };

// Pictures as thumbnails that open full size, voice and video playable, other files as
// download links with name and size, locations with coordinates and a map link; a file
// that could not be fetched leaves its reason in its place.
function renderAttachment(m) {
  const a = m.attachment || {};
  const box = el("div", { cls: "msg-media" });
  if (m.kind === "location" && a.latitude !== undefined) {
    const coords = `${Number(a.latitude).toFixed(5)}, ${Number(a.longitude).toFixed(5)}`;
    box.append(`📍 ${a.title || a.name || "Location"}: ${coords} `);
    const map = `https://www.openstreetmap.org/?mlat=${a.latitude}&mlon=${a.longitude}#map=16/${a.latitude}/${a.longitude}`;
    box.append(el("a", { text: "Open map", attrs: { href: map, target: "_blank", rel: "noopener noreferrer" } }));
    return box;
  }
  if (m.kind === "contact") {
    box.append(`👤 ${[a.name, a.first_name, a.last_name].filter(Boolean).join(" ")} ${a.phone_number || ""}`);
    return box;
  }
  const media = m.media;
  if (!media) return null;
  const word = KIND_WORDS[m.kind] || "File";
  const name = media.name || word.toLowerCase();
  if (media.state === "failed") {
    box.classList.add("media-missing");
    box.append(`${word} not available: ${media.error || "it could not be fetched."}`);
    return box;
  }
  if (!media.url) {
    box.append(`${word}: loading…`);
    return box;
  }
  const type = media.content_type || "";
  if ((m.kind === "image" || m.kind === "sticker") && (type.startsWith("image/") || media.state === "linked")) {
    const link = el("a", { cls: "media-thumb", attrs: { href: media.url, target: "_blank", rel: "noopener", title: `Open ${name} full size` } });
    link.append(el("img", { attrs: { src: media.url, alt: `${word}: ${name}`, loading: "lazy" } }));
    box.append(link);
  } else if (m.kind === "audio" && type.startsWith("audio/")) {
    box.append(el("audio", { attrs: { src: media.url, controls: "", preload: "metadata", "aria-label": name } }));
  } else if (m.kind === "video" && type.startsWith("video/")) {
    box.append(el("video", { attrs: { src: media.url, controls: "", preload: "metadata", "aria-label": name } }));
  } else {
    const size = sizeOf(media.size);
    box.append(el("a", { cls: "media-file", text: `📎 ${name}${size ? ` (${size})` : ""}`, attrs: { href: media.url, download: name } }));
  }
  return box;
}

function renderNote(n) {
  const item = el("li", { cls: "note", attrs: { "data-note": n.id } });
  const head = el("div", { cls: "msg-head" });
  head.append(el("span", { cls: "note-label", text: "Private note" }), " ");
  head.append(el("span", { cls: "msg-sender", text: n.author }), " ");
  head.append(el("time", { text: timeOf(n.created_at), attrs: { datetime: n.created_at } }));
  item.append(head);
  const body = el("div", { cls: "note-text" });
  linkify(body, n.text);
  item.append(body);
  return item;
}

// Messages and notes in time order, with a separator where the day changes.
export function renderTranscriptItems(list, messages, notes, { customerName = "", showStatus = true } = {}) {
  const items = [
    ...messages.map((m) => ({ at: Date.parse(m.created_at) || 0, order: m.id, node: () => renderMessage(m, { customerName, showStatus }), iso: m.created_at })),
    ...notes.map((n) => ({ at: Date.parse(n.created_at) || 0, order: Number.MAX_SAFE_INTEGER, node: () => renderNote(n), iso: n.created_at })),
  ].sort((a, b) => a.at - b.at || a.order - b.order);
  const nodes = [];
  let day = null;
  for (const item of items) {
    const thisDay = item.iso ? new Date(item.iso).toDateString() : null;
    if (thisDay && thisDay !== day) {
      day = thisDay;
      const sep = el("li", { cls: "day-sep" });
      sep.append(el("time", { text: dayOf(item.iso), attrs: { datetime: item.iso.slice(0, 10) } }));
      nodes.push(sep);
    }
    nodes.push(item.node());
  }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...nodes);
  if (atBottom || !list.dataset.rendered) list.scrollTop = list.scrollHeight;
  list.dataset.rendered = "1";
}
