// Reverie Studio: progress over server-sent events, live previews, presets, form errors.
// Local and small on purpose: no framework, nothing fetched from anywhere else.
"use strict";

function fmtSeconds(s) {
  if (s === null || s === undefined) return "";
  s = Math.round(s);
  return "about " + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") + " left";
}

function watchJob(box) {
  const id = box.dataset.id;
  const finished = box.dataset.finished.split(" ");  // the statuses a job ends in
  if (finished.includes(box.dataset.status)) return;
  const source = new EventSource("/jobs/" + id + "/events");
  let lastPreview = -1;
  source.onmessage = (event) => {
    const s = JSON.parse(event.data);
    document.getElementById("status").textContent = s.status;
    document.getElementById("status").className = "status " + s.status;
    document.getElementById("position").textContent = s.position ? "queued, " + s.position + " in line" : "";
    const bar = document.getElementById("bar");
    bar.max = s.total || 1;
    bar.value = s.done;
    document.getElementById("message").textContent = s.message;
    document.getElementById("left").textContent = fmtSeconds(s.seconds_left);
    if (s.preview && s.preview_version !== lastPreview) {
      lastPreview = s.preview_version;
      const url = "/files/jobs/" + id + "/" + s.preview + "?v=" + s.preview_version;
      if (s.preview.endsWith(".png")) {
        const img = document.getElementById("preview-img");
        img.src = url;
        img.hidden = false;
      } else {
        fetch(url).then((r) => r.text()).then((text) => {
          const pre = document.getElementById("preview-text");
          pre.textContent = text;
          pre.hidden = false;
        });
      }
    }
    if (finished.includes(s.status)) {
      source.close();
      window.location.reload();
    }
  };
}

function setupPresets(select) {
  const presets = JSON.parse(select.dataset.presets);
  for (const name of Object.keys(presets)) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.appendChild(option);
  }
  select.addEventListener("change", () => {
    const fields = presets[select.value] || {};
    for (const [name, value] of Object.entries(fields)) {
      const input = document.getElementById("f-" + name);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = value === "True" || value === "true";
      else input.value = value;
    }
  });
}

function setupCards(box) {
  // a zoo model's card beside the model input: the chosen model's card is the open one
  const input = document.getElementById(box.dataset.for);
  if (!input) return;
  input.addEventListener("input", () => {
    for (const card of box.querySelectorAll("details.card")) {
      card.open = card.dataset.model === input.value.trim();
    }
  });
}

function setupForm(form) {
  const error = document.getElementById("form-error");
  const maxBytes = Number(form.dataset.maxMb) * 1024 * 1024;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const file of input.files) {
        if (file.size > maxBytes) {
          error.textContent = file.name + " is " + (file.size / 1e6).toFixed(1) +
            " MB, over the studio's limit of " + form.dataset.maxMb + " MB; choose a smaller file";
          error.hidden = false;
          return;
        }
      }
    }
    const button = document.getElementById("run-button");
    button.disabled = true;
    if (!await postAndGo(form.action, new FormData(form), error)) button.disabled = false;
  });
}

async function postAndGo(url, body, error) {
  // POST for JSON {"url"} and go there; a refusal shows its one line in `error`
  try {
    const response = await fetch(url, {method: "POST", body: body,
                                       headers: {"Accept": "application/json"}});
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || ("the studio answered " + response.status));
    window.location.href = data.url;
    return true;
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    return false;
  }
}

function setupSearch(box) {
  // the home page: show the tiles whose name, title, summary or paper hold every word typed
  const tiles = Array.from(document.querySelectorAll(".pictures .tile"));
  const groups = Array.from(document.querySelectorAll(".domain-group"));
  box.addEventListener("input", () => {
    const words = box.value.toLowerCase().split(/\s+/).filter((w) => w);
    for (const tile of tiles) {
      tile.hidden = !words.every((w) => tile.dataset.search.includes(w));
    }
    let any = false;
    for (const group of groups) {
      const shown = group.querySelector(".tile:not([hidden])") !== null;
      group.hidden = !shown;
      any = any || shown;
    }
    document.getElementById("search-none").hidden = any;
  });
}

function setupMenu(button) {
  // narrow screens: the menu is a bar with a button that unfolds it
  const nav = document.getElementById("menu");
  button.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
}

function setupDrop() {
  // a picture, sound or video Reverie wrote, dropped anywhere on a page: its form, filled in
  const meta = document.querySelector("meta[name=reverie-token]");
  const error = document.getElementById("drop-error");
  if (!meta || !error) return;
  const hasFile = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
  document.addEventListener("dragover", (event) => {
    if (event.target.closest && event.target.closest("input[type=file]")) return;  // an upload box
    if (!hasFile(event)) return;
    event.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
  document.addEventListener("drop", async (event) => {
    if (event.target.closest && event.target.closest("input[type=file]")) return;
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (!file) return;
    event.preventDefault();
    document.body.classList.remove("dropping");
    const body = new FormData();
    body.append("picture", file, file.name);
    body.append("_token", meta.content);
    error.hidden = true;
    await postAndGo("/open", body, error);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupDrop();
  const menu = document.getElementById("menu-toggle");
  if (menu) setupMenu(menu);
  const search = document.getElementById("search");
  if (search) setupSearch(search);
  const job = document.getElementById("job");
  if (job) watchJob(job);
  const preset = document.getElementById("preset");
  if (preset) setupPresets(preset);
  for (const box of document.querySelectorAll(".cards[data-for]")) setupCards(box);
  const form = document.getElementById("run");
  if (form) setupForm(form);
});
