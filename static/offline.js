/* Exchange without a network. Every page works without this script.

   Shared by the pages and the service worker (/sw.js imports it): entries of "Log
   hours" saved offline wait in IndexedDB with their client_id and are sent when the
   network returns. The server makes one log per client_id, so sending one twice
   (a retry, two tabs, the worker and a page at once) never makes two logs. */
(function (root) {
  "use strict";

  var DB_NAME = "exchange-offline";
  var settings = { logForm: "/logs/new", maxBytes: 5 * 1024 * 1024 };

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("outbox", { keyPath: "clientId" });
        request.result.createObjectStore("meta");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var request = work(tx.objectStore(name));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var outbox = {
    configure: function (config) {
      if (config.logForm) settings.logForm = config.logForm;
      if (config.maxBytes) settings.maxBytes = config.maxBytes;
    },
    getMeta: function (key) {
      return withStore("meta", "readonly", function (s) { return s.get(key); });
    },
    setMeta: function (key, value) {
      return withStore("meta", "readwrite", function (s) { return s.put(value, key); });
    },
    all: function () {
      return withStore("outbox", "readonly", function (s) { return s.getAll(); });
    },
    get: function (clientId) {
      return withStore("outbox", "readonly", function (s) { return s.get(clientId); });
    },
    put: function (entry) {
      return withStore("outbox", "readwrite", function (s) { return s.put(entry); });
    },
    remove: function (clientId) {
      return withStore("outbox", "readwrite", function (s) { return s.delete(clientId); });
    },

    // The posted form of "Log hours", kept for the person signed in when it was made.
    keep: function (form) {
      return outbox.getMeta("session").then(function (session) {
        if (!session || !session.owner) throw new Error("nobody signed in");
        var entry = {
          clientId: "", owner: session.owner, fields: [], file: null,
          status: "waiting", errors: [], savedAt: Date.now()
        };
        form.forEach(function (value, name) {
          if (name === "csrf_token") return;  // a fresh one is fetched to send it
          if (typeof value !== "string") {
            if (value.size) entry.file = { field: name, blob: value, name: value.name };
            return;
          }
          if (name === "client_id") entry.clientId = value;
          entry.fields.push([name, value]);
        });
        return outbox.get(entry.clientId || "-").then(function (earlier) {
          // The same client_id again: a retry of the same entry replaces it (it is
          // still one log), as does saving a refused one being fixed; a different entry
          // sent from the same form (after going back to it) gets a client_id of its own.
          var another = earlier && !earlier.fixing &&
            JSON.stringify(earlier.fields) !== JSON.stringify(entry.fields);
          if (!entry.clientId || another) {
            entry.clientId = newClientId();
            entry.fields = entry.fields.filter(function (pair) { return pair[0] !== "client_id"; });
            entry.fields.push(["client_id", entry.clientId]);
          }
          return outbox.put(entry).then(function () { return entry; });
        });
      });
    },

    // Send every waiting entry of the person signed in now; say how it went.
    sendWaiting: function () {
      if (!sending) {
        sending = sendAll().then(function (result) {
          sending = null;
          return result;
        }, function () {
          sending = null;
          return { offline: true };
        });
      }
      return sending;
    }
  };

  var sending = null;

  function newClientId() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    var bytes = root.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }
  outbox.newClientId = newClientId;

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  function sendAll() {
    return outbox.all().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.status === "waiting"; });
      if (!waiting.length) return { sent: 0 };
      // A fresh CSRF token (the kept form's may have expired) and who is signed in.
      return fetch(settings.logForm, {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store"
      }).then(function (response) {
        if (!response.ok || response.redirected || !isJson(response)) return { signIn: true };
        return response.json().then(function (me) {
          var mine = waiting.filter(function (e) { return e.owner === me.owner; });
          return sendEach(mine, me.csrf_token, 0);
        });
      });
    });
  }

  function sendEach(entries, token, sent) {
    if (!entries.length) return Promise.resolve({ sent: sent });
    var entry = entries[0];
    var body = new FormData();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.set("csrf_token", token);
    if (entry.file) body.append(entry.file.field, entry.file.blob, entry.file.name);
    return fetch(settings.logForm, {
      method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      if (response.ok && isJson(response)) return outbox.remove(entry.clientId).then(function () { return 1; });
      if ([403, 404, 409, 413, 422].indexOf(response.status) !== -1) {
        // Refused: it stays on the phone with the server's reasons until fixed or discarded.
        var read = isJson(response) ? response.json() : Promise.resolve({});
        return read.then(function (answer) {
          entry.status = "refused";
          entry.errors = answer.errors && answer.errors.length ? answer.errors
            : [{ field: "", label: "", message: answer.message || response.statusText || String(response.status) }];
          return outbox.put(entry).then(function () { return 0; });
        });
      }
      throw new Error("try later");  // the server could not answer now: keep it waiting
    }).then(function (count) {
      return sendEach(entries.slice(1), token, sent + count);
    });
  }

  root.ExchangeOutbox = outbox;
  if (typeof document === "undefined") return;  // in the service worker: only the above

  // --- on a page -------------------------------------------------------------------------

  var script = document.currentScript;
  if ("serviceWorker" in navigator && script && script.getAttribute("data-worker")) {
    navigator.serviceWorker.register(script.getAttribute("data-worker"), { scope: "/" }).catch(function () {});
  }
  var block = document.getElementById("offline-config");
  if (!block) return;  // nobody signed in
  var config = JSON.parse(block.textContent);
  var text = config.text;
  outbox.configure(config);
  var keptPage = document.documentElement.hasAttribute("data-offline");
  var main = document.getElementById("main");

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }

  // --- the banner, and the actions that need the server ------------------------------------

  var banner = null;
  function showBanner(backOnline) {
    if (!banner) {
      banner = el("div", "flash flash--warning offline-banner");
      banner.setAttribute("role", "status");
      main.insertBefore(banner, main.firstChild);
    }
    banner.textContent = backOnline ? text.online + " " : text.offline;
    if (backOnline) {
      var reload = el("a", "inline-tap", text.reload);
      reload.href = location.href;
      banner.appendChild(reload);
    }
  }

  function holdActions(held) {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.method !== "post" || form.hasAttribute("data-offline-log")) return;
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
        if (button.type !== "submit") return;
        if (held) {
          if (!button.disabled) button.setAttribute("data-held", "");
          button.disabled = true;
          button.title = text.needsNetwork;
        } else if (button.hasAttribute("data-held")) {
          button.removeAttribute("data-held");
          button.disabled = false;
          button.removeAttribute("title");
        }
      });
    });
  }

  if (keptPage || !navigator.onLine) {
    showBanner(false);
    holdActions(true);
  }
  window.addEventListener("offline", function () {
    showBanner(false);
    holdActions(true);
  });
  window.addEventListener("online", function () {
    if (keptPage) {
      // A kept page's forms carry an old token: they come back with a reload.
      showBanner(true);
    } else {
      if (banner) banner.remove();
      banner = null;
      holdActions(false);
    }
    send();
  });

  // --- My logs: what waits on this phone -------------------------------------------------

  var box = document.querySelector("[data-outbox]");

  function fieldValue(entry, name) {
    for (var i = 0; i < entry.fields.length; i++) {
      if (entry.fields[i][0] === name) return entry.fields[i][1];
    }
    return "";
  }

  function entryItem(entry) {
    var item = el("li", "outbox-entry");
    item.setAttribute("data-client-id", entry.clientId);
    var hours = fieldValue(entry, "hours");
    item.appendChild(el("strong", "", fieldValue(entry, "date") + (hours ? " · " + text.hours.replace("{hours}", hours) : "")));
    var description = fieldValue(entry, "description");
    if (description) item.appendChild(el("p", "outbox-text", description));
    if (entry.status === "refused") {
      var reasons = el("div", "error");
      reasons.appendChild(el("span", "", text.refused));
      entry.errors.forEach(function (error) {
        reasons.appendChild(el("span", "", " " + (error.label ? error.label + ": " : "") + error.message));
      });
      item.appendChild(reasons);
    } else {
      item.appendChild(el("span", "badge badge--warn", text.waiting));
    }
    var actions = el("div", "actions");
    if (entry.status === "refused") {
      var fix = el("a", "button button--ghost", text.fix);
      fix.href = config.logForm + "?outbox=" + encodeURIComponent(entry.clientId);
      actions.appendChild(fix);
    }
    var discard = el("button", "button button--danger-ghost", text.discard);
    discard.type = "button";
    discard.addEventListener("click", function () {
      if (!window.confirm(text.discardConfirm)) return;
      outbox.remove(entry.clientId).then(showOutbox);
    });
    actions.appendChild(discard);
    item.appendChild(actions);
    return item;
  }

  function showOutbox(result) {
    if (!box) return Promise.resolve();
    return outbox.all().then(function (entries) {
      var mine = entries.filter(function (e) { return e.owner === config.owner; });
      mine.sort(function (a, b) { return a.savedAt - b.savedAt; });
      var list = box.querySelector("[data-outbox-list]");
      list.textContent = "";
      mine.forEach(function (entry) { list.appendChild(entryItem(entry)); });
      box.querySelector("[data-outbox-note]").textContent = result && result.signIn ? text.signIn : "";
      box.hidden = mine.length === 0;
    });
  }

  function send() {
    if (!navigator.onLine) return showOutbox();
    return outbox.sendWaiting().then(function (result) {
      if (result && result.sent && box && !keptPage) {
        location.reload();  // the list below now shows what arrived
        return;
      }
      return showOutbox(result);
    });
  }

  if (box) {
    var params = new URLSearchParams(location.search);
    if (params.get("offline") === "saved") {
      var saved = el("div", "flash flash--success", text.saved);
      saved.setAttribute("role", "status");
      main.insertBefore(saved, box.parentNode === main ? box : main.firstChild);
      params.delete("offline");
      var query = params.toString();
      history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
    }
  }
  showOutbox().then(send);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.ready.then(function (registration) {
      return outbox.all().then(function (entries) {
        if (registration.sync && entries.some(function (e) { return e.status === "waiting"; })) {
          return registration.sync.register("exchange-outbox");
        }
      });
    }).catch(function () {});
  }

  // --- "Log hours": a fresh client_id offline, files too large, fixing a refused entry ----

  var form = document.querySelector("form[data-offline-log]");
  if (!form) return;
  var clientField = form.elements.client_id;
  var fixing = new URLSearchParams(location.search).get("outbox");
  if (keptPage && clientField && !fixing) clientField.value = newClientId();

  function fileTooLarge(input) {
    var old = input.parentNode.querySelector(".error[data-offline-error]");
    if (old) old.remove();
    var file = input.files && input.files[0];
    if (!file || file.size <= config.maxBytes) return false;
    var message = el("p", "error", text.tooLarge);
    message.setAttribute("data-offline-error", "");
    message.setAttribute("role", "alert");
    input.parentNode.appendChild(message);
    input.value = "";
    return true;
  }
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () { fileTooLarge(input); });
  });

  if (!fixing) return;
  var fixReady = false;
  outbox.get(fixing).then(function (entry) {
    if (!entry || entry.owner !== config.owner) {
      var gone = el("div", "flash flash--warning", text.notFound);
      gone.setAttribute("role", "status");
      main.insertBefore(gone, main.firstChild);
      return;
    }
    entry.fields.forEach(function (pair) {
      var field = form.elements[pair[0]];
      if (!field || pair[0] === "intent" || pair[0] === "csrf_token") return;
      if (field.type === "checkbox") field.checked = true;
      else field.value = pair[1];
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
    if (entry.file && form.elements[entry.file.field] && window.DataTransfer) {
      var files = new DataTransfer();
      files.items.add(new File([entry.file.blob], entry.file.name, { type: entry.file.blob.type }));
      form.elements[entry.file.field].files = files.files;
    }
    var summary = el("div", "flash flash--error", text.fixing);
    summary.setAttribute("role", "alert");
    form.parentNode.insertBefore(summary, form);
    entry.errors.forEach(function (error) {
      var field = error.field && form.elements[error.field];
      var place = field && field.closest ? field.closest(".field") : null;
      var message = el("p", "error", (place ? "" : (error.label ? error.label + ": " : "")) + error.message);
      if (place) place.appendChild(message);
      else summary.appendChild(el("p", "", message.textContent));
    });
    // Saving it again makes it wait to be sent again: if this post reaches the server,
    // the next send finds the log already made (same client_id) and lets it go.
    form.addEventListener("submit", function (event) {
      if (fixReady) return;
      event.preventDefault();
      event.stopPropagation();
      var submitter = event.submitter;
      entry.status = "waiting";
      entry.fixing = true;
      entry.errors = [];
      outbox.put(entry).then(function () {
        fixReady = true;
        form.requestSubmit(submitter);
      });
    });
  });
})(self);
