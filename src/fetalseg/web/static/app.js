// fetalseg page: upload one image or clip, show the overlay and the numbers, download them.
// No framework, no external asset: works offline. Text from the server is set with
// textContent only (never parsed as HTML).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SOURCES = {
    "ultrasound regions": "from DICOM (ultrasound regions)",
    PixelSpacing: "from DICOM (PixelSpacing)",
    user: "entered",
  };
  const CSV_FIELDS = [
    "file", "frame", "status", "pixel_size_x_mm", "pixel_size_y_mm", "pixel_size_source",
    "hc_mm", "bpd_mm", "ofd_mm", "ga_weeks", "ga_standard", "hc_px", "bpd_px", "ofd_px",
    "center_x_px", "center_y_px", "semi_axis_a_px", "semi_axis_b_px", "angle_px_rad", "quality",
    "message",
  ];
  // The standard a GA is by (fetalseg.standards.ga_from_hc: INTERGROWTH-21st, else Hadlock).
  const GA_STANDARDS = { intergrowth21: "INTERGROWTH-21st", hadlock: "Hadlock 1984" };

  const DOWNLOADS = ["download-png", "download-csv", "download-json", "download-report",
    "download-dicom"];
  const VERDICTS = {
    good: "Quality: good",
    check: "Quality: check the contour before using these numbers",
    reject: "Quality: reject — do not use these numbers",
  };

  let currentFile = null;
  let result = null;
  let seq = 0;
  // The typed pixel size belongs to the file it was typed for (a new file asks again).
  let sizeFor = null;

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + kind;
  }

  function fmt(v, digits) {
    return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
  }

  function weeksDays(weeks) {
    let w = Math.floor(weeks);
    let d = Math.round((weeks - w) * 7);
    if (d === 7) { w += 1; d = 0; }
    return `${w}w ${d}d`;
  }

  function setMetric(id, value, unit, digits) {
    $(id).textContent = fmt(value, digits);
    $(id + "-unit").textContent = value === null || value === undefined ? "" : unit;
  }

  // Everything a result put on screen goes, the overlay included: after an error nothing
  // of the previous file may look like this file's answer.
  function clearResults() {
    for (const id of ["hc", "bpd", "ofd", "ga"]) setMetric(id, null, "", 0);
    for (const id of ["hc", "bpd", "ofd"]) showCentile(id, null);
    $("ga-wd").textContent = "";
    $("ga-by").textContent = "estimated from HC";
    $("known-ga").textContent = "";
    $("message").textContent = "";
    $("timing").textContent = "";
    $("frame-label").textContent = "";
    $("clip-summary").hidden = true;
    $("overlay").hidden = true;
    $("overlay").removeAttribute("src");
    $("placeholder").hidden = false;
    for (const id of DOWNLOADS) $(id).disabled = true;
    const src = $("pixel-size-source");
    src.textContent = "Pixel size: —";
    src.className = "source none";
    src.dataset.source = "";
    showVerdict(null, []);
  }

  // The verdict box ``id`` (and its -word / -reason children); ``prefix`` names whose it is.
  function showVerdict(verdict, reasons, id = "verdict", prefix = "") {
    const el = $(id);
    el.className = "verdict " + (verdict || "none");
    el.dataset.verdict = verdict || "";
    $(id + "-word").textContent =
      prefix + (verdict ? VERDICTS[verdict] || verdict : "Quality: —");
    $(id + "-reason").textContent = (reasons || []).map((r) => r.message).join(" ");
  }

  function showCentile(id, c) {
    const el = $(id + "-centile");
    const img = $(id + "-growth");
    el.className = "centile";
    if (!c) {
      el.textContent = "";
      img.hidden = true;
      img.removeAttribute("src");
      return;
    }
    if (c.centile_text !== null) {
      el.textContent = `centile ${c.centile_text} · z ${c.z >= 0 ? "+" : ""}${c.z.toFixed(2)}`;
      if (c.centile < 3 || c.centile > 97) el.className = "centile outside";
    } else {
      el.textContent = c.message;
      el.className = "centile na";
    }
    el.title = c.convention_note;
    if (c.chart_svg) { img.src = c.chart_svg; img.hidden = false; } else img.hidden = true;
  }

  function renderClinical(r, m) {
    const c = r.clinical;
    for (const id of ["hc", "bpd", "ofd"]) showCentile(id, c && c.centiles[id]);
    $("known-ga").textContent = c && c.known_ga
      ? `Known GA ${c.known_ga.text} (${c.known_ga.how}); centiles by ${c.standard_title}.`
      : (c && m.hc_mm !== null ? "Enter the known GA for centiles." : "");
    const g = c && c.ga_estimate;
    if (g) {
      $("ga-by").textContent = `estimated from HC (${GA_STANDARDS[g.standard] || g.standard})`;
      setMetric("ga", g.weeks, "weeks", 1);
      $("ga-wd").textContent = g.weeks === null ? g.message
        : `(${g.text}${g.plus_minus_days ? ` ± ${g.plus_minus_days.toFixed(0)} days` : ""})`;
    }
  }

  function showSource(r) {
    const src = $("pixel-size-source");
    const p = r.pixel_size_mm;
    if (!p) {
      src.textContent = "Pixel size unknown: values in px only. Enter it to get mm and GA.";
      src.className = "source unknown";
      src.dataset.source = "unknown";
      return;
    }
    const size = Math.abs(p.x - p.y) < 1e-9 ? `${p.x.toPrecision(4)} mm`
      : `${p.x.toPrecision(4)} × ${p.y.toPrecision(4)} mm (x × y)`;
    src.textContent = `Pixel size ${size}, ${SOURCES[r.pixel_size_source] || r.pixel_size_source}`;
    src.className = "source known";
    src.dataset.source = r.pixel_size_source;
  }

  function render(r) {
    clearResults();
    result = r;
    $("overlay").src = "data:image/png;base64," + r.overlay_png;
    $("overlay").hidden = false;
    $("placeholder").hidden = true;
    showSource(r);
    const clip = r.kind === "clip";
    const m = clip ? r.summary : r.measurement;
    if (r.pixel_size_mm) {
      setMetric("hc", m.hc_mm, "mm", 1);
      setMetric("bpd", m.bpd_mm, "mm", 1);
      setMetric("ofd", m.ofd_mm, "mm", 1);
      setMetric("ga", m.ga_weeks, "weeks", 1);
      $("ga-wd").textContent = m.ga_weeks === null ? "" : `(${weeksDays(m.ga_weeks)})`;
      if (m.ga_standard) {
        $("ga-by").textContent =
          `estimated from HC (${GA_STANDARDS[m.ga_standard] || m.ga_standard})`;
      }
    } else {
      setMetric("hc", m.hc_px, "px", 0);
      setMetric("bpd", m.bpd_px, "px", 0);
      setMetric("ofd", m.ofd_px, "px", 0);
      setMetric("ga", null, "", 1);
      $("ga-wd").textContent = m.hc_px === null ? "" : "needs the pixel size";
    }
    // The numbers are shown above: the message matters only when something is not ok.
    const msg = m.status === "ok" ? "" : m.message;
    $("message").textContent = msg + (r.note ? (msg ? " " : "") + "Note: " + r.note + "." : "");
    $("frame-label").textContent = clip
      ? `shown: frame ${r.overlay_frame + 1} of ${r.n_frames} (HC closest to the median)` : "";
    if (clip) renderClip(r); else $("clip-summary").hidden = true;
    const t = r.timing_ms;
    $("timing").textContent =
      `${r.width}×${r.height} ${r.format}${clip ? `, ${r.n_frames} frames` : ""} · ` +
      `${t.total_ms.toFixed(0)} ms on the server (model ${t.model_ms.toFixed(0)} ms, ` +
      `${r.backend})`;
    for (const id of DOWNLOADS) $(id).disabled = false;
    const found = m.hc_px !== null;
    setStatus(found ? (clip ? "Clip measured." : "Measured.") : "No head found.",
      found ? "ok" : "warn");
    // The numbers shown are the clip's medians for a clip: its verdict is the clip's.
    const judged = clip ? r.summary : r.measurement;
    showVerdict(judged.quality, judged.quality_reasons, "verdict", clip ? "Clip · " : "");
    if (r.pixel_size_mm) renderClinical(r, m);
  }

  function renderClip(r) {
    const s = r.summary;
    const unit = s.spread_unit;
    const digits = unit === "mm" ? 1 : 0;
    $("clip-summary").hidden = false;
    const cv = $("clip-verdict");
    cv.className = "verdict " + (s.quality || "none");
    cv.dataset.verdict = s.quality || "";
    $("clip-verdict-word").textContent = `Clip verdict: ${s.quality || "—"}`;
    $("clip-verdict-reason").textContent =
      `${s.good_frames} good of ${s.frames_with_head} frames with a head (${s.n_frames} in all); ` +
      `the median is of ${s.frames_used} ${s.good_frames ? "good" : "to-check"} frames.`;
    const disagree = (s.quality_reasons || []).find((q) => q.code === "frames_disagree");
    $("clip-disagree").hidden = !s.frames_disagree;
    $("clip-disagree").textContent = s.frames_disagree
      ? `Warning: ${disagree ? disagree.message : "the frames' HC disagree."} ` +
        "Do not use the median before checking the frames." : "";
    $("clip-text").textContent = s.frames_used === 0 ? s.message
      : "Spread of HC over those frames: " +
        `IQR ${fmt(s.hc_iqr, digits)} ${unit}, range ${fmt(s.hc_min, digits)}–` +
        `${fmt(s.hc_max, digits)} ${unit}, SD ${fmt(s.hc_sd, digits)} ${unit}.`;
    const best = r.frames.find((f) => f.frame === s.best_frame);
    $("clip-best").dataset.frame = best ? String(best.frame) : "";
    $("clip-best").textContent = best
      ? `Best frame of the sweep: frame ${best.frame + 1} (the cleanest fit among the frames ` +
        `near the median HC): HC ${fmt(best["hc_" + unit], digits)} ${unit}, ` +
        `quality ${best.quality}.`
      : "No best frame: no frame passed the quality check.";
    const tbody = $("frames-table").querySelector("tbody");
    tbody.replaceChildren();
    for (const f of r.frames) {
      const tr = document.createElement("tr");
      if (f.frame === r.overlay_frame) tr.classList.add("key");
      if (f.frame === s.best_frame) tr.classList.add("best");
      const cells = [String(f.frame + 1) + (f.frame === s.best_frame ? " ★" : ""),
        fmt(f["hc_" + unit], digits), fmt(f["bpd_" + unit], digits),
        fmt(f["ofd_" + unit], digits),
        (f.quality || "—") + (f.status === "ok" ? "" : ` (${f.status.replace("_", " ")})`)];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    drawChart(r.frames.map((f) => f["hc_" + unit]), s["hc_" + unit]);
  }

  function drawChart(values, median) {
    const svg = $("hc-chart");
    svg.replaceChildren();
    const ns = "http://www.w3.org/2000/svg";
    const ok = values.filter((v) => v !== null);
    if (ok.length === 0) return;
    let lo = Math.min(...ok), hi = Math.max(...ok);
    if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.15;
    lo -= pad; hi += pad;
    const W = 300, H = 90;
    const x = (i) => values.length === 1 ? W / 2 : 6 + (i * (W - 12)) / (values.length - 1);
    const y = (v) => H - 6 - ((v - lo) / (hi - lo)) * (H - 12);
    if (median !== null) {
      const line = document.createElementNS(ns, "line");
      line.setAttribute("x1", 0); line.setAttribute("x2", W);
      line.setAttribute("y1", y(median)); line.setAttribute("y2", y(median));
      line.setAttribute("class", "median");
      svg.appendChild(line);
    }
    let d = "";
    values.forEach((v, i) => {
      if (v === null) return;
      d += (d ? " L " : "M ") + x(i).toFixed(1) + " " + y(v).toFixed(1);
      const c = document.createElementNS(ns, "circle");
      c.setAttribute("cx", x(i)); c.setAttribute("cy", y(v)); c.setAttribute("r", 2.2);
      svg.appendChild(c);
    });
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.insertBefore(path, svg.firstChild);
  }

  async function measure() {
    if (!currentFile) return;
    const mine = ++seq;
    const form = requestForm();
    setStatus("Measuring…", "busy");
    $("measure-btn").disabled = true;
    let r, body;
    try {
      r = await fetch("/api/measure", { method: "POST", body: form });
      body = await r.json().catch(() => ({ error: `server answered ${r.status}` }));
    } catch (e) {
      if (mine === seq) {
        clearResults();
        result = null;
        setStatus("Cannot reach the server: " + e.message, "error");
      }
      return;
    } finally {
      if (mine === seq) $("measure-btn").disabled = false;
    }
    if (mine !== seq) return; // a newer request was made meanwhile
    if (!r.ok) {
      clearResults();
      result = null;
      setStatus(body.error || `error ${r.status}`, "error");
      return;
    }
    render(body);
  }

  // The form of every request: the file, its pixel size, the GA and the standard.
  function requestForm() {
    const form = new FormData();
    form.append("file", currentFile, currentFile.name);
    const fields = {
      pixel_size_mm: $("pixel-size").value.trim(),
      ga: $("ga-input").value.trim(),
      lmp: $("lmp").value,
      exam_date: $("lmp").value ? $("exam-date").value : "",
      standard: $("standard").value,
    };
    for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
    return form;
  }

  // A pixel size typed for one file is not silently used for the next one.
  function tieSizeToFile(file) {
    const typed = $("pixel-size").value.trim();
    const note = $("pixel-size-carry");
    if (typed && sizeFor !== null && sizeFor !== file.name) {
      $("pixel-size").value = "";
      note.textContent = `The pixel size ${typed} mm typed for ${sizeFor} was cleared: ` +
        `enter the one of ${file.name} (DICOM files carry their own).`;
      note.hidden = false;
    } else {
      note.hidden = true;
    }
    sizeFor = file.name;
  }

  async function downloadFrom(url, fallbackName) {
    if (!currentFile) return;
    setStatus("Preparing the download…", "busy");
    let r;
    try {
      r = await fetch(url, { method: "POST", body: requestForm() });
    } catch (e) {
      setStatus("Cannot reach the server: " + e.message, "error");
      return;
    }
    if (!r.ok) {
      const body = await r.json().catch(() => ({ error: `server answered ${r.status}` }));
      setStatus(body.error || `error ${r.status}`, "error");
      return;
    }
    const m = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") || "");
    download(await r.blob(), m ? m[1] : fallbackName);
    setStatus("Downloaded.", "ok");
  }

  function setFile(file) {
    if (!file) return;
    tieSizeToFile(file);
    currentFile = file;
    const kb = file.size / 1024;
    $("file-name").textContent =
      `${file.name} · ${kb < 1024 ? kb.toFixed(0) + " KB" : (kb / 1024).toFixed(1) + " MB"}`;
    $("measure-btn").disabled = false;
    measure();
  }

  function stem() {
    const name = result ? result.file : "image";
    return name.replace(/\.[^.]*$/, "") || "image";
  }

  function download(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  function csvCell(v) {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function csvText(r) {
    const p = r.pixel_size_mm;
    const base = {
      file: r.file,
      pixel_size_x_mm: p ? p.x : null,
      pixel_size_y_mm: p ? p.y : null,
      pixel_size_source: r.pixel_size_source,
    };
    const rows = r.frames.map((f) => ({ ...base, ...f }));
    if (r.kind === "clip") rows.push({ ...base, ...r.summary, frame: "median" });
    const lines = [CSV_FIELDS.join(",")];
    for (const row of rows) lines.push(CSV_FIELDS.map((k) => csvCell(row[k])).join(","));
    return lines.join("\r\n") + "\r\n";
  }

  function init() {
    const drop = $("drop-zone");
    $("file-input").addEventListener("change", (e) => setFile(e.target.files[0]));
    drop.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file-input").click(); }
    });
    for (const ev of ["dragenter", "dragover"]) {
      drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
    }
    for (const ev of ["dragleave", "drop"]) {
      drop.addEventListener(ev, () => drop.classList.remove("over"));
    }
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]);
    });
    // A file dropped anywhere else must not make the browser navigate away from the page.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
    $("measure-btn").addEventListener("click", measure);
    $("pixel-size").addEventListener("keydown", (e) => { if (e.key === "Enter") measure(); });
    $("pixel-size").addEventListener("change", () => {
      $("pixel-size-carry").hidden = true;
      if (currentFile) sizeFor = currentFile.name;
      if (currentFile) measure();
    });
    $("pixel-size").addEventListener("input", () => {
      if (currentFile) sizeFor = currentFile.name;
    });
    for (const id of ["ga-input", "lmp", "exam-date", "standard"]) {
      $(id).addEventListener("change", () => { if (currentFile) measure(); });
    }
    $("ga-input").addEventListener("keydown", (e) => { if (e.key === "Enter") measure(); });
    $("download-report").addEventListener("click",
      () => downloadFrom("/api/report", stem() + "_report.html"));
    $("download-dicom").addEventListener("click",
      () => downloadFrom("/api/dicom", stem() + "_dicom.zip"));

    $("download-png").addEventListener("click", () => {
      if (!result) return;
      const bin = atob(result.overlay_png);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      download(new Blob([bytes], { type: "image/png" }), stem() + "_overlay.png");
    });
    $("download-csv").addEventListener("click", () => {
      if (result) download(new Blob([csvText(result)], { type: "text/csv" }), stem() + ".csv");
    });
    $("download-json").addEventListener("click", () => {
      if (!result) return;
      const { overlay_png: _omit, ...rest } = result;
      download(new Blob([JSON.stringify(rest, null, 2) + "\n"], { type: "application/json" }),
        stem() + ".json");
    });

    fetch("/api/info").then((r) => r.json()).then((info) => {
      const m = info.model || {};
      $("model-info").textContent =
        `model ${m.name || "?"} (${m.source || "?"}) · ${info.backend} · v${info.version}`;
    }).catch(() => { $("model-info").textContent = "model info unavailable"; });
  }

  init();
})();
