// The storefront: catalogue grid, search, product page, cart, checkout and the order, over
// the shop's API (api/...), every call signed with Telegram's initData. Plain DOM code, no
// build step; the words come from the server in the shopper's language (T).
"use strict";

const tg = window.Telegram.WebApp;
const view = document.getElementById("view");
const bar = document.getElementById("bar");
const crumbs = document.getElementById("crumbs");
const query = document.getElementById("query");
const toastNode = document.getElementById("toast");
let T = {};
let shop = null; // the session: contact, delivery options, provider
let cart = null; // the shopper's cart as the server last said
const stack = []; // the screens opened, the current one last
let mainAction = null;
let pollTimer = null;
let shown = null; // the screen drawn last

// ------------------------------------------------------------------ helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? values[key] : match));
}

function picture(url, alt) {
  if (!url) return el("div", "pic none", "🛍");
  const img = el("img", "pic");
  img.src = url;
  img.alt = alt;
  img.loading = "lazy";
  img.decoding = "async";
  return img;
}

function toast(text) {
  toastNode.textContent = text;
  toastNode.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { toastNode.hidden = true; }, 3500);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || String(status));
    this.status = status;
    this.body = body;
  }
}

async function api(path, options) {
  const init = { method: "GET", headers: { Authorization: "tma " + tg.initData } };
  if (options && options.body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch("api/" + path, init);
  } catch (error) {
    throw new ApiError(0, { error: T.offline || "offline" });
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signedOut(body.error);
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function signedOut(text) {
  stack.length = 0;
  bar.hidden = true;
  tg.MainButton.hide();
  tg.BackButton.hide();
  view.replaceChildren(el("p", "hint signed-out", text));
}

function failed(error) {
  if (error.status === 401) return;
  if (error.body && error.body.items) updateCart(error.body);
  toast(error.message || T.failed);
}

function updateCart(next) {
  cart = next;
}

function setMain(text, action) {
  mainAction = action;
  if (text) tg.MainButton.setText(text).enable().show();
  else tg.MainButton.hide();
}

function cartButton() {
  if (cart && cart.count > 0) setMain(fill(T.to_cart, { total: cart.total_text }), () => open({ screen: "cart" }));
  else setMain(null, null);
}

// ------------------------------------------------------------------ navigation

function open(entry) {
  stack.push(entry);
  show();
}

function back() {
  if (stack.length > 1) stack.pop();
  show();
}

function home() {
  stack.length = 0;
  open({ screen: "grid", category: null });
}

async function show() {
  clearTimeout(pollTimer);
  const entry = stack[stack.length - 1];
  if (stack.length > 1) tg.BackButton.show();
  else tg.BackButton.hide();
  bar.hidden = !(entry.screen === "grid" || entry.screen === "search");
  if (entry !== shown) window.scrollTo(0, 0); // a screen refreshed in place keeps its place
  shown = entry;
  try {
    await SCREENS[entry.screen](entry);
  } catch (error) {
    failed(error);
  }
}

// ------------------------------------------------------------------ screens

function tile(product) {
  const node = el("button", "tile" + (product.stock > 0 ? "" : " sold"));
  node.type = "button";
  node.dataset.product = product.id;
  const body = el("div", "body");
  body.append(el("span", "name", product.name), el("span", "price", product.price_text));
  if (product.stock <= 0) body.append(el("span", "hint", T.sold_out));
  node.append(picture(product.image, product.name), body);
  node.addEventListener("click", () => open({ screen: "product", id: product.id }));
  return node;
}

function chip(text, current, action) {
  const node = el("button", "chip", text);
  node.type = "button";
  node.setAttribute("aria-current", String(current));
  node.addEventListener("click", action);
  return node;
}

async function gridScreen(entry) {
  const data = await api("catalogue?category=" + (entry.category || "") + "&page=0");
  crumbs.replaceChildren(chip(T.all, !data.category, () => home()));
  if (data.category) {
    crumbs.append(chip(data.category.name, true, () => {}));
  }
  data.children.forEach((child) =>
    crumbs.append(chip(child.name + " · " + child.count, false, () => open({ screen: "grid", category: child.id })))
  );
  const grid = el("div", "grid");
  data.products.forEach((product) => grid.append(tile(product)));
  const parts = [];
  if (data.category) parts.push(el("h1", null, data.category.name));
  parts.push(grid);
  view.replaceChildren(...parts);
  more(grid, data, (page) => api("catalogue?category=" + (entry.category || "") + "&page=" + page));
  cartButton();
}

function more(grid, data, load) {
  if (data.page + 1 >= data.pages) return;
  const button = el("button", "round more", "…");
  button.type = "button";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const next = await load(data.page + 1);
      next.products.forEach((product) => grid.append(tile(product)));
      button.remove();
      more(grid, next, load);
    } catch (error) {
      button.disabled = false;
      failed(error);
    }
  });
  grid.after(button);
}

async function searchScreen(entry) {
  query.value = entry.q;
  crumbs.replaceChildren(chip(T.all, false, () => home()));
  const data = await api("search?q=" + encodeURIComponent(entry.q) + "&page=0");
  const grid = el("div", "grid");
  data.products.forEach((product) => grid.append(tile(product)));
  const parts = [grid];
  if (!data.products.length) {
    parts.unshift(el("p", "hint", T.nothing_found));
    if (data.close.length) {
      parts.push(el("h2", null, T.close_matches));
      const close = el("div", "grid");
      data.close.forEach((product) => close.append(tile(product)));
      parts.push(close);
    }
  }
  view.replaceChildren(...parts);
  more(grid, data, (page) => api("search?q=" + encodeURIComponent(entry.q) + "&page=" + page));
  cartButton();
}

async function productScreen(entry) {
  const product = await api("products/" + entry.id);
  const page = el("article", "product");
  const gallery = el("div", "gallery");
  (product.images.length ? product.images : [null]).forEach((url) => gallery.append(picture(url, product.name)));
  page.append(gallery);
  if (product.images.length > 1) {
    const dots = el("div", "dots", "1 / " + product.images.length);
    gallery.addEventListener("scroll", () => {
      const index = Math.round(gallery.scrollLeft / gallery.clientWidth) + 1;
      dots.textContent = index + " / " + product.images.length;
    });
    page.append(dots);
  }
  const price = el("div", "price", product.price_text);
  const stock = el("div", "hint", product.stock > 0 ? fill(T.in_stock, { n: product.stock }) : T.sold_out);
  page.append(el("h1", null, product.name), price, stock);
  const control = el("div", "stepper");
  if (product.variants.length) {
    // Sizes, colours: each chosen variant is what goes in the cart, at its own price.
    const choices = el("div", "variants");
    const pick = (variant, chip) => {
      choices.querySelectorAll("button").forEach((other) => other.removeAttribute("aria-current"));
      chip.setAttribute("aria-current", "true");
      price.textContent = variant.price_text;
      stock.textContent = fill(T.in_stock, { n: variant.stock });
      renderControl(control, variant, variant.in_cart);
    };
    product.variants.forEach((variant) => {
      const chip = el("button", "chip", variant.label);
      chip.type = "button";
      chip.dataset.sku = variant.sku;
      if (variant.stock <= 0) {
        chip.disabled = true;
        chip.title = T.sold_out;
      }
      chip.addEventListener("click", () => pick(variant, chip));
      choices.append(chip);
    });
    page.append(el("div", "hint", T.choose), choices);
  }
  page.append(control, el("p", "description", product.description));
  view.replaceChildren(page);
  if (!product.variants.length) renderControl(control, product, product.in_cart);
  cartButton();
}

function renderControl(control, product, inCart) {
  if (product.stock <= 0) {
    control.replaceChildren();
    return;
  }
  if (!inCart) {
    const add = el("button", "round primary add", T.add);
    add.type = "button";
    add.addEventListener("click", () => changeLine(product.id, "add", control, product));
    control.replaceChildren(add);
    return;
  }
  const minus = el("button", "round", "−");
  const plus = el("button", "round", "+");
  minus.type = plus.type = "button";
  minus.setAttribute("aria-label", "−");
  plus.setAttribute("aria-label", "+");
  minus.addEventListener("click", () => changeLine(product.id, "take_one", control, product));
  plus.addEventListener("click", () => changeLine(product.id, "add_one", control, product));
  control.replaceChildren(minus, el("span", "in-cart", fill(T.in_cart, { n: inCart })), plus);
}

async function changeLine(productId, action, control, product) {
  try {
    updateCart(await api("cart/" + productId, { body: { action } }));
  } catch (error) {
    failed(error);
  }
  if (control) {
    const line = cart && cart.items.find((item) => item.product_id === productId);
    renderControl(control, product, line ? line.quantity : 0);
    cartButton();
  } else {
    show();
  }
}

async function cartScreen() {
  updateCart(await api("cart"));
  if (!cart.items.length) {
    view.replaceChildren(el("h1", null, T.cart), el("p", "hint", T.cart_empty));
    setMain(T.continue, () => home());
    return;
  }
  const lines = el("div", "lines");
  cart.items.forEach((item) => {
    const line = el("div", "line");
    line.dataset.product = item.product_id;
    const about = el("div");
    about.append(el("div", "name", item.name), el("div", "hint", item.price_text + " × " + item.quantity));
    if (item.issue) {
      const words = item.issue === "reduced" ? fill(T.reduced, { n: item.stock }) : T[item.issue];
      about.append(el("div", "issue", words));
    }
    const controls = el("div", "stepper");
    const minus = el("button", "round", "−");
    const plus = el("button", "round", "+");
    const remove = el("button", "round remove", "✕");
    [minus, plus, remove].forEach((button) => { button.type = "button"; });
    remove.setAttribute("aria-label", T.remove);
    minus.addEventListener("click", () => changeLine(item.product_id, "take_one"));
    plus.addEventListener("click", () => changeLine(item.product_id, "add_one"));
    remove.addEventListener("click", () => changeLine(item.product_id, "remove"));
    controls.append(minus, plus, remove);
    about.append(controls);
    line.append(picture(item.image, item.name), about, el("div", "price", item.line_total_text));
    lines.append(line);
  });
  const total = el("div", "sum total");
  total.append(el("span", null, T.total), el("span", null, cart.total_text));
  view.replaceChildren(el("h1", null, T.cart), lines, total);
  if (cart.can_check_out) setMain(fill(T.check_out, { total: cart.total_text }), () => open({ screen: "checkout", token: newToken() }));
  else setMain(null, null);
}

function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function field(form, name, label, value, type) {
  const id = "f-" + name;
  const labelNode = el("label", null, label);
  labelNode.htmlFor = id;
  const input = el(type === "textarea" ? "textarea" : "input");
  input.id = id;
  input.name = name;
  if (type && type !== "textarea") input.type = type;
  input.value = value || "";
  form.append(labelNode, input, el("div", "problem"));
  return input;
}

async function checkoutScreen(entry) {
  updateCart(await api("cart"));
  const form = el("form", "checkout");
  form.noValidate = true;
  const saved = entry.form || {};
  field(form, "name", T.name, saved.name || shop.contact.name, "text").autocomplete = "name";
  field(form, "phone", T.phone, saved.phone || shop.contact.phone, "tel").autocomplete = "tel";
  form.append(el("label", null, T.delivery));
  const options = el("div", "options");
  options.dataset.field = "delivery";
  shop.delivery_options.forEach((option, index) => {
    const row = el("label", "option");
    const radio = el("input");
    radio.type = "radio";
    radio.name = "delivery";
    radio.value = option.id;
    radio.checked = saved.delivery ? saved.delivery === option.id : index === 0;
    const price = cart.delivery_prices[option.id];
    const about = el("span");
    const title = option.name || T[option.kind];
    about.append(el("div", null, title + " · " + (price.price ? price.price_text : T.free)));
    if (option.address || option.hours) about.append(el("div", "hint", [option.address, option.hours].filter(Boolean).join(" · ")));
    row.append(radio, about);
    options.append(row);
  });
  form.append(options, el("div", "problem"));
  const address = field(form, "address", T.address, saved.address, "text");
  field(form, "comment", T.comment, saved.comment, "textarea");
  const sums = el("div", "sums");
  form.append(sums);
  view.replaceChildren(el("h1", null, T.checkout), form);

  function chosen() {
    const radio = form.querySelector("input[name=delivery]:checked");
    return shop.delivery_options.find((option) => radio && option.id === radio.value);
  }
  function refresh() {
    const option = chosen();
    const courier = option && option.kind === "courier";
    address.hidden = address.previousElementSibling.hidden = !courier;
    const delivery = option ? cart.delivery_prices[option.id].price : 0;
    const rows = [[T.cart, cart.total_text], [T.delivery_price, delivery ? cart.delivery_prices[option.id].price_text : T.free]];
    sums.replaceChildren(...rows.map(([label, value]) => {
      const row = el("div", "sum");
      row.append(el("span", null, label), el("span", null, value));
      return row;
    }));
    const totalText = option ? cart.delivery_prices[option.id].total_text : cart.total_text;
    const totalRow = el("div", "sum total");
    totalRow.append(el("span", null, T.total), el("span", null, totalText));
    sums.append(totalRow);
    setMain(fill(T.place_order, { total: totalText }), () => placeOrder(form, entry));
  }
  form.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => { event.preventDefault(); placeOrder(form, entry); });
  refresh();
}

async function placeOrder(form, entry) {
  const values = Object.fromEntries(new FormData(form).entries());
  entry.form = values;
  form.querySelectorAll(".problem").forEach((node) => { node.textContent = ""; });
  tg.MainButton.showProgress();
  try {
    const order = await api("orders", { body: { ...values, token: entry.token } });
    updateCart(await api("cart"));
    stack.length = 1;
    open({ screen: "order", id: order.id, placed: true });
  } catch (error) {
    if (error.body && error.body.problems) {
      Object.entries(error.body.problems).forEach(([name, text]) => {
        const input = form.querySelector("[name=" + name + "]");
        const target = name === "delivery" ? form.querySelector(".options") : input;
        if (target) target.nextElementSibling.textContent = text;
      });
    }
    failed(error);
    if (error.status === 409) { stack.pop(); show(); }
  } finally {
    tg.MainButton.hideProgress();
  }
}

async function orderScreen(entry) {
  const order = await api("orders/" + entry.id);
  const page = el("article", "order");
  page.dataset.status = order.status;
  page.append(el("h1", null, fill(T.order, { number: order.number })), el("span", "status", order.status_text));
  const lines = el("div", "lines");
  order.lines.forEach((line) => {
    const row = el("div", "sum");
    row.append(el("span", null, line.name + " × " + line.quantity), el("span", null, line.line_total_text));
    lines.append(row);
  });
  const total = el("div", "sum total");
  total.append(el("span", null, T.total), el("span", null, order.total_text));
  page.append(lines, total);
  const note = el("p", "note");
  page.append(note);
  if (entry.placed) page.append(el("p", "hint", T.chat_told));
  view.replaceChildren(page);
  if (order.status === "awaiting_payment") {
    const until = order.expires_at ? new Date(order.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
    note.textContent = entry.paying ? T.payment_pending : fill(T.awaiting, { time: until });
    setMain(fill(T.pay, { total: order.total_text }), () => pay(entry, order));
    pollTimer = setTimeout(show, 3000);
  } else if (order.status === "awaiting_confirmation") {
    note.textContent = T.cash;
    setMain(T.continue, () => home());
  } else {
    if (order.status === "paid") note.textContent = T.paid;
    setMain(T.continue, () => home());
  }
}

async function pay(entry, order) {
  tg.MainButton.showProgress();
  try {
    const payment = await api("orders/" + order.id + "/pay", { body: {} });
    entry.paying = true;
    if (payment.kind === "invoice") {
      tg.openInvoice(payment.url, (status) => {
        entry.paying = status === "pending";
        if (status === "failed" || status === "cancelled") toast(T.payment_cancelled);
        show();
      });
    } else {
      tg.openLink(payment.url);
    }
    show();
  } catch (error) {
    failed(error);
  } finally {
    tg.MainButton.hideProgress();
  }
}

const SCREENS = {
  grid: gridScreen,
  search: searchScreen,
  product: productScreen,
  cart: cartScreen,
  checkout: checkoutScreen,
  order: orderScreen,
};

// ------------------------------------------------------------------ start

tg.MainButton.onClick(() => { if (mainAction) mainAction(); });
tg.BackButton.onClick(back);
document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = query.value.trim();
  if (text) open({ screen: "search", q: text });
});

(async function start() {
  tg.ready();
  tg.expand();
  try {
    shop = await api("session");
  } catch (error) {
    if (error.status !== 401) view.replaceChildren(el("p", "hint", error.message));
    return;
  }
  T = shop.texts;
  document.documentElement.lang = shop.language;
  document.title = shop.shop_name;
  query.placeholder = T.search;
  query.setAttribute("aria-label", T.search);
  updateCart(shop.cart);
  home();
})();
