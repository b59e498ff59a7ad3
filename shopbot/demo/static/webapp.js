"use strict";

// The chat page as Telegram's web view for Mini Apps: the menu button and web_app buttons
// open the app in a frame over the chat, with init data the emulator signs; the frame's
// events (Telegram's web-view protocol, by postMessage) draw the Main and Back buttons,
// open links in a new tab and pay invoice links; presses go back as events.
// Uses the chat page's globals: person, T, act's server (/api/{person}/...), showToast.

const webview = document.getElementById("webview");
const frame = document.getElementById("webview-frame");
const mainButton = document.getElementById("webview-main");
const backButton = document.getElementById("webview-back");
const menuApp = document.getElementById("menu-app");
// Telegram's light and dark themes, as a client passes them (themeParams).
const THEMES = {
  light: {
    bg_color: "#ffffff", text_color: "#000000", hint_color: "#999999", link_color: "#2481cc",
    button_color: "#2481cc", button_text_color: "#ffffff", secondary_bg_color: "#f1f1f4",
  },
  dark: {
    bg_color: "#212121", text_color: "#ffffff", hint_color: "#aaaaaa", link_color: "#8774e1",
    button_color: "#8774e1", button_text_color: "#ffffff", secondary_bg_color: "#181818",
  },
};
const darkMode = window.matchMedia("(prefers-color-scheme: dark)");
let appOrigin = null;

function theme() {
  return THEMES[darkMode.matches ? "dark" : "light"];
}

async function demoCall(path, body) {
  const response = await fetch(`/api/${person}/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || T.failed);
  return answer;
}

async function openWebApp(url, title) {
  try {
    const launch = await demoCall("webapp", { url, theme: theme() });
    appOrigin = new URL(url).origin;
    document.getElementById("webview-title").textContent = title;
    mainButton.hidden = backButton.hidden = true;
    frame.src = launch.url;
    webview.hidden = false;
  } catch (error) {
    showToast(error.message);
  }
}

function closeWebApp() {
  webview.hidden = true;
  frame.src = "about:blank";
  appOrigin = null;
}

function toApp(eventType, eventData) {
  if (appOrigin) frame.contentWindow.postMessage(JSON.stringify({ eventType, eventData }), appOrigin);
}

window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow || event.origin !== appOrigin) return;
  let message;
  try { message = JSON.parse(event.data); } catch (e) { return; }
  const data = message.eventData || {};
  switch (message.eventType) {
    case "web_app_setup_main_button":
      mainButton.hidden = !data.is_visible;
      mainButton.disabled = !data.is_active || data.is_progress_visible;
      mainButton.textContent = data.text || "";
      mainButton.style.background = data.color || "";
      mainButton.style.color = data.text_color || "";
      break;
    case "web_app_setup_back_button":
      backButton.hidden = !data.is_visible;
      break;
    case "web_app_open_link":
      if (/^https?:\/\//.test(data.url || "")) window.open(data.url, "_blank", "noopener");
      break;
    case "web_app_open_invoice":
      try {
        const paid = await demoCall("invoice", { slug: data.slug });
        toApp("invoice_closed", { slug: data.slug, status: paid.status });
      } catch (error) {
        showToast(error.message);
        toApp("invoice_closed", { slug: data.slug, status: "failed" });
      }
      break;
    case "web_app_close":
      closeWebApp();
      break;
  }
});

mainButton.addEventListener("click", () => toApp("main_button_pressed", {}));
backButton.addEventListener("click", () => toApp("back_button_pressed", {}));
document.getElementById("webview-close").addEventListener("click", closeWebApp);
darkMode.addEventListener("change", () => toApp("theme_changed", { theme_params: theme() }));

async function refreshMenuButton() {
  try {
    const menu = await demoCall("menu");
    menuApp.hidden = menu.type !== "web_app";
    if (menu.type === "web_app") {
      menuApp.textContent = menu.text;
      menuApp.onclick = () => openWebApp(menu.web_app.url, menu.text);
    }
  } catch (error) {
    menuApp.hidden = true;
  }
}

// The menu button is the chat's: look again when the page switches person.
new MutationObserver(refreshMenuButton).observe(document.getElementById("chat"), {
  attributes: true,
  attributeFilter: ["data-person"],
});
refreshMenuButton();
