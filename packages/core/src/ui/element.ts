/**
 * The `<mcp-servers-settings>` web component, as the ES module the middleware serves at
 * `{basePath}/ui/element.js`. Plain browser JavaScript in a string (no build step, no framework): it
 * builds the DOM with textContent only (server names and descriptions are untrusted), styles through a
 * constructed stylesheet (no inline style, so a strict CSP holds), and calls only the management routes.
 * Inside: no backquote and no dollar-brace, so the text stays a plain String.raw literal.
 */
export const ELEMENT_SOURCE: string = String.raw`
const STYLE = ":host{--mcp-bg:#fff;--mcp-fg:#1b1f24;--mcp-muted:#59636e;--mcp-border:#d1d9e0;--mcp-accent:#0a62d0;--mcp-accent-fg:#fff;--mcp-danger:#c2202b;--mcp-ok:#1a7f37;--mcp-surface:#f6f8fa;--mcp-radius:8px;--mcp-font:system-ui,sans-serif;display:block;color:var(--mcp-fg);background:var(--mcp-bg);font:14px/1.45 var(--mcp-font);padding:16px;max-width:880px;margin:auto}" +
  "@media (prefers-color-scheme:dark){:host{--mcp-bg:#0d1117;--mcp-fg:#e6edf3;--mcp-muted:#9198a1;--mcp-border:#3d444d;--mcp-accent:#4493f8;--mcp-accent-fg:#0d1117;--mcp-danger:#f47067;--mcp-ok:#3fb950;--mcp-surface:#151b23}}" +
  "h1{font-size:20px;margin:0 0 12px}.bar h1{margin:0}h2{font-size:16px;margin:0 0 8px}ul{list-style:none;margin:0;padding:0}" +
  ".bar{display:flex;gap:8px;align-items:center;justify-content:space-between;margin-bottom:12px}" +
  ".card{border:1px solid var(--mcp-border);border-radius:var(--mcp-radius);padding:12px;margin-bottom:10px;background:var(--mcp-surface)}" +
  ".row{display:flex;flex-wrap:wrap;gap:6px;align-items:center}.grow{flex:1}.name{font-weight:600;font-size:15px}" +
  ".muted{color:var(--mcp-muted)}.badge{border:1px solid var(--mcp-border);border-radius:99px;padding:0 8px;font-size:12px}" +
  ".ok{color:var(--mcp-ok)}.err{color:var(--mcp-danger)}" +
  "button,input,select{font:inherit;color:inherit}button{background:var(--mcp-bg);border:1px solid var(--mcp-border);border-radius:6px;padding:4px 10px;cursor:pointer}" +
  "button.primary{background:var(--mcp-accent);color:var(--mcp-accent-fg);border-color:var(--mcp-accent)}button.danger{color:var(--mcp-danger)}" +
  ":focus-visible{outline:2px solid var(--mcp-accent);outline-offset:2px}" +
  "input,select{background:var(--mcp-bg);border:1px solid var(--mcp-border);border-radius:6px;padding:5px 8px;width:100%;box-sizing:border-box}" +
  "input[type=checkbox]{width:auto}label{display:block;font-weight:500;margin:8px 0 2px}[aria-invalid=true]{border-color:var(--mcp-danger)}" +
  ".field-error{color:var(--mcp-danger);font-size:12px;margin-top:2px}.actions{display:flex;gap:8px;margin-top:12px;flex-wrap:wrap}" +
  ".switch{display:inline-flex;gap:6px;align-items:center;font-weight:400;margin:0}" +
  "dialog{color:var(--mcp-fg);background:var(--mcp-bg);border:1px solid var(--mcp-border);border-radius:var(--mcp-radius);max-width:420px}" +
  ".tools li{border-top:1px solid var(--mcp-border);padding:6px 0}";

const CODES = {
  invalid_url: "the URL is not valid",
  blocked_address: "the address is not allowed (private or blocked network)",
  connection_failed: "could not connect to the server",
  timeout: "the server did not answer in time",
  auth_failed: "the server refused the credentials",
  not_mcp_server: "the address does not answer as an MCP server",
  upstream_error: "the server is unavailable",
  oauth_required: "connect your account first",
};
const TIERS = { config: "Built in", global: "Everyone", scope: "Yours", request: "This request" };
const AVAILABILITY = { force_on: "Always on", default_on: "On by default", default_off: "Off by default" };
const FIELDS = ["name", "description", "url", "transport", "availability", "authType", "token", "enabled", "scope"];
const POINTERS = { "/auth": "authType", "/auth/type": "authType", "/auth/token": "token" };

let ids = 0;
function h(tag, props, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "value" || key === "disabled") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children || [])) if (child) node.append(child);
  return node;
}

function words(error) {
  if (!error) return "unknown error";
  const text = CODES[error.code];
  return text ? text + " (" + error.code + ")" : (error.message || error.detail || error.title || "failed") + (error.code ? " (" + error.code + ")" : "");
}

function authState(server) {
  const auth = server.auth || {};
  if (auth.type === "oauth2") return auth.connected ? "Account connected" : "Account not connected";
  if (auth.type === "bearer") return auth.hasToken ? "Token set" : "Token not set";
  if (auth.type === "headers") return auth.hasHeaders ? "Headers set" : "Headers not set";
  return auth.type ? "No sign-in" : "";
}

function isOn(server) {
  const availability = server.availability || "default_on";
  if (availability === "force_on") return true;
  return typeof server.preference === "boolean" ? server.preference : availability === "default_on";
}

function globMatch(pattern, name) {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === name;
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (i === 0) { if (!name.startsWith(part)) return false; at = part.length; continue; }
    if (i === parts.length - 1) return name.length - at >= part.length && name.endsWith(part);
    const found = name.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  return true;
}

export class McpServersSettings extends HTMLElement {
  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    this.root.adoptedStyleSheets = [sheet];
    this.servers = [];
    this.view = { kind: "list" };
    this.status = h("p", { role: "status", "aria-live": "polite", class: "muted" });
    // this.headers: extra request headers, e.g. async () => ({ authorization: "Bearer " + token }), never
    // written to the DOM. Not reset here: a page may set it before the element is upgraded.
  }

  connectedCallback() {
    if (!this.started) {
      this.started = true;
      // After the script that imported the element has run, so the headers callback it sets is used.
      Promise.resolve().then(() => this.load());
    }
  }

  get basePath() {
    const given = this.getAttribute("base-path");
    if (given) return given.replace(/\/$/, "");
    return new URL(import.meta.url).pathname.replace(/\/ui\/element\.js$/, "");
  }

  async api(method, path, body) {
    const headers = { accept: "application/json" };
    const attribute = this.getAttribute("headers");
    if (attribute) {
      try { Object.assign(headers, JSON.parse(attribute)); } catch { this.say("The headers attribute is not JSON.", true); }
    }
    if (typeof this.headers === "function") Object.assign(headers, await this.headers());
    else if (this.headers) Object.assign(headers, this.headers);
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(this.basePath + path, {
      method,
      headers,
      credentials: this.getAttribute("credentials") || "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  say(text, bad) {
    this.status.textContent = text;
    this.status.className = bad ? "err" : "muted";
  }

  async load() {
    const result = await this.api("GET", "/");
    if (!result.ok) {
      this.servers = [];
      this.say("Could not load the servers: " + words(result.data), true);
    } else this.servers = result.data.servers || [];
    // Only admins see where an operator's server connects; the routes enforce it, the view follows it.
    this.admin = this.hasAttribute("admin") || this.servers.some((server) => server.source !== "scope" && (server.url || server.command));
    this.render();
  }

  render(focusSelector) {
    const view = this.view;
    const content =
      view.kind === "form" ? this.renderForm(view) : view.kind === "tools" ? this.renderTools(view) : this.renderList();
    this.root.replaceChildren(content, this.status, this.renderDialog());
    const target = focusSelector && this.root.querySelector(focusSelector);
    if (target) target.focus();
  }

  renderList() {
    const heading = this.getAttribute("heading") || "MCP servers";
    const items = this.servers.map((server) => this.renderServer(server));
    return h("section", { "aria-labelledby": "mcp-heading" }, [
      h("div", { class: "bar" }, [
        h("h1", { id: "mcp-heading", text: heading }),
        h("button", { class: "primary", id: "add", text: "Add server", onclick: () => this.openForm() }),
      ]),
      items.length ? h("ul", { "aria-label": "Servers" }, items) : h("p", { class: "muted", text: "No servers yet." }),
    ]);
  }

  renderServer(server) {
    const mine = server.source === "scope" || (server.source === "global" && this.admin);
    const availability = server.availability || "default_on";
    const label = "Use " + server.name;
    const switchId = "use-" + server.name;
    const toggle = h("label", { class: "switch", for: switchId }, [
      h("input", {
        type: "checkbox",
        role: "switch",
        id: switchId,
        checked: isOn(server),
        disabled: availability === "force_on" || server.enabled === false,
        "aria-label": label,
        onchange: (event) => this.setPreference(server, event.target.checked),
      }),
      h("span", { text: availability === "force_on" ? "Always on" : "Use in chats" }),
    ]);
    const auth = server.auth || {};
    const buttons = [
      h("button", { text: "Tools", "aria-label": "Tools of " + server.name, onclick: () => this.openTools(server) }),
    ];
    if (auth.type === "oauth2")
      buttons.push(
        auth.connected
          ? h("button", { text: "Disconnect", "aria-label": "Disconnect " + server.name, onclick: () => this.disconnect(server) })
          : h("button", { class: "primary", text: "Connect", "aria-label": "Connect " + server.name, onclick: () => this.connect(server) }),
      );
    if (mine) {
      buttons.push(h("button", { text: "Edit", "aria-label": "Edit " + server.name, onclick: () => this.openForm(server) }));
      buttons.push(
        h("button", { class: "danger", text: "Delete", "aria-label": "Delete " + server.name, onclick: () => this.confirmDelete(server) }),
      );
    }
    const state = authState(server);
    return h("li", { class: "card", "data-server": server.name }, [
      h("div", { class: "row" }, [
        h("span", { class: "name grow", text: server.name }),
        h("span", { class: "badge", title: "Source tier", text: TIERS[server.source] || server.source }),
        h("span", { class: "badge", text: AVAILABILITY[availability] || availability }),
        server.enabled === false ? h("span", { class: "badge err", text: "Disabled" }) : null,
        state ? h("span", { class: "badge " + (auth.type === "oauth2" && !auth.connected ? "err" : ""), text: state }) : null,
      ]),
      server.description ? h("p", { class: "muted", text: server.description }) : null,
      h("div", { class: "row" }, [toggle, h("span", { class: "grow" }), ...buttons]),
    ]);
  }

  async setPreference(server, on) {
    const result = await this.api("PUT", "/" + encodeURIComponent(server.name) + "/preference", { enabled: on });
    if (!result.ok) {
      this.say("Could not switch " + server.name + ": " + words(result.data), true);
      return this.render("#use-" + CSS.escape(server.name));
    }
    server.preference = on;
    this.say(server.name + (on ? " is on" : " is off") + " for you.");
  }

  async connect(server) {
    const result = await this.api("GET", "/" + encodeURIComponent(server.name) + "/oauth/connect?mode=json");
    if (!result.ok) return this.say("Could not connect " + server.name + ": " + words(result.data), true);
    const popup = window.open(result.data.authorizationUrl, "mcp-oauth", "popup,width=520,height=680");
    if (!popup) return window.location.assign(result.data.authorizationUrl);
    this.say("Finish signing in to " + server.name + " in the new window.");
    // The callback page tells its opener at once (same origin only); polling covers a lost message.
    let told;
    const message = new Promise((resolve) => (told = (event) => {
      const data = event.data || {};
      if (event.origin === window.location.origin && data.type === "mcp-oauth" && data.server === server.name) resolve();
    }));
    window.addEventListener("message", told);
    try {
      for (let tries = 0; tries < 300; tries++) {
        await Promise.race([message, new Promise((resolve) => setTimeout(resolve, 1000))]);
        if (await this.connected(server, popup)) return;
        if (popup.closed && tries > 2) break;
      }
    } finally {
      window.removeEventListener("message", told);
    }
    this.load();
  }

  async connected(server, popup) {
    const current = await this.api("GET", "/" + encodeURIComponent(server.name));
    if (!current.ok || !current.data.auth || !current.data.auth.connected) return false;
    try { popup.close(); } catch {}
    this.say(server.name + " is connected.");
    await this.load();
    return true;
  }

  async disconnect(server) {
    const result = await this.api("DELETE", "/" + encodeURIComponent(server.name) + "/oauth");
    this.say(result.ok ? server.name + " is disconnected." : "Could not disconnect: " + words(result.data), !result.ok);
    await this.load();
  }

  confirmDelete(server) {
    this.pendingDelete = server;
    // Only the dialog is replaced, so closing it gives the focus back to the Delete button.
    const dialog = this.renderDialog();
    this.root.querySelector("dialog").replaceWith(dialog);
    dialog.showModal();
    dialog.querySelector("#cancel-delete").focus();
  }

  renderDialog() {
    const server = this.pendingDelete;
    const close = () => {
      this.pendingDelete = undefined;
      this.root.querySelector("dialog").close();
    };
    return h("dialog", { "aria-labelledby": "delete-title", onclose: () => (this.pendingDelete = undefined) }, server ? [
      h("h2", { id: "delete-title", text: "Delete " + server.name + "?" }),
      h("p", { text: "Its settings and your connections to it are removed. This cannot be undone." }),
      h("div", { class: "actions" }, [
        h("button", { id: "cancel-delete", text: "Cancel", onclick: close }),
        h("button", { class: "danger", id: "confirm-delete", text: "Delete", onclick: async () => {
          close();
          const result = await this.api("DELETE", "/" + encodeURIComponent(server.name));
          this.say(result.ok ? server.name + " was deleted." : "Could not delete: " + words(result.data), !result.ok);
          await this.load();
          const add = this.root.querySelector("#add");
          if (add) add.focus();
        } }),
      ]),
    ] : []);
  }

  async openTools(server) {
    this.view = { kind: "tools", server, tools: null };
    this.render();
    const name = encodeURIComponent(server.name);
    const [tools, pins] = await Promise.all([this.api("GET", "/" + name + "/tools"), this.api("GET", "/" + name + "/pins")]);
    if (this.view.server !== server) return;
    this.view.tools = tools.ok ? tools.data.tools : [];
    this.view.error = tools.ok ? undefined : words(tools.data);
    this.view.pins = pins.ok ? new Map(pins.data.tools.map((pin) => [pin.name, pin.status])) : new Map();
    this.render("#back");
  }

  renderTools(view) {
    const approval = ((view.server.tools || {}).requireApproval) || [];
    const PIN = { pinned: "Pinned", changed: "Changed since pinned", unpinned: "Not pinned yet" };
    const list = (view.tools || []).map((tool) => {
      const pin = view.pins && view.pins.get(tool.name);
      return h("li", {}, [
        h("div", { class: "row" }, [
          h("strong", { class: "grow", text: tool.name }),
          approval.some((pattern) => globMatch(pattern, tool.name)) ? h("span", { class: "badge", text: "Asks before running" }) : null,
          pin && PIN[pin] ? h("span", { class: "badge " + (pin === "changed" ? "err" : ""), text: PIN[pin] }) : null,
        ]),
        tool.description ? h("div", { class: "muted", text: tool.description }) : null,
      ]);
    });
    return h("section", { "aria-labelledby": "tools-heading" }, [
      h("div", { class: "bar" }, [
        h("h1", { id: "tools-heading", text: "Tools of " + view.server.name }),
        h("button", { id: "back", text: "Back", onclick: () => this.back() }),
      ]),
      view.tools === null
        ? h("p", { class: "muted", text: "Loading tools…" })
        : view.error
          ? h("p", { class: "err", role: "alert", text: "Could not list the tools: " + view.error })
          : h("ul", { class: "tools", "aria-label": "Tools" }, list.length ? list : [h("li", { class: "muted", text: "No tools." })]),
    ]);
  }

  back() {
    this.view = { kind: "list" };
    this.say("");
    this.load();
  }

  openForm(server) {
    this.view = { kind: "form", server, errors: {}, formError: "" };
    this.render("#f-" + (server ? "description" : "name"));
  }

  renderForm(view) {
    const server = view.server || {};
    const auth = server.auth || {};
    const field = (key, text, control, hint) => {
      const id = "f-" + key;
      const error = view.errors[key];
      control.id = id;
      control.name = key;
      if (error) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", id + "-error");
      } else if (hint) control.setAttribute("aria-describedby", id + "-hint");
      return h("div", {}, [
        h("label", { for: id, text }),
        control,
        hint && !error ? h("div", { class: "muted", id: id + "-hint", text: hint }) : null,
        error ? h("div", { class: "field-error", id: id + "-error", text: error }) : null,
      ]);
    };
    const select = (options, value) =>
      h("select", {}, options.map(([optionValue, text]) => h("option", { value: optionValue, text, selected: optionValue === value })));
    const fields = [
      field("name", "Name", h("input", { value: server.name || "", disabled: !!view.server, autocomplete: "off", required: true }), "Letters, digits, - and _"),
      field("description", "Description", h("input", { value: server.description || "" })),
      field("url", "Server URL", h("input", { type: "url", value: server.url || "", placeholder: "https://example.com/mcp" })),
      field("transport", "Transport", select([["streamable-http", "Streamable HTTP"], ["sse", "SSE"]], server.transport || "streamable-http")),
      field("availability", "Availability", select([["default_on", "On by default"], ["default_off", "Off by default"], ["force_on", "Always on"]], server.availability || "default_on")),
      // Custom headers are kept as they are: the form cannot show them (write-only), only replace the sign-in.
      field("authType", "Sign-in", select([["none", "None"], ["bearer", "Bearer token"], ["oauth2", "OAuth (each user connects)"]].concat(auth.type === "headers" ? [["headers", "Custom headers (set)"]] : []), auth.type || "none")),
      field("token", "Token", h("input", { type: "password", autocomplete: "off", value: "", placeholder: auth.hasToken ? "set (leave empty to keep)" : "not set" }), auth.hasToken ? "A token is set; it is never shown." : "Write-only: stored encrypted, never shown."),
      h("label", { class: "switch", for: "f-enabled" }, [h("input", { type: "checkbox", id: "f-enabled", name: "enabled", checked: server.enabled !== false }), h("span", { text: "Enabled" })]),
    ];
    if (this.admin && !view.server)
      fields.push(h("label", { class: "switch", for: "f-scope" }, [h("input", { type: "checkbox", id: "f-scope", name: "scope" }), h("span", { text: "For everyone (global)" })]));
    const title = view.server ? "Edit " + server.name : "Add a server";
    return h("section", { "aria-labelledby": "form-heading" }, [
      h("h1", { id: "form-heading", text: title }),
      h("form", { novalidate: true, onsubmit: (event) => { event.preventDefault(); this.save(); } }, [
        view.formError ? h("p", { class: "err", role: "alert", id: "form-error", text: view.formError }) : null,
        ...fields,
        h("div", { class: "actions" }, [
          h("button", { type: "submit", class: "primary", id: "save", text: "Save" }),
          h("button", { type: "button", id: "test", text: "Test connection", onclick: () => this.test() }),
          h("button", { type: "button", id: "cancel", text: "Cancel", onclick: () => this.back() }),
        ]),
        h("p", { id: "test-result", role: "status", "aria-live": "polite", class: view.test ? (view.test.ok ? "ok" : "err") : "muted", text: view.test ? view.test.text : "" }),
      ]),
    ]);
  }

  readForm() {
    const value = (key) => { const node = this.root.querySelector("#f-" + key); return node ? (node.type === "checkbox" ? node.checked : node.value.trim()) : undefined; };
    const definition = { url: value("url"), transport: value("transport"), availability: value("availability"), enabled: value("enabled") };
    const description = value("description");
    if (description || this.view.server) definition.description = description || null;
    const type = value("authType");
    const token = value("token");
    const had = ((this.view.server || {}).auth || {}).type;
    if (type === "bearer" && token) definition.auth = { type: "bearer", token };
    else if (type === "bearer" && had !== "bearer") definition.auth = { type: "bearer", token: "" };
    else if (type !== "bearer" && type !== had) definition.auth = type === "none" && !this.view.server ? undefined : { type };
    if (definition.auth === undefined) delete definition.auth;
    return { name: value("name"), scope: value("scope") ? "global" : undefined, definition, values: FIELDS.map((key) => [key, value(key)]) };
  }

  /** Keeps what the user typed across a re-render (the token field included, in memory only). */
  restore(values) {
    for (const [key, value] of values) {
      const node = this.root.querySelector("#f-" + key);
      if (!node || value === undefined) continue;
      if (node.type === "checkbox") node.checked = value; else node.value = value;
    }
  }

  showErrors(data, values) {
    const errors = {};
    const other = [];
    for (const error of (data && data.errors) || []) {
      const pointer = error.pointer || "";
      const key = POINTERS[pointer] || pointer.split("/")[1];
      if (key && FIELDS.includes(key) && !errors[key]) errors[key] = error.detail;
      else other.push((pointer ? pointer + ": " : "") + error.detail);
    }
    this.view.errors = errors;
    this.view.formError = other.length || !Object.keys(errors).length ? (data && (data.detail || data.title) || "Saving failed") + (other.length ? " — " + other.join("; ") : "") : "";
    this.render();
    this.restore(values);
    const first = FIELDS.find((key) => errors[key]);
    const target = this.root.querySelector(first ? "#f-" + first : "#form-error");
    if (target) target.focus();
  }

  async test() {
    const form = this.readForm();
    this.view.test = { ok: true, text: "Testing…" };
    this.root.querySelector("#test-result").textContent = "Testing…";
    // Saved secrets never come back to the page: a test of a saved server needs its token typed again.
    const body = Object.assign({}, form.definition);
    if (body.auth && body.auth.type === "bearer" && !body.auth.token) delete body.auth;
    for (const key of Object.keys(body)) if (body[key] === null || body[key] === undefined) delete body[key];
    const result = await this.api("POST", "/test", body);
    if (result.status === 422) return this.showErrors(result.data, form.values);
    const data = result.data || {};
    this.view.test = data.ok
      ? { ok: true, text: "Connected: " + data.tools.length + " tools (" + data.tools.map((tool) => tool.name).join(", ") + ") in " + Math.round(data.latencyMs) + " ms" }
      : { ok: false, text: "Failed: " + words(data.error || data) };
    this.view.errors = {};
    this.view.formError = "";
    this.render();
    this.restore(form.values);
    this.root.querySelector("#test").focus();
  }

  async save() {
    const form = this.readForm();
    const editing = this.view.server;
    const definition = form.definition;
    if (!editing) for (const key of Object.keys(definition)) if (definition[key] === null) delete definition[key];
    const result = editing
      ? await this.api("PATCH", "/" + encodeURIComponent(editing.name), definition)
      : await this.api("POST", "/", Object.assign({ name: form.name }, form.scope ? { scope: "global" } : {}, definition));
    if (!result.ok) return this.showErrors(result.data, form.values);
    this.view = { kind: "list" };
    this.say((editing ? editing.name : form.name) + " was saved.");
    await this.load();
    const card = this.root.querySelector('[data-server="' + CSS.escape(editing ? editing.name : form.name) + '"] button');
    if (card) card.focus();
  }
}

if (!customElements.get("mcp-servers-settings")) customElements.define("mcp-servers-settings", McpServersSettings);
`;
