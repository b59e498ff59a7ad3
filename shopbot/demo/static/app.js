"use strict";

// The shopbot demo chat: draws one person's chat from the server's event stream and turns
// clicks and typing into that person's actions. Bot HTML arrives sanitised by the server.
// "staff" is the staff group with topics: the page shows one topic at a time, chosen above
// the chat, and the admin writes into it.

const chat = document.getElementById("chat");
const keyboard = document.getElementById("keyboard");
const statusLine = document.getElementById("status");
const composer = document.getElementById("composer");
const textInput = document.getElementById("text");
const fileInput = document.getElementById("file");
const uploadBar = document.getElementById("upload");
const toast = document.getElementById("toast");
const alertBox = document.getElementById("alert");
const topicsBar = document.getElementById("topics");
// The page's words in the demo's language, filled in by the server.
const T = JSON.parse(document.getElementById("texts").textContent);

const PEOPLE = ["shopper", "admin", "staff"];
let person = PEOPLE.includes(location.hash.slice(1)) ? location.hash.slice(1) : "shopper";
let events = null;
let toastTimer = 0;
let topics = []; // the staff group's topics: {id, name, closed}
let topic = null; // the topic shown in the staff group

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ------------------------------------------------------------------ actions

async function act(action, body) {
  const init = { method: "POST" };
  if (body instanceof FormData) {
    init.body = body;
  } else {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  try {
    const response = await fetch(`/api/${person}/${action}`, init);
    if (!response.ok) {
      const answer = await response.json().catch(() => ({ error: response.statusText }));
      showToast(answer.error || T.failed);
    }
  } catch (error) {
    showToast(T.unreachable);
  }
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value;
  if (!text.trim()) return;
  if (person === "staff" && topic === null) {
    showToast(T.no_topics);
    return;
  }
  textInput.value = "";
  act("text", person === "staff" ? { text, thread: topic } : { text });
});

fileInput.addEventListener("change", () => {
  const file = fileInput.files[0];
  if (!file) return;
  document.getElementById("upload-name").textContent = file.name;
  uploadBar.hidden = false;
});

document.getElementById("upload-send").addEventListener("click", () => {
  const file = fileInput.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("caption", document.getElementById("caption").value);
  closeUpload();
  act("document", form);
});

document.getElementById("upload-cancel").addEventListener("click", closeUpload);

function closeUpload() {
  uploadBar.hidden = true;
  fileInput.value = "";
}

// ---------------------------------------------------------------- rendering

function renderMessage(message) {
  const row = el("div", `msg ${message.outgoing ? "out" : "in"}`);
  row.dataset.id = message.id;
  if (message.thread !== undefined) row.dataset.thread = message.thread;
  const bubble = el("div", "bubble");
  if (message.photo) {
    const img = el("img", "photo");
    img.src = message.photo.url;
    img.alt = "";
    img.width = message.photo.width;
    img.height = message.photo.height;
    img.loading = "lazy";
    bubble.append(img);
  }
  if (message.document) {
    const link = el("a", "document");
    link.href = message.document.url;
    link.download = message.document.name;
    link.append(el("span", "doc-icon", "📄"), el("span", "doc-name", message.document.name));
    link.append(el("span", "doc-size", formatSize(message.document.size)));
    bubble.append(link);
  }
  if (message.contact) {
    const card = el("div", "contact");
    card.append(el("span", "doc-icon", "👤"));
    card.append(el("span", "", `${message.contact.name} ${message.contact.phone}`.trim()));
    bubble.append(card);
  }
  if (message.html) {
    const text = el("div", "text");
    text.innerHTML = message.html; // sanitised server-side: Telegram's tags only
    bubble.append(text);
  }
  if (message.edited) bubble.append(el("span", "edited", T.edited));
  row.append(bubble);
  if (message.buttons.length) row.append(renderInline(message));
  return row;
}

function renderInline(message) {
  const box = el("div", "inline");
  for (const buttons of message.buttons) {
    const line = el("div", "inline-row");
    for (const button of buttons) {
      let node;
      if (button.web_app) {
        node = el("button", "inline-button web-app", button.text);
        node.type = "button";
        node.addEventListener("click", () => openWebApp(button.web_app, button.text));
      } else if (button.url) {
        node = el("a", "inline-button url", button.text);
        node.href = button.url;
        node.target = "_blank";
        node.rel = "noopener";
      } else {
        node = el("button", "inline-button", button.text);
        node.type = "button";
        if (button.data === undefined) {
          node.disabled = true;
        } else {
          node.addEventListener("click", () => {
            node.classList.add("pressed");
            act("press", { message_id: message.id, data: button.data });
          });
        }
      }
      line.append(node);
    }
    box.append(line);
  }
  return box;
}

function renderKeyboard(rows) {
  keyboard.replaceChildren();
  for (const buttons of rows) {
    const line = el("div", "keyboard-row");
    for (const button of buttons) {
      const node = el("button", button.contact ? "key contact" : "key", button.text);
      node.type = "button";
      node.addEventListener("click", () => act("keyboard", { text: button.text }));
      line.append(node);
    }
    keyboard.append(line);
  }
}

function formatSize(bytes) {
  const number = (n) => n.toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 });
  if (bytes < 1024) return T.bytes.replace("{n}", number(bytes));
  if (bytes < 1024 * 1024) return T.kilobytes.replace("{n}", number(bytes / 1024));
  return T.megabytes.replace("{n}", number(bytes / 1024 / 1024));
}

function messageNode(id) {
  return chat.querySelector(`.msg[data-id="${id}"]`);
}

function nearBottom() {
  return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 120;
}

function scrollDown() {
  chat.scrollTop = chat.scrollHeight;
}

// ------------------------------------------------------------------- topics

function setTopics(list) {
  const known = new Set(topics.map((item) => item.id));
  const added = list.filter((item) => !known.has(item.id));
  topics = list;
  if (added.length) topic = added[added.length - 1].id; // a new conversation: show it
  if (!topics.some((item) => item.id === topic)) {
    topic = topics.length ? topics[topics.length - 1].id : null;
  }
  renderTopics();
}

function renderTopics() {
  topicsBar.hidden = person !== "staff";
  if (person !== "staff") return;
  topicsBar.replaceChildren(...topics.map((item) => {
    const node = el("button", "topic", item.name);
    node.type = "button";
    node.dataset.thread = item.id;
    node.setAttribute("aria-pressed", String(item.id === topic));
    if (item.closed) node.append(el("span", "topic-closed", T.topic_closed));
    node.addEventListener("click", () => {
      topic = item.id;
      renderTopics();
      scrollDown();
    });
    return node;
  }));
  for (const row of chat.querySelectorAll(".msg")) showIfInTopic(row);
  let hint = chat.querySelector(".hint");
  if (!topics.length && !hint) {
    hint = el("div", "hint", T.no_topics);
    chat.append(hint);
  } else if (topics.length && hint) {
    hint.remove();
  }
}

function showIfInTopic(row) {
  if (person === "staff") row.hidden = row.dataset.thread !== String(topic);
}

function upsert(message) {
  const node = renderMessage(message);
  showIfInTopic(node);
  const existing = messageNode(message.id);
  if (existing) {
    existing.replaceWith(node);
  } else {
    chat.append(node);
    scrollDown();
  }
  const img = node.querySelector("img.photo");
  if (img && !existing) img.addEventListener("load", scrollDown, { once: true });
}

// ------------------------------------------------------------------- alerts

function showToast(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 3000);
}

function showAlert(text) {
  document.getElementById("alert-text").textContent = text;
  alertBox.hidden = false;
  document.getElementById("alert-ok").focus();
}

document.getElementById("alert-ok").addEventListener("click", () => { alertBox.hidden = true; });

// ------------------------------------------------------------------- events

function handle(event) {
  switch (event.type) {
    case "reset":
      chat.dataset.person = person;
      chat.replaceChildren(...event.messages.map(renderMessage));
      topics = [];
      topic = null;
      setTopics(event.topics || []);
      renderKeyboard(event.keyboard);
      scrollDown();
      break;
    case "topics":
      setTopics(event.topics);
      scrollDown();
      break;
    case "message":
    case "edit": {
      const follow = nearBottom();
      upsert(event.message);
      renderKeyboard(event.keyboard);
      if (follow) scrollDown();
      break;
    }
    case "delete": {
      const node = messageNode(event.message.id);
      if (node) node.remove();
      renderKeyboard(event.keyboard);
      break;
    }
    case "callback_answer":
      for (const node of chat.querySelectorAll(".inline-button.pressed")) {
        node.classList.remove("pressed");
      }
      if (event.answer.text) {
        if (event.answer.show_alert) showAlert(event.answer.text);
        else showToast(event.answer.text);
      }
      break;
  }
}

function connect() {
  if (events) events.close();
  delete chat.dataset.person;
  toast.hidden = true;
  alertBox.hidden = true;
  closeUpload();
  document.body.dataset.person = person;
  topicsBar.hidden = true;
  for (const button of document.querySelectorAll(".switch button")) {
    button.setAttribute("aria-checked", String(button.dataset.person === person));
  }
  statusLine.textContent = T.connecting;
  events = new EventSource(`/events?as=${person}`);
  events.onopen = () => { statusLine.textContent = T.online; };
  events.onerror = () => { statusLine.textContent = T.reconnecting; };
  events.onmessage = (message) => handle(JSON.parse(message.data));
}

for (const button of document.querySelectorAll(".switch button")) {
  button.addEventListener("click", () => {
    if (button.dataset.person === person) return;
    person = button.dataset.person;
    history.replaceState(null, "", person === "shopper" ? location.pathname : `#${person}`);
    connect();
  });
}

connect();
