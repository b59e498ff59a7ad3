// The part of Telegram's Mini App API (window.Telegram.WebApp) this storefront uses, spoken
// over Telegram's documented web-view protocol (core.telegram.org/api/web-events), so the
// page needs nothing from telegram.org: init data and theme come in the URL fragment
// (tgWebAppData, tgWebAppThemeParams); the page posts events (web_app_setup_main_button,
// web_app_open_invoice...) to the client — TelegramWebviewProxy on phones, postMessage to
// the parent frame on the web (the demo's chat page is such a parent) — and hears back
// main_button_pressed, back_button_pressed, invoice_closed and theme_changed. Opened with
// no Telegram around it (a plain browser tab), it draws the two buttons itself.
(function () {
  "use strict";
  const fragment = new URLSearchParams(location.hash.slice(1));
  const initData = fragment.get("tgWebAppData") || "";
  const unsafe = {};
  new URLSearchParams(initData).forEach((value, key) => {
    try { unsafe[key] = /^[[{]/.test(value) ? JSON.parse(value) : value; } catch (e) { unsafe[key] = value; }
  });
  const proxy = window.TelegramWebviewProxy;
  const framed = window.parent !== window;
  const standalone = !proxy && !framed;
  const handlers = {};
  const invoices = {}; // slug -> the openInvoice callback

  function postEvent(eventType, eventData) {
    if (proxy) proxy.postEvent(eventType, JSON.stringify(eventData || {}));
    else if (framed) window.parent.postMessage(JSON.stringify({ eventType, eventData: eventData || {} }), "*");
  }
  function emit(eventType, eventData) {
    (handlers[eventType] || []).slice().forEach((handler) => handler(eventData || {}));
  }
  function receive(eventType, eventData) {
    if (eventType === "theme_changed" && eventData && eventData.theme_params) applyTheme(eventData.theme_params);
    if (eventType === "main_button_pressed") emit("mainButtonClicked");
    else if (eventType === "back_button_pressed") emit("backButtonClicked");
    else if (eventType === "invoice_closed") {
      const callback = invoices[eventData.slug];
      delete invoices[eventData.slug];
      if (callback) callback(eventData.status);
      emit("invoiceClosed", { url: "https://t.me/$" + eventData.slug, status: eventData.status });
    }
  }
  window.Telegram = window.Telegram || {};
  window.Telegram.WebView = { receiveEvent: receive };
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || typeof event.data !== "string") return;
    try {
      const message = JSON.parse(event.data);
      if (message && message.eventType) receive(message.eventType, message.eventData);
    } catch (e) { /* not a Telegram event */ }
  });

  const webApp = {
    initData,
    initDataUnsafe: unsafe,
    platform: fragment.get("tgWebAppPlatform") || "unknown",
    version: fragment.get("tgWebAppVersion") || "6.0",
    themeParams: {},
    colorScheme: "light",
    onEvent(type, handler) { (handlers[type] = handlers[type] || []).push(handler); },
    offEvent(type, handler) { handlers[type] = (handlers[type] || []).filter((h) => h !== handler); },
    ready() { postEvent("web_app_ready"); },
    expand() { postEvent("web_app_expand"); },
    close() { postEvent("web_app_close"); },
    openLink(url) {
      if (framed || proxy) postEvent("web_app_open_link", { url });
      else window.open(url, "_blank", "noopener");
    },
    openInvoice(url, callback) {
      const slug = url.replace(/^https:\/\/t\.me\/\$/, "").replace(/^https:\/\/t\.me\/invoice\//, "");
      invoices[slug] = callback;
      postEvent("web_app_open_invoice", { slug });
    },
  };

  function applyTheme(theme) {
    webApp.themeParams = theme;
    const root = document.documentElement.style;
    Object.keys(theme).forEach((key) => root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]));
    const bg = (theme.bg_color || "#ffffff").replace("#", "");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(bg.substr(i, 2), 16) || 0);
    webApp.colorScheme = 0.299 * r + 0.587 * g + 0.114 * b < 128 ? "dark" : "light";
    document.documentElement.dataset.scheme = webApp.colorScheme;
    emit("themeChanged");
  }
  try { applyTheme(JSON.parse(fragment.get("tgWebAppThemeParams") || "{}")); } catch (e) { applyTheme({}); }

  // A button the client draws; standalone, the page draws it (see the fallback below).
  function button(kind) {
    const state = { text: "", isVisible: false, isActive: true, isProgressVisible: false };
    const event = kind === "main" ? "mainButtonClicked" : "backButtonClicked";
    const api = {
      get text() { return state.text; },
      get isVisible() { return state.isVisible; },
      get isActive() { return state.isActive; },
      setText(text) { state.text = String(text); return sync(); },
      show() { state.isVisible = true; return sync(); },
      hide() { state.isVisible = false; return sync(); },
      enable() { state.isActive = true; return sync(); },
      disable() { state.isActive = false; return sync(); },
      showProgress() { state.isProgressVisible = true; return sync(); },
      hideProgress() { state.isProgressVisible = false; return sync(); },
      onClick(handler) { webApp.onEvent(event, handler); return api; },
      offClick(handler) { webApp.offEvent(event, handler); return api; },
    };
    function sync() {
      if (kind === "main") {
        postEvent("web_app_setup_main_button", {
          is_visible: state.isVisible && Boolean(state.text),
          is_active: state.isActive,
          is_progress_visible: state.isProgressVisible,
          text: state.text,
          color: webApp.themeParams.button_color || "#2481cc",
          text_color: webApp.themeParams.button_text_color || "#ffffff",
        });
      } else {
        postEvent("web_app_setup_back_button", { is_visible: state.isVisible });
      }
      if (standalone) drawFallback(kind, state);
      return api;
    }
    return api;
  }

  function drawFallback(kind, state) {
    const id = "tg-fallback-" + kind;
    let node = document.getElementById(id);
    if (!node) {
      node = document.createElement("button");
      node.id = id;
      node.type = "button";
      node.className = "tg-fallback tg-fallback-" + kind;
      node.addEventListener("click", () => receive(kind === "main" ? "main_button_pressed" : "back_button_pressed"));
      document.body.appendChild(node);
    }
    node.hidden = !state.isVisible || (kind === "main" && !state.text);
    node.disabled = !state.isActive || state.isProgressVisible;
    node.textContent = kind === "main" ? state.text : "←";
  }

  webApp.MainButton = button("main");
  webApp.BackButton = button("back");
  window.Telegram.WebApp = webApp;
})();
