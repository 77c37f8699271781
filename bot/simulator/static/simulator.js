// The simulator's chat window: post through /simulator/send, poll the person's inbox.
(function () {
  "use strict";
  const messages = document.getElementById("messages");
  const who = document.getElementById("who");
  const status = document.getElementById("status");
  let current = null;
  let lastInboxId = 0;
  let generation = 0;
  const menuLabels = {};
  document.querySelectorAll("#menu button").forEach(function (b) { menuLabels[b.dataset.key] = b.textContent; });

  function bubble(cls, text, tag) {
    const item = document.createElement("li");
    item.className = "msg " + cls;
    if (tag) {
      const label = document.createElement("span");
      label.className = "tag";
      label.textContent = tag;
      item.appendChild(label);
    }
    item.appendChild(document.createTextNode(text));
    messages.appendChild(item);
    messages.scrollTop = messages.scrollHeight;
    return item;
  }

  async function call(method, url, body) {
    const options = { method: method, headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
    return data;
  }

  function pushTag(message) {
    const names = { text: "主动消息", summary: "周报", visit: "回访", image: "图片", voice: "语音" };
    return (names[message.kind] || "主动消息") + (message.ticket ? " · #" + message.ticket : "");
  }

  // One poll at a time, none while a person's history loads, and never the same message twice.
  let loading = false;
  let polling = false;

  // A forwarded photo shows itself (fetched in the background: retried a few times while it is
  // not there yet); a voice note is a download link, browsers do not play WeChat's AMR.
  function attachMedia(item, m) {
    if (!m.attachment) { return; }
    const url = "/local/media/" + m.attachment;
    if (m.kind === "voice") {
      const link = document.createElement("a");
      link.className = "voice";
      link.href = url;
      link.download = "";
      link.textContent = "下载语音";
      item.appendChild(link);
      return;
    }
    const picture = document.createElement("img");
    picture.className = "pic";
    picture.alt = "#" + m.ticket;
    let tries = 0;
    picture.addEventListener("error", function () {
      if (tries++ < 5) { setTimeout(function () { picture.src = url + "?try=" + tries; }, 2000); }
    });
    picture.src = url;
    item.appendChild(picture);
  }

  function pushBubble(m) {
    attachMedia(bubble("push", m.body, pushTag(m)), m);
  }

  function showPush(m) {
    if (m.id <= lastInboxId) { return; }
    lastInboxId = m.id;
    pushBubble(m);
  }

  async function pollInbox() {
    if (!current || loading || polling) { return; }
    polling = true;
    const mine = generation;
    try {
      const data = await call("GET", "/simulator/inbox/" + encodeURIComponent(current) + "?after=" + lastInboxId);
      if (mine === generation) { data.messages.forEach(showPush); }
    } catch (error) {
      status.textContent = "收件箱读取失败：" + error.message;
    } finally {
      polling = false;
    }
  }

  // On a phone the people list is a section on top: it folds away once someone is chosen.
  const peopleToggle = document.getElementById("people-toggle");
  const phoneLayout = window.matchMedia("(max-width: 700px)");

  async function select(openid, label) {
    if (phoneLayout.matches) { peopleToggle.checked = false; }
    current = openid;
    generation += 1;
    const mine = generation;
    lastInboxId = 0;
    location.hash = encodeURIComponent(openid);
    who.textContent = label || openid;
    who.dataset.openid = openid;
    messages.textContent = "";
    document.querySelectorAll(".person").forEach(function (b) {
      b.classList.toggle("on", b.dataset.openid === openid);
    });
    loading = true;
    let history, inbox;
    try {
      [history, inbox] = await Promise.all([
        call("GET", "/simulator/history/" + encodeURIComponent(openid)),
        call("GET", "/simulator/inbox/" + encodeURIComponent(openid) + "?after=0"),
      ]);
    } finally {
      if (mine === generation) { loading = false; }
    }
    if (mine !== generation) { return; }
    const lines = [];
    history.messages.forEach(function (m) { lines.push({ at: m.at, order: 0, m: m }); });
    inbox.messages.forEach(function (m) { lines.push({ at: m.at, order: 1, m: m }); });
    lines.sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : a.order - b.order; });
    let newest = 0;
    lines.forEach(function (line) {
      if (line.order === 0) {
        const shown = line.m.type === "location" ? "［位置］" + line.m.text
          : line.m.type === "event:click" ? "［菜单］" + (menuLabels[line.m.text] || line.m.text)
          : line.m.type.indexOf("event:") === 0 ? "［" + line.m.type.slice(6) + "］"
          : line.m.type === "image" ? "［图片］"
          : line.m.text;
        bubble("me", shown);
        if (line.m.reply) { bubble("reply", line.m.reply); }
      } else {
        pushBubble(line.m);
        newest = Math.max(newest, line.m.id);
      }
    });
    lastInboxId = Math.max(lastInboxId, newest);
  }

  async function send(payload, shown, picture) {
    if (!current) { status.textContent = "请先选择一个人。"; return; }
    const mine = bubble("me", shown);
    if (picture) {
      const preview = document.createElement("img");
      preview.className = "pic";
      preview.alt = shown;
      preview.src = URL.createObjectURL(picture);
      mine.appendChild(preview);
    }
    try {
      const data = await call("POST", "/simulator/send", Object.assign({ openid: current }, payload));
      if (data.reply) { bubble("reply", data.reply); }
      else if (data.status !== 200) { bubble("system", "（/wechat 返回 " + data.status + "）"); }
    } catch (error) {
      bubble("system", "发送失败：" + error.message);
    }
    pollInbox();
  }

  document.querySelectorAll(".person").forEach(function (button) {
    button.addEventListener("click", function () { select(button.dataset.openid, button.dataset.label); });
  });
  document.getElementById("other").addEventListener("submit", function (event) {
    event.preventDefault();
    const openid = document.getElementById("other-openid").value.trim();
    if (openid) { select(openid, openid); }
  });
  document.getElementById("compose").addEventListener("submit", function (event) {
    event.preventDefault();
    const input = document.getElementById("text");
    const text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send({ type: "text", text: text }, text);
  });
  document.querySelectorAll("#menu button").forEach(function (button) {
    button.addEventListener("click", function () {
      send({ type: "click", key: button.dataset.key }, "［菜单］" + button.textContent);
    });
  });
  document.getElementById("location").addEventListener("click", function () {
    const label = document.getElementById("location-label").value.trim() || "3栋502";
    send({ type: "location", label: label }, "［位置］" + label);
  });
  document.getElementById("picture").addEventListener("change", function (event) {
    const input = event.target;
    const picture = input.files && input.files[0];
    input.value = "";
    if (!picture) { return; }
    const reader = new FileReader();
    reader.addEventListener("load", function () {
      send({ type: "image", data: reader.result }, "［图片］", picture);
    });
    reader.readAsDataURL(picture);
  });
  document.getElementById("seed").addEventListener("click", async function () {
    const data = await call("POST", "/simulator/seed", {});
    status.textContent = data.created.length ? "已生成：" + data.created.join("、") : "每个角色都已有人员。";
    if (data.created.length) { location.reload(); }
  });
  document.getElementById("run-due").addEventListener("click", async function () {
    try {
      const data = await call("POST", "/simulator/run-due", {});
      const d = data.duties;
      status.textContent = "回访 " + (d.visits || []).length + " 件，过期 " + (d.expired || []).length +
        " 件，督办 " + (d.sla || []).length + " 件；投递 " + data.delivered.sent + " 条。";
    } catch (error) {
      status.textContent = "执行失败：" + error.message;
    }
    pollInbox();
  });

  setInterval(pollInbox, 1500);
  const start = decodeURIComponent(location.hash.slice(1));
  if (start) {
    const known = document.querySelector('.person[data-openid="' + CSS.escape(start) + '"]');
    select(start, known ? known.dataset.label : start);
  }
})();
