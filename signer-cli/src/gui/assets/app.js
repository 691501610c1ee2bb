// The page: card panel, sign, verify, card tools. Plain JS, no storage of any
// kind: secrets live in a password field until the one request that needs
// them, and the field is cleared as the request is built.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let lang = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
  let privacyAccepted = false;
  let lastCard = null;
  let busy = false;
  const t = (k) => (window.STRINGS[lang] && window.STRINGS[lang][k]) || window.STRINGS.en[k] || k;

  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $("lang-ja").classList.toggle("active", lang === "ja");
    $("lang-en").classList.toggle("active", lang === "en");
    document.title = "jpki-sign — " + t("title");
    refreshCard();
  }

  // ---- card panel -------------------------------------------------------
  function renderCard(c) {
    lastCard = c;
    const problem = $("card-problem");
    const pins = $("card-pins");
    pins.textContent = "";
    if (!c.ok) {
      problem.textContent = c.problem;
      problem.hidden = false;
      $("card-info").hidden = true;
      return;
    }
    problem.hidden = true;
    $("card-info").hidden = false;
    $("card-reader").textContent = c.reader;
    $("card-kind").textContent = c.kind.replace(/^[^:：]*[:：]\s*/, "");
    for (const p of c.pins) {
      const li = document.createElement("li");
      li.id = "pin-" + p.pin;
      li.dataset.tries = p.tries_left === null ? "" : String(p.tries_left);
      li.textContent = p.text + (p.last ? " — " + t("last_warning") : "");
      if (p.last || p.blocked) li.className = "last";
      pins.appendChild(li);
    }
    const sign = c.pins.find((p) => p.pin === "sign");
    $("sign-last-label").hidden = !(sign && sign.last);
  }

  async function refreshCard() {
    try {
      const r = await fetch("/api/card?lang=" + lang, { cache: "no-store", credentials: "same-origin" });
      if (r.status === 403) { renderCard({ ok: false, problem: t("server_gone") }); return; }
      renderCard(await r.json());
    } catch (e) {
      renderCard({ ok: false, problem: t("server_gone") });
    }
  }

  // ---- uploads ----------------------------------------------------------
  // Frames: 4-byte big-endian length + bytes: options (JSON), secret, files.
  function frame(part) {
    const size = part instanceof Blob ? part.size : part.byteLength;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, size, false);
    return [len, part];
  }

  function body(options, secret, files) {
    options.lang = lang;
    options.names = files.map((f) => f.name);
    const parts = [...frame(new TextEncoder().encode(JSON.stringify(options))),
                   ...frame(new TextEncoder().encode(secret))];
    for (const f of files) parts.push(...frame(f));
    return new Blob(parts, { type: "application/octet-stream" });
  }

  // The language goes in the URL too, so that an upload refused before its
  // body is read (too large) is answered in the page's language.
  function post(path, blob, progress) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open("POST", path + "?lang=" + lang);
      x.responseType = "json";
      if (progress) {
        progress.hidden = false;
        progress.removeAttribute("value");
        x.upload.onprogress = (e) => { if (e.lengthComputable) { progress.max = e.total; progress.value = e.loaded; } };
        x.upload.onload = () => { progress.removeAttribute("value"); };
      }
      x.onload = () => {
        if (progress) progress.hidden = true;
        resolve(x.response || { ok: false, error: t("http_error") + " (HTTP " + x.status + ")" });
      };
      x.onerror = () => {
        if (progress) progress.hidden = true;
        resolve({ ok: false, error: t("server_gone") });
      };
      x.send(blob);
    });
  }

  function showError(id, msg) {
    const el = $(id);
    el.textContent = msg || "";
    el.hidden = !msg;
  }

  function report(parent, r, heading) {
    const div = document.createElement("div");
    div.className = "result " + (r.valid ? "valid" : "invalid");
    div.dataset.valid = String(r.valid);
    const h = document.createElement("h3");
    h.textContent = heading;
    const v = document.createElement("p");
    v.className = "verdict " + (r.valid ? "valid" : "invalid");
    v.textContent = r.valid ? t("valid") : t("not_valid") + (r.error ? ": " + r.error : "");
    const anchor = document.createElement("p");
    anchor.className = "anchor";
    anchor.textContent = t("anchor_" + (r.anchor || "none"));
    const pre = document.createElement("pre");
    pre.className = "report";
    pre.textContent = r.report || "";
    div.append(h, v, anchor, pre);
    parent.appendChild(div);
    return div;
  }

  // ---- sign -------------------------------------------------------------
  function stampRect() {
    const pos = $("stamp-pos").value;
    if (pos === "bl") return "36,36,220,54";
    if (pos === "custom") return ($("stamp-x").value || 0) + "," + ($("stamp-y").value || 0) + ",220,54";
    return "";
  }

  // The page the stamp goes on, in points, and pixels per point of the picture.
  // Until the server renders the real page (pdftoppm), an A4 schematic at 1/5.
  let page = { w: 595, h: 842, scale: 0.2 };

  function drawPreview() {
    // The CLI's default box is 220 × 54 pt, 36 pt from the edges.
    const pos = $("stamp-pos").value;
    let x = page.w - 36 - 220, y = 36;
    if (pos === "bl") x = 36;
    if (pos === "custom") { x = Number($("stamp-x").value) || 0; y = Number($("stamp-y").value) || 0; }
    const box = $("stamp-box");
    box.style.left = (x * page.scale) + "px";
    box.style.bottom = (y * page.scale) + "px";
    box.style.width = (220 * page.scale) + "px";
    box.style.height = (54 * page.scale) + "px";
    const pv = $("stamp-preview");
    pv.style.width = (page.w * page.scale) + "px";
    pv.style.height = (page.h * page.scale) + "px";
    $("stamp-custom").hidden = pos !== "custom";
  }

  async function loadPreview() {
    const local = !$("local-box").hidden && $("use-local").checked;
    const f = $("sign-files").files[0];
    if (!$("stamp").checked || (!f && !local)) return;
    const opts = { stamp_page: Number($("stamp-page").value) || 1, local: local };
    const r = await post("/api/preview", body(opts, "", local ? [] : [f]), null);
    const img = $("stamp-img");
    if (!r.ok) {
      img.hidden = true;
      page = { w: 595, h: 842, scale: 0.2 };
    } else {
      img.src = "data:image/png;base64," + r.png;
      img.hidden = false;
      page = { w: r.width_pt, h: r.height_pt, scale: 0.5 };
    }
    drawPreview();
  }

  function placeStamp(e) {
    // The click is the centre of the box; X,Y are its lower-left corner in points.
    const rect = $("stamp-preview").getBoundingClientRect();
    const px = (e.clientX - rect.left) / page.scale;
    const py = (rect.bottom - e.clientY) / page.scale;
    $("stamp-pos").value = "custom";
    $("stamp-x").value = Math.round(Math.max(0, Math.min(page.w - 220, px - 110)));
    $("stamp-y").value = Math.round(Math.max(0, Math.min(page.h - 54, py - 27)));
    drawPreview();
  }

  async function loadLocal() {
    try {
      const r = await (await fetch("/api/local", { cache: "no-store" })).json();
      const ul = $("local-list");
      for (const f of r.files) {
        const li = document.createElement("li");
        li.textContent = f;
        ul.appendChild(li);
      }
      $("local-box").hidden = r.files.length === 0;
    } catch (e) { /* the card panel reports a server that is gone */ }
  }

  function listFiles() {
    const ul = $("sign-list");
    ul.textContent = "";
    for (const f of $("sign-files").files) {
      const li = document.createElement("li");
      li.textContent = f.name + " (" + Math.ceil(f.size / 1024) + " KiB)";
      ul.appendChild(li);
    }
  }

  function askPrivacy() {
    if (privacyAccepted) return doSign();
    $("privacy").showModal();
  }

  async function doSign() {
    const local = !$("local-box").hidden && $("use-local").checked;
    const files = local ? [] : [...$("sign-files").files];
    const pw = $("sign-password");
    if (!local && !files.length) return showError("sign-error", t("no_files"));
    if (!pw.value) return showError("sign-error", t("no_password"));
    showError("sign-error", "");
    $("sign-results").textContent = "";
    const opts = {
      pades: $("profile-pades").checked,
      reason: $("reason").value,
      location: $("location").value,
      allow_last_try: $("sign-last").checked,
      stamp: $("stamp").checked,
      stamp_page: Number($("stamp-page").value) || 1,
      stamp_rect: stampRect(),
      local: local,
    };
    const all = files.slice();
    const seal = $("seal").files[0];
    if (opts.stamp && seal) { opts.seal = all.length; all.push(seal); }
    const blob = body(opts, pw.value.toUpperCase(), all);
    pw.value = "";
    $("sign-last").checked = false;
    setBusy(true);
    $("sign-status").textContent = t("signing");
    const r = await post("/api/sign", blob, $("sign-progress"));
    setBusy(false);
    $("sign-status").textContent = "";
    if (!r.ok) {
      const sign = lastCard && lastCard.ok && lastCard.pins.find((p) => p.pin === "sign");
      const hint = r.code === 4 && sign && sign.last ? "\n" + t("tick_last") : "";
      showError("sign-error", r.error + hint);
    } else {
      for (const res of r.results) {
        const div = report($("sign-results"), res, t("signed") + ": " + res.name + " — " + t("verification"));
        if (res.saved) {
          const p = document.createElement("p");
          p.className = "saved";
          p.textContent = t("saved") + ": " + res.saved;
          div.insertBefore(p, div.children[1]);
          continue;
        }
        const a = document.createElement("a");
        a.href = "/api/download/" + res.download;
        a.download = res.name;
        a.className = "download";
        a.textContent = t("download_again") + " " + res.name;
        div.insertBefore(a, div.children[1]);
        a.click();
      }
      $("sign-status").textContent = t("signed");
      $("sign-results").scrollIntoView();
    }
    refreshCard();
  }

  // ---- verify -----------------------------------------------------------
  async function doVerify() {
    const files = [...$("verify-files").files];
    if (!files.length) return showError("verify-error", t("no_files"));
    showError("verify-error", "");
    $("verify-results").textContent = "";
    setBusy(true);
    const r = await post("/api/verify", body({}, "", files), $("verify-progress"));
    setBusy(false);
    if (!r.ok) return showError("verify-error", r.error);
    for (const res of r.results) report($("verify-results"), res, res.name);
  }

  // ---- card tools -------------------------------------------------------
  async function tool(path, options, secretField) {
    showError("tools-error", "");
    $("tools-out").textContent = "";
    const secret = secretField ? secretField.value.toUpperCase() : "";
    if (secretField) secretField.value = "";
    setBusy(true);
    const r = await post(path, body(options, secret, []), null);
    setBusy(false);
    $("tools-last").checked = false;
    if (!r.ok) showError("tools-error", r.error);
    else $("tools-out").textContent = r.text;
    refreshCard();
  }

  function setBusy(b) {
    busy = b;
    document.querySelectorAll("button").forEach((el) => { el.disabled = b; });
  }

  // ---- wiring -----------------------------------------------------------
  function dropInto(zone, input, after) {
    const over = (e) => { e.preventDefault(); zone.classList.add("over"); };
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      input.files = e.dataTransfer.files;
      if (after) after();
    });
  }

  function showTab(name) {
    for (const p of ["sign", "verify", "tools"]) {
      $("pane-" + p).hidden = p !== name;
      $("tab-" + p).classList.toggle("active", p === name);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("lang-ja").addEventListener("click", () => { lang = "ja"; applyLang(); });
    $("lang-en").addEventListener("click", () => { lang = "en"; applyLang(); });
    document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
    const chosen = () => { listFiles(); loadPreview(); };
    $("sign-files").addEventListener("change", chosen);
    dropInto($("sign-drop"), $("sign-files"), chosen);
    dropInto($("verify-drop"), $("verify-files"), null);
    $("stamp").addEventListener("change", () => { $("stamp-options").hidden = !$("stamp").checked; drawPreview(); loadPreview(); });
    $("stamp-page").addEventListener("change", loadPreview);
    $("stamp-preview").addEventListener("click", placeStamp);
    for (const id of ["stamp-pos", "stamp-x", "stamp-y"]) $(id).addEventListener("input", drawPreview);
    $("sign-go").addEventListener("click", askPrivacy);
    $("privacy-ok").addEventListener("click", () => { privacyAccepted = true; $("privacy").close(); doSign(); });
    $("privacy-cancel").addEventListener("click", () => $("privacy").close());
    $("verify-go").addEventListener("click", doVerify);
    $("cert-auth").addEventListener("click", () => tool("/api/cert", { which: "auth" }, null));
    $("cert-sign").addEventListener("click", () => tool("/api/cert", { which: "sign", allow_last_try: $("tools-last").checked }, $("cert-password")));
    $("basic4").addEventListener("click", () => tool("/api/basic4", { allow_last_try: $("tools-last").checked }, $("text-pin")));
    $("tools-clear").addEventListener("click", () => { $("tools-out").textContent = ""; showError("tools-error", ""); });
    // Leaving the page tells the server; it stops unless the page comes back soon.
    window.addEventListener("pagehide", () => navigator.sendBeacon("/api/bye"));
    applyLang();
    drawPreview();
    loadLocal();
    // The panel follows the card; this is also the server's sign of life from the page.
    setInterval(() => { if (!busy) refreshCard(); }, 3000);
  });
})();
