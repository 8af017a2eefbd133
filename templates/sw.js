/* Exchange's service worker: the app shell, the pages a signed-in person saw (one
   cache per session, see exchange/offline.py) and "Log hours" without a network. */
"use strict";

var CONFIG = {{ config|tojson }};
var SHELL = "shell-" + hash(CONFIG.shell.join(" "));
var PAGES = "pages-";

importScripts(CONFIG.offlineScript);
var outbox = self.ExchangeOutbox;
outbox.configure(CONFIG);

function hash(text) {
  var h = 0;
  for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(36);
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) { return cache.addAll(CONFIG.shell); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("shell-") === 0 && name !== SHELL;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// --- whose pages ---------------------------------------------------------------------

function forgetPages(keep) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PAGES) === 0 && name !== PAGES + keep;
    }).map(function (name) { return caches.delete(name); }));
  });
}

// A page answered to a signed-in session names it; any other page means nobody is
// signed in (any more): the pages kept of other sessions are forgotten at once.
function learnSession(response) {
  var name = response.headers.get("X-Exchange-Session");
  var owner = response.headers.get("X-Exchange-Owner");
  return outbox.getMeta("session").then(function (known) {
    var same = known && name && known.name === name;
    if (same) return known;
    if (!name && !response.ok) return known;  // an error page says nothing of who is signed in
    var session = name ? { name: name, owner: owner } : null;
    return forgetPages(name).then(function () {
      return outbox.setMeta("session", session);
    }).then(function () {
      if (session) keepPages(session);
      return session;
    });
  });
}

// A new session keeps home, the log form and My logs at once, to open offline later.
function keepPages(session) {
  return caches.open(PAGES + session.name).then(function (cache) {
    return Promise.all(CONFIG.pages.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.ok && !response.redirected &&
            response.headers.get("X-Exchange-Session") === session.name) {
          return cache.put(url, response);
        }
      }).catch(function () {});
    }));
  });
}

function keptPage(request) {
  return outbox.getMeta("session").then(function (session) {
    if (!session) return undefined;
    return caches.open(PAGES + session.name).then(function (cache) {
      return cache.match(request).then(function (found) {
        return found || cache.match(request, { ignoreSearch: true });
      });
    });
  });
}

// The kept page, marked so that its script shows the banner and holds back the
// actions that need the server.
function marked(response) {
  return response.text().then(function (html) {
    var headers = new Headers(response.headers);
    return new Response(html.replace("<html", '<html data-offline="1"'), {
      status: 200, headers: headers
    });
  });
}

// --- pages ---------------------------------------------------------------------------

function navigate(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    var copy = response.clone();
    var html = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    if (html && response.type === "basic") {
      event.waitUntil(learnSession(copy).then(function (session) {
        if (session && response.ok && copy.headers.get("X-Exchange-Keep") !== "no") {
          return caches.open(PAGES + session.name).then(function (cache) {
            return cache.put(request, copy);
          });
        }
      }));
    }
    return response;
  }).catch(function () {
    return keptPage(request).then(function (kept) {
      return kept ? marked(kept) : Response.error();
    });
  });
}

// "Log hours" posted without a network (or the post failed for lack of one): the
// entry waits on the phone with its client_id, and My logs shows it.
function postLog(event) {
  var request = event.request;
  var body = request.clone();
  return fetch(request).catch(function () {
    return body.formData().then(function (form) {
      return outbox.keep(form).then(function () {
        if (self.registration.sync) {
          self.registration.sync.register("exchange-outbox").catch(function () {});
        }
        return Response.redirect(CONFIG.myLogs + "?offline=saved", 303);
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.method === "POST") {
    if (url.pathname === CONFIG.logout) {
      event.waitUntil(forgetPages(null).then(function () { return outbox.setMeta("session", null); }));
      return;
    }
    if (url.pathname === CONFIG.logForm) event.respondWith(postLog(event));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
    return;
  }
  if (CONFIG.shell.indexOf(url.pathname + url.search) !== -1) {
    event.respondWith(caches.match(request).then(function (kept) {
      return kept || fetch(request);
    }));
  }
});

// --- sending ---------------------------------------------------------------------------

self.addEventListener("sync", function (event) {
  if (event.tag === "exchange-outbox") event.waitUntil(outbox.sendWaiting());
});

self.addEventListener("message", function (event) {
  if (event.data === "send") event.waitUntil(outbox.sendWaiting());
});
