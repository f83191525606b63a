// Review station, one document: page viewer (zoom, pan, thumbnails, word boxes) and keyboard-first
// field review. Plain JavaScript, no dependencies, no build step.
(function () {
  "use strict";
  var root = document.getElementById("doc");
  if (!root) return;
  var csrf = root.dataset.csrf, docId = root.dataset.doc, received = root.dataset.received;
  var types = JSON.parse(root.dataset.types || "{}");
  var img = document.getElementById("page-img"), sheet = document.getElementById("sheet");
  var stage = document.getElementById("stage"), boxesEl = document.getElementById("boxes");
  var thumbs = Array.prototype.slice.call(document.querySelectorAll(".thumb"));
  var pages = thumbs.map(function (t) { return Number(t.dataset.page); });
  var current = Number(root.dataset.first), zoom = 1, shownBoxes = [];
  var inputs = Array.prototype.slice.call(document.querySelectorAll("#fields input, #fields textarea"));

  // --- page viewer ---------------------------------------------------------------------------
  function drawBoxes() {
    if (!boxesEl) return;
    boxesEl.textContent = "";
    shownBoxes.filter(function (b) { return b.page === current; }).forEach(function (b, i) {
      var d = document.createElement("div");
      d.className = "box";
      d.style.left = (b.x * 100) + "%"; d.style.top = (b.y * 100) + "%";
      d.style.width = (b.w * 100) + "%"; d.style.height = (b.h * 100) + "%";
      boxesEl.appendChild(d);
      if (i === 0 && stage) {  // bring the first box into view
        stage.scrollTop = Math.max(0, b.y * sheet.clientHeight - stage.clientHeight / 3);
        stage.scrollLeft = Math.max(0, b.x * sheet.clientWidth - stage.clientWidth / 4);
      }
    });
  }
  function showPage(p) {
    if (!img || pages.indexOf(p) < 0) return;
    if (p !== current) {
      current = p;
      img.src = "/review/doc/" + encodeURIComponent(docId) + "/page/" + p;
      img.alt = "Ảnh trang " + p;
    }
    document.getElementById("page-label").textContent = "Trang " + p + " (" + (pages.indexOf(p) + 1) + "/" + pages.length + ")";
    thumbs.forEach(function (t) { t.classList.toggle("current", Number(t.dataset.page) === p); });
    drawBoxes();
  }
  function setZoom(z) {
    if (!sheet) return;
    zoom = Math.max(0.5, Math.min(4, z));
    sheet.style.width = (zoom * 100) + "%";
    document.getElementById("zoom-label").textContent = Math.round(zoom * 100) + "%";
    drawBoxes();
  }
  thumbs.forEach(function (t) { t.addEventListener("click", function () { showPage(Number(t.dataset.page)); }); });
  [["zoom-in", 1.25], ["zoom-out", 0.8]].forEach(function (z) {
    var b = document.getElementById(z[0]);
    if (b) b.addEventListener("click", function () { setZoom(zoom * z[1]); });
  });
  var fit = document.getElementById("zoom-fit");
  if (fit) fit.addEventListener("click", function () { setZoom(1); });
  if (img) img.addEventListener("load", drawBoxes);
  if (stage) {  // pan by dragging
    var drag = null;
    stage.addEventListener("pointerdown", function (e) {
      drag = {x: e.clientX, y: e.clientY, l: stage.scrollLeft, t: stage.scrollTop};
      stage.setPointerCapture(e.pointerId); stage.classList.add("dragging");
    });
    stage.addEventListener("pointermove", function (e) {
      if (!drag) return;
      stage.scrollLeft = drag.l - (e.clientX - drag.x); stage.scrollTop = drag.t - (e.clientY - drag.y);
    });
    stage.addEventListener("pointerup", function () { drag = null; stage.classList.remove("dragging"); });
    stage.addEventListener("wheel", function (e) {
      if (!e.ctrlKey) return;
      e.preventDefault(); setZoom(zoom * (e.deltaY < 0 ? 1.1 : 0.9));
    }, {passive: false});
  }

  // --- validation as typed (the server checks again) -------------------------------------------
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function vnDate(d) { return two(d.getDate()) + "/" + two(d.getMonth() + 1) + "/" + d.getFullYear(); }
  function parseDate(v) {
    var m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v) || null, d;
    if (m) d = new Date(Number(m[3]), Number(m[2]) - 1, Number(m[1]));
    else if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v))) { d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])); m = [0, m[3], m[2], m[1]]; }
    if (!d || d.getDate() !== Number(m[1]) || d.getMonth() !== Number(m[2]) - 1) return null;
    return d;
  }
  function checkDate(v) {
    var d = parseDate(v);
    if (!d) return "Ngày không hợp lệ: nhập theo dạng ngày/tháng/năm, ví dụ 15/06/2021";
    var today = new Date(); today.setHours(0, 0, 0, 0);
    if (d > today) return "Ngày ban hành " + vnDate(d) + " ở tương lai (hôm nay là " + vnDate(today) + ")";
    if (d < new Date(1945, 8, 2)) return "Ngày ban hành " + vnDate(d) + " trước ngày 02/09/1945";
    if (received) {
      var r = parseDate(received);
      if (r && d < r) return "Ngày ban hành " + vnDate(d) + " trước ngày tiếp nhận hồ sơ (" + vnDate(r) + ")";
    }
    return "";
  }
  function checkNumber(v) {
    var s = v.replace(/[\u2013\u2014\u2212_]/g, "-").replace(/\s*([\/-])\s*/g, "$1").replace(/\s+/g, "");
    var m = /^(\d{1,6})(?:\/(\d{4}))?\/([A-Za-zĐđ][A-Za-zĐđ0-9]*(?:-[A-Za-zĐđ][A-Za-zĐđ0-9]*)*)$/.exec(s);
    var typeInput = document.getElementById("f-doc_type");
    var type = typeInput ? typeInput.value.trim() : "";
    if (!m) return "Số “" + v + "” không đúng dạng số/ký hiệu của Nghị định 30, ví dụ 123/QĐ-UBND";
    var n = Number(m[1]);
    if ((n < 10 && m[1].length !== 2) || (n >= 10 && m[1].charAt(0) === "0"))
      return "Số “" + m[1] + "” sai quy tắc đánh số: số dưới 10 ghi hai chữ số (05), từ 10 trở lên không có số 0 ở đầu";
    var abbr = types[type], parts = m[3].split("-");
    if (abbr && parts.indexOf(abbr) < 0)
      return "Ký hiệu “" + m[3] + "” không khớp loại văn bản " + type + " (cần có “" + abbr + "”)";
    return "";
  }
  function fieldOf(el) { return el.closest(".field"); }
  function say(el, text, kind) {
    var msg = fieldOf(el).querySelector(".msg");
    msg.textContent = text || "";
    fieldOf(el).classList.toggle("invalid", kind === "error" && !!text);
  }
  function validate(el) {
    var v = el.value.trim(), name = el.name, text = "";
    if (v && name === "issued_date") text = checkDate(v);
    else if (v && name === "number") text = checkNumber(v);
    say(el, text, "error");
    return !text;
  }
  inputs.forEach(function (el) {
    el.addEventListener("input", function () { validate(el); fieldOf(el).classList.remove("accepted"); });
    el.addEventListener("focus", function () {
      shownBoxes = JSON.parse(el.dataset.boxes || "[]");
      inputs.forEach(function (o) { fieldOf(o).classList.toggle("focused", o === el); });
      if (shownBoxes.length) showPage(shownBoxes[0].page); else drawBoxes();
    });
  });

  // --- saving ------------------------------------------------------------------------------------
  function save(el) {
    if (el.value.trim() === el.dataset.original.trim()) return Promise.resolve(true);
    return fetch("/review/doc/" + encodeURIComponent(docId) + "/fix", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({field: el.name, value: el.value})
    }).then(function (r) { return r.json().catch(function () { return {ok: false}; }); }).then(function (body) {
      if (!body.ok) { say(el, body.message || "Không lưu được giá trị này.", "error"); el.focus(); return false; }
      el.value = body.value; el.dataset.original = body.value;
      say(el, "Đã lưu.", "ok");
      return true;
    }, function () { say(el, "Mất kết nối tới máy chủ: chưa lưu được.", "error"); return false; });
  }
  function accept(el) {
    save(el).then(function (ok) {
      if (!ok) return;
      fieldOf(el).classList.add("accepted");
      var i = inputs.indexOf(el);
      if (i + 1 < inputs.length) inputs[i + 1].focus();
    });
  }
  function approve() {
    var chain = Promise.resolve(true);
    inputs.forEach(function (el) { chain = chain.then(function (ok) { return ok && save(el); }); });
    chain.then(function (ok) { if (ok) document.getElementById("approve-form").submit(); });
  }

  document.addEventListener("keydown", function (e) {
    var el = e.target, inField = inputs.indexOf(el) >= 0;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); approve(); return; }
    if (e.altKey && (e.key === "n" || e.key === "N")) { e.preventDefault(); window.location.href = document.getElementById("skip").href; return; }
    if (e.altKey && e.key === "ArrowRight") { e.preventDefault(); showPage(pages[Math.min(pages.length - 1, pages.indexOf(current) + 1)]); return; }
    if (e.altKey && e.key === "ArrowLeft") { e.preventDefault(); showPage(pages[Math.max(0, pages.indexOf(current) - 1)]); return; }
    if (e.altKey && (e.key === "=" || e.key === "+")) { e.preventDefault(); setZoom(zoom * 1.25); return; }
    if (e.altKey && e.key === "-") { e.preventDefault(); setZoom(zoom * 0.8); return; }
    if (e.altKey && e.key === "0") { e.preventDefault(); setZoom(1); return; }
    if (!inField) return;
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); accept(el); }
    else if (e.key === "Escape") { el.value = el.dataset.original; validate(el); }
  });

  showPage(current);
  if (inputs.length) inputs[0].focus();
})();
