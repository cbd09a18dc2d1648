// The scenario change form's block editor: each block shows the settings and exits of its
// selected type only, and every exit input offers the block keys typed on the page (new
// blocks included, so a scenario can be built in one save). Without this script every
// type's fields show, each labelled with its type.

const types = JSON.parse(document.getElementById("scenario-block-types").textContent);
const BRANCH_TYPES = ["if", "switch"];

function rowsOf(block) {
  return block.querySelectorAll(".form-row");
}

// A row belongs to a type when one of its field-<type>__... classes names it.
function rowType(row) {
  for (const name of row.classList) {
    const match = /^field-([a-z_]+?)__/.exec(name);
    if (match && match[1] in types) return match[1];
  }
  return null;
}

function showType(block) {
  const select = block.querySelector("select[name$='-type']");
  if (!select) return;
  const chosen = select.value;
  for (const row of rowsOf(block)) {
    const owner = rowType(row);
    if (owner !== null) row.hidden = owner !== chosen;
    if (row.classList.contains("field-other_exits")) row.hidden = !BRANCH_TYPES.includes(chosen);
    if (row.classList.contains("field-next_block")) row.hidden = !types[chosen]?.has_next;
  }
  let help = block.querySelector(".block-type-help");
  if (!help) {
    help = document.createElement("p");
    help.className = "help block-type-help";
    select.insertAdjacentElement("afterend", help);
  }
  const info = types[chosen];
  help.textContent = info ? `${info.label}: ${info.help}` : "";
  if (BRANCH_TYPES.includes(chosen)) pickBranchExits(block, chosen);
}

// The exit labels the branches field declares (If: JSON; Switch: "value = Exit label" lines).
function branchLabels(block, type) {
  const text = block.querySelector(`textarea[name$='-${type}__branches']`)?.value || "";
  if (type === "switch") {
    return text.split("\n").filter((l) => l.includes("=")).map((l) => l.slice(l.lastIndexOf("=") + 1).trim());
  }
  try {
    const branches = JSON.parse(text || "[]");
    return Array.isArray(branches) ? branches.map((b) => String(b?.exit ?? "").trim()) : [];
  } catch {
    return null; // half-typed JSON: keep the picker as it is
  }
}

// One key input per branch label, written back as the "Branch exits" lines the server reads.
function pickBranchExits(block, type) {
  const lines = block.querySelector("textarea[name$='-other_exits']");
  const labels = branchLabels(block, type);
  if (!lines || labels === null) return;
  const targets = new Map();
  for (const line of lines.value.split("\n")) {
    const at = line.lastIndexOf("=");
    if (at > 0) targets.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  let picker = block.querySelector(".branch-exit-picker");
  if (!picker) {
    picker = document.createElement("div");
    picker.className = "branch-exit-picker";
    lines.insertAdjacentElement("afterend", picker);
  }
  const listId = `${lines.id}-keys`;
  picker.replaceChildren(Object.assign(document.createElement("datalist"), { id: listId }));
  for (const label of labels.filter(Boolean)) {
    const input = Object.assign(document.createElement("input"), { value: targets.get(label) || "" });
    input.setAttribute("list", listId);
    input.dataset.exit = label;
    input.setAttribute("aria-label", `Exit ${label}`);
    input.addEventListener("input", () => writeBranchExits(picker, lines));
    const row = document.createElement("div");
    row.append(Object.assign(document.createElement("label"), { textContent: `Exit ${label}: ` }), input);
    picker.append(row);
  }
  lines.hidden = true;
  writeBranchExits(picker, lines);
  refreshKeyLists();
}

function writeBranchExits(picker, lines) {
  lines.value = [...picker.querySelectorAll("input[data-exit]")]
    .filter((input) => input.value.trim())
    .map((input) => `${input.dataset.exit} = ${input.value.trim()}`)
    .join("\n");
}

function slug(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^\w\s-]/g, "").trim().replace(/[\s_-]+/g, "-").slice(0, 50);
}

// Keys typed on the page (a blank key is made from the title on save, as the server does).
function pageKeys() {
  const keys = new Set();
  for (const block of document.querySelectorAll(".inline-related:not(.empty-form)")) {
    const deleted = block.querySelector("input[name$='-DELETE']");
    if (deleted && deleted.checked) continue;
    const key = block.querySelector("input[name$='-key']")?.value.trim();
    const title = block.querySelector("input[name$='-title']")?.value.trim();
    const value = key || (title ? slug(title) : "");
    if (value) keys.add(value);
  }
  return [...keys].sort();
}

function refreshKeyLists() {
  const keys = pageKeys();
  for (const list of document.querySelectorAll(".inline-related:not(.empty-form) datalist")) {
    list.replaceChildren(...keys.map((key) => Object.assign(document.createElement("option"), { value: key })));
  }
}

const wired = new WeakSet();

function wire() {
  // The hidden empty form is the template new rows are cloned from: leave it alone.
  for (const block of document.querySelectorAll(".inline-related:not(.empty-form)")) {
    const select = block.querySelector("select[name$='-type']");
    if (!select || wired.has(select)) continue;
    wired.add(select);
    select.addEventListener("change", () => showType(block));
    showType(block);
  }
  refreshKeyLists();
}

wire();
document.addEventListener("formset:added", wire);
document.addEventListener("input", (event) => {
  const name = event.target.name || "";
  if (/-(key|title)$/.test(name)) refreshKeyLists();
  const branches = /-(if|switch)__branches$/.exec(name);
  if (branches) pickBranchExits(event.target.closest(".inline-related"), branches[1]);
});
