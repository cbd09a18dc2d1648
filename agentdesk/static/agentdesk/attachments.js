// Attaching a file to a reply: the paperclip button or a file dropped on the chat. The file
// goes with the composer's text as its caption, over HTTP (the socket carries no files); the
// server checks it against the messenger's types and size and answers with the reason.

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function humanSize(size) {
  if (size >= 1048576) return `${(size / 1048576).toFixed(1)} MB`;
  if (size >= 1024) return `${Math.round(size / 1024)} KB`;
  return `${size} bytes`;
}

export function mountAttachments({ box, dropZones, notice }) {
  let pending = null;
  const input = box.querySelector("#attach-input");
  const chip = box.querySelector("#attach-chip");

  function show() {
    chip.hidden = !pending;
    chip.replaceChildren();
    if (!pending) return;
    chip.append(`📎 ${pending.name} (${humanSize(pending.size)}) `);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${pending.name}`);
    remove.addEventListener("click", () => choose(null));
    chip.append(remove);
  }

  function choose(file) {
    pending = file || null;
    if (!pending) input.value = "";
    show();
  }

  input.addEventListener("change", () => choose(input.files[0]));
  box.querySelector("#attach").addEventListener("click", () => input.click());
  for (const zone of dropZones) {
    zone.addEventListener("dragover", (event) => {
      if (box.hidden || !event.dataTransfer.types.includes("Files")) return;
      event.preventDefault();
      zone.classList.add("drop-target");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("drop-target"));
    zone.addEventListener("drop", (event) => {
      zone.classList.remove("drop-target");
      if (box.hidden || !event.dataTransfer.files.length) return;
      event.preventDefault();
      choose(event.dataTransfer.files[0]);
    });
  }

  return {
    pending: () => pending,
    // Uploads the pending file with `caption`; true once the server queued it.
    async send(interactionId, caption) {
      const form = new FormData();
      form.append("file", pending);
      form.append("caption", caption);
      let response;
      try {
        response = await fetch(`/agent/attachments/${interactionId}/`, {
          method: "POST",
          body: form,
          headers: { "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
        });
      } catch {
        notice("The file was not sent: no connection to the server.", true);
        return false;
      }
      if (response.status === 413) {
        notice(`${pending.name} is too large to upload.`, true);
        return false;
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        notice(body.error || `The file was not sent (HTTP ${response.status}).`, true);
        return false;
      }
      choose(null);
      return true;
    },
  };
}
