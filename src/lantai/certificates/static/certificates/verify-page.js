/*
 * 证明核验 page glue: runs LantaiVerifier (verifier.js) on the QR text typed, scanned (a USB
 * scanner types the text and Enter), pasted, given in the URL's #fragment or read from a photo
 * (where the browser has BarcodeDetector), against the signed lists embedded in the page.
 * It makes no request: the page keeps working when the server is gone after loading.
 */
(function () {
  "use strict";

  const PREFIX = "LTC1:";

  function embedded(id, fallback) {
    const node = document.getElementById(id);
    if (!node) return fallback;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return fallback;
    }
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function start() {
    const form = document.getElementById("offline-form");
    const field = document.getElementById("payload");
    const result = document.getElementById("result");
    if (!form || !field || !result || !window.LantaiVerifier) return;

    const trustList = embedded("verify-trust-list", null);
    const statusLists = embedded("verify-status-lists", []);
    const roots = embedded("verify-roots", []);
    const labels = embedded("verify-labels", {});
    const terms = embedded("verify-terms", {});
    const english = form.dataset.lang === "en";
    const timeZone = form.dataset.timeZone || undefined;

    function label(key) {
      return labels[key] || key;
    }

    function formatTime(iso) {
      if (!iso) return "";
      try {
        const parts = new Intl.DateTimeFormat("en-CA", {
          timeZone, year: "numeric", month: "2-digit", day: "2-digit",
          hour: "2-digit", minute: "2-digit", hourCycle: "h23",
        }).formatToParts(new Date(iso));
        const part = (type) => (parts.find((p) => p.type === type) || {}).value || "";
        return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}`;
      } catch (error) {
        return iso;
      }
    }

    function formatAge(seconds) {
      if (seconds === null || seconds === undefined || seconds < 0) return "";
      const minutes = Math.floor(seconds / 60);
      if (minutes < 1) return label("just_now");
      if (minutes < 120) return label("minutes_ago").replace("{n}", minutes);
      const hours = Math.floor(minutes / 60);
      if (hours < 48) return label("hours_ago").replace("{n}", hours);
      return label("days_ago").replace("{n}", Math.floor(hours / 24));
    }

    function show(verdict) {
      result.replaceChildren();
      result.hidden = false;
      result.dataset.source = "offline";
      result.dataset.valid = String(Boolean(verdict.valid));
      result.dataset.reason = verdict.reason;
      result.append(element("h2", {
        class: `status-badge ${verdict.valid ? "status-provided" : "status-refused"}`,
      }, label(verdict.valid ? "valid" : "invalid")));
      const message = element("p", { class: "verify-message" });
      message.append(...bilingual(verdict.message_zh, verdict.message_en));
      result.append(message);
      const fields = element("dl", { class: "fields" });
      const rows = [
        ["reason", verdict.reason],
        ["number", verdict.number],
        ["issuer", verdict.issuer],
        ["issued", formatTime(verdict.issued)],
        ["expires", formatTime(verdict.expires)],
        ["status_age", formatAge(verdict.status_list_age_s)],
      ];
      for (const [key, value] of rows) {
        if (value === null || value === undefined || value === "") continue;
        const dd = element("dd", { "data-field": key }, value);
        if (key === "reason") dd.classList.add("code");
        fields.append(row(key, dd));
      }
      // what the QR code signs besides number and dates: the paper must say the same
      const signed = Boolean(verdict.kind);
      if (signed) {
        fields.append(row("kind", element("dd", { "data-field": "kind" }), term(verdict.kind)));
      }
      if (Array.isArray(verdict.names) && verdict.names.length) {
        fields.append(row("names", element("dd", { "data-field": "names" }, verdict.names.join("、"))));
      }
      if (Array.isArray(verdict.events) && verdict.events.length) {
        const list = element("ul", { class: "verify-events" });
        for (const event of verdict.events) {
          const item = element("li");
          item.append(...term(event.kind), " ", element("span", { class: "code" }, event.date));
          list.append(item);
        }
        const dd = element("dd", { "data-field": "events" });
        dd.append(list);
        fields.append(row("events", dd));
      }
      result.append(fields);
      if (signed) result.append(element("p", { class: "help", "data-field": "compare" }, label("compare")));
    }

    // Chinese and English side by side, the page's language first and the other muted
    function bilingual(zhText, enText) {
      const zh = element("span", { lang: "zh-Hans" }, zhText);
      const en = element("span", { lang: "en", class: "muted" }, enText);
      if (!english) return [zh, " ", en];
      en.classList.remove("muted");
      zh.classList.add("muted");
      return [en, " ", zh];
    }

    function term(code) {
      const pair = terms[code];
      return Array.isArray(pair) ? bilingual(pair[0], pair[1]) : [String(code)];
    }

    function row(key, dd, content) {
      if (content) dd.append(...content);
      const div = element("div");
      div.append(element("dt", {}, label(key)), dd);
      return div;
    }

    function notice(key) {
      result.replaceChildren(element("p", { class: "alert", role: "alert" }, label(key)));
      result.hidden = false;
      result.dataset.source = "offline";
      result.dataset.valid = "false";
      result.dataset.reason = key;
    }

    let latest = 0;
    async function check(raw) {
      const text = String(raw || "").replace(/^\s+|[\r\n]+$/g, "");
      if (!text) {
        notice("empty");
        return;
      }
      const ticket = ++latest;
      result.setAttribute("aria-busy", "true");
      const verdict = await window.LantaiVerifier.verify(
        text, trustList, statusLists, roots, Date.now(),
      );
      if (ticket !== latest) return; // a newer text was entered meanwhile
      result.removeAttribute("aria-busy");
      show(verdict);
    }

    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      check(field.value);
    });
    field.addEventListener("paste", () => {
      // the pasted text is in the field once the event has run
      setTimeout(() => check(field.value), 0);
    });

    function fromFragment() {
      const hash = window.location.hash.slice(1);
      if (!hash) return;
      let text = hash;
      try {
        text = decodeURIComponent(hash);
      } catch (error) {
        // not percent-encoded: verify as it is
      }
      if (!text.startsWith(PREFIX)) return;
      field.value = text;
      check(text);
    }
    window.addEventListener("hashchange", fromFragment);
    fromFragment();

    // the note on the embedded status lists' age, kept current while the page stays open
    const issued = document.getElementById("status-issued");
    if (issued && issued.dateTime) {
      const at = Date.parse(issued.dateTime);
      const tick = () => {
        if (!Number.isNaN(at)) issued.textContent = formatAge(Math.floor((Date.now() - at) / 1000));
      };
      tick();
      setInterval(tick, 60 * 1000);
    }

    async function offerPhotos() {
      const row = document.getElementById("photo-row");
      const photo = document.getElementById("photo");
      if (!row || !photo || !("BarcodeDetector" in window)) return;
      try {
        // the API may exist without a QR decoder (desktop Linux builds)
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (!formats.includes("qr_code")) return;
      } catch (error) {
        return;
      }
      row.hidden = false;
      photo.addEventListener("change", async () => {
        const file = photo.files && photo.files[0];
        if (!file) return;
        try {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          const bitmap = await createImageBitmap(file);
          const codes = await detector.detect(bitmap);
          const found = codes.map((c) => c.rawValue).find((t) => t.startsWith(PREFIX));
          if (!found) {
            notice("photo_none");
            return;
          }
          field.value = found;
          check(found);
        } catch (error) {
          notice("photo_error");
        }
      });
    }
    offerPhotos();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
