// Reverie Studio, the sketch2art canvas: draw with Pointer Events (mouse, pen, finger), and
// the drawing is sent (debounced, one request at a time) to the model; the picture and its
// "seeing why" images come back as data URLs. Local and small: nothing fetched elsewhere.
"use strict";

(function () {
  const form = document.getElementById("canvas-form");
  if (!form) return;
  const canvas = document.getElementById("sketch");
  const ctx = canvas.getContext("2d");
  const width = document.getElementById("width");
  const error = document.getElementById("canvas-error");
  let erasing = false, drawing = false, last = null, timer = null, busy = false, again = false;

  function token() {
    const field = form.querySelector('input[name="_token"]') || document.querySelector('input[name="_token"]');
    if (field && field.value) return field.value;
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function blank() {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  blank();

  function point(e) {
    const r = canvas.getBoundingClientRect();
    return {x: (e.clientX - r.left) * canvas.width / r.width,
            y: (e.clientY - r.top) * canvas.height / r.height,
            p: e.pointerType === "pen" && e.pressure ? e.pressure : 0.5};
  }

  function stroke(a, b) {
    ctx.strokeStyle = erasing ? "#ffffff" : "#000000";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const w = Number(width.value) * (erasing ? 3 : 1);
    ctx.lineWidth = Math.max(1, w * b.p * 2);
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drawing = true;
    last = point(e);
    stroke(last, last);
    schedule();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of (events.length ? events : [e])) {
      const p = point(ev);
      stroke(last, p);
      last = p;
    }
    schedule();
  });
  for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
    canvas.addEventListener(name, () => {
      if (drawing) { drawing = false; schedule(60); }
    });
  }

  function tool(isEraser) {
    erasing = isEraser;
    document.getElementById("tool-pen").classList.toggle("active", !isEraser);
    document.getElementById("tool-eraser").classList.toggle("active", isEraser);
    document.getElementById("tool-pen").setAttribute("aria-pressed", String(!isEraser));
    document.getElementById("tool-eraser").setAttribute("aria-pressed", String(isEraser));
  }
  document.getElementById("tool-pen").addEventListener("click", () => tool(false));
  document.getElementById("tool-eraser").addEventListener("click", () => tool(true));
  document.getElementById("clear").addEventListener("click", () => { blank(); });

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(send, delay === undefined ? 250 : delay);
  }

  function body() {
    return new Promise((resolve) => canvas.toBlob((blob) => {
      const data = new FormData();
      data.append("_token", token());
      data.append("model", document.getElementById("model").value);
      data.append("sketch", blob, "canvas.png");
      resolve(data);
    }, "image/png"));
  }

  function post(url, data) {
    return fetch(url, {method: "POST", body: data, headers: {"X-Reverie-Token": token(),
                       "Accept": "application/json"}, credentials: "same-origin"})
      .then((r) => r.json().then((j) => { if (!r.ok) throw new Error(j.error || r.statusText); return j; }));
  }

  function show(message) {
    error.textContent = message || "";
    error.hidden = !message;
  }

  async function send() {
    if (busy) { again = true; return; }
    if (!document.getElementById("model").value) { show("train a sketch2art model first"); return; }
    busy = true;
    try {
      const j = await post(form.dataset.draw, await body());
      document.getElementById("art").src = j.image;
      document.getElementById("nearest").src = j.nearest;
      document.getElementById("patches").src = j.patches;
      document.getElementById("nearest-name").textContent = j.figures.nearest;
      document.getElementById("fake-share").textContent = j.figures["fake patches"];
      document.getElementById("timing").textContent = "(" + j.ms + " ms)";
      show("");
    } catch (err) {
      show(err.message);
    } finally {
      busy = false;
      if (again) { again = false; schedule(0); }
    }
  }

  document.getElementById("save").addEventListener("click", async () => {
    try {
      const j = await post(form.dataset.save, await body());
      window.location = j.url;
    } catch (err) {
      show(err.message);
    }
  });
})();
