/**
 * The local Slack's web page: one channel at a time with Block Kit messages and working
 * buttons, a thread pane, a composer (slash commands, messages, @mentions), a user switcher and
 * live updates over Server-Sent Events (polling every 500 ms while the stream is down). Plain
 * HTML and inline JS, no framework, nothing loaded from elsewhere.
 *
 * Stable hooks for browser tests: #user-select, #channel-select, #messages, #composer (+ #send),
 * #thread-pane, #thread-messages, #thread-composer (+ #thread-send), #thread-close, #notice;
 * messages are `.msg[data-ts]` with data-user, data-thread-ts and data-ephemeral; buttons are
 * `button.block-button` with data-action-id, data-block-id, data-value and their text; thread
 * links are `.replies[data-thread]` and `.reply-link[data-thread]`; <body data-version> changes
 * after every render.
 */

const STYLE = `
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d1c1d; background: #fff; }
#topbar { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #3f0e40; color: #fff; }
#topbar .team { font-weight: 700; margin-right: auto; }
#topbar select { font: inherit; padding: 2px 6px; }
main { display: flex; height: calc(100vh - 46px); }
#channel-pane { flex: 1; display: flex; flex-direction: column; min-width: 0; }
#channel-title { padding: 10px 16px; border-bottom: 1px solid #ddd; font-weight: 700; }
#messages, #thread-messages { flex: 1; overflow-y: auto; padding: 8px 0; }
.msg { padding: 6px 16px; position: relative; }
.msg:hover { background: #f8f8f8; }
.msg.ephemeral { background: #f4f9ff; border-left: 3px solid #1264a3; }
.msg.highlight { background: #fff8d6; }
.meta { font-size: 13px; color: #616061; }
.author { font-weight: 700; color: #1d1c1d; }
.badge { font-size: 10px; background: #e8e8e8; border-radius: 3px; padding: 0 4px; margin-left: 4px; color: #616061; }
.eph-note { font-size: 12px; color: #1264a3; }
.body { margin-top: 2px; word-wrap: break-word; }
.blk { margin: 4px 0; }
.blk.header { font-size: 18px; font-weight: 800; }
.blk.context { font-size: 12px; color: #616061; }
.blk.divider { border: 0; border-top: 1px solid #ddd; }
.section { display: flex; gap: 12px; justify-content: space-between; align-items: flex-start; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin-top: 4px; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; }
button.block-button { font: inherit; font-size: 14px; font-weight: 600; padding: 4px 12px; border-radius: 4px; border: 1px solid #bbb; background: #fff; cursor: pointer; }
button.block-button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
button.block-button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
button.block-button:disabled { opacity: 0.5; cursor: progress; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
code { background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px; padding: 0 3px; font-size: 13px; }
pre { background: #f6f6f6; border: 1px solid #ddd; border-radius: 4px; padding: 8px; white-space: pre-wrap; font-size: 13px; margin: 4px 0; }
blockquote { margin: 0; padding-left: 8px; border-left: 3px solid #ddd; }
.reactions { margin-top: 4px; display: flex; gap: 4px; }
.reaction { font-size: 12px; border: 1px solid #ddd; border-radius: 10px; padding: 0 6px; background: #f8f8f8; }
.replies, .reply-link { font-size: 13px; color: #1264a3; cursor: pointer; text-decoration: none; }
.reply-link { visibility: hidden; margin-left: 8px; }
.msg:hover .reply-link { visibility: visible; }
form.composer { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid #ddd; }
form.composer textarea { flex: 1; font: inherit; padding: 8px; border: 1px solid #bbb; border-radius: 6px; resize: none; }
form.composer button { font: inherit; font-weight: 600; padding: 0 16px; border-radius: 6px; border: 0; background: #007a5a; color: #fff; cursor: pointer; }
#thread-pane { width: 40%; max-width: 520px; border-left: 1px solid #ddd; display: flex; flex-direction: column; }
#thread-pane[hidden] { display: none; }
.thread-head { display: flex; justify-content: space-between; align-items: center; padding: 10px 16px; border-bottom: 1px solid #ddd; }
#thread-close { border: 0; background: none; font-size: 20px; cursor: pointer; }
#notice { position: fixed; bottom: 80px; left: 50%; transform: translateX(-50%); background: #1d1c1d; color: #fff; padding: 8px 14px; border-radius: 6px; font-size: 14px; }
.unsupported, .img { color: #616061; font-style: italic; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var EMOJI = { white_check_mark: '\u2705', heavy_check_mark: '\u2714\uFE0F', x: '\u274C', warning: '\u26A0\uFE0F',
    rotating_light: '\uD83D\uDEA8', red_circle: '\uD83D\uDD34', large_green_circle: '\uD83D\uDFE2',
    large_yellow_circle: '\uD83D\uDFE1', large_blue_circle: '\uD83D\uDD35', white_circle: '\u26AA',
    hourglass: '\u231B', hourglass_flowing_sand: '\u23F3', eyes: '\uD83D\uDC40', fire: '\uD83D\uDD25',
    rocket: '\uD83D\uDE80', moneybag: '\uD83D\uDCB0', money_with_wings: '\uD83D\uDCB8', gear: '\u2699\uFE0F',
    wrench: '\uD83D\uDD27', hammer_and_wrench: '\uD83D\uDEE0\uFE0F', broom: '\uD83E\uDDF9', bulb: '\uD83D\uDCA1',
    chart_with_upwards_trend: '\uD83D\uDCC8', chart_with_downwards_trend: '\uD83D\uDCC9', bar_chart: '\uD83D\uDCCA',
    floppy_disk: '\uD83D\uDCBE', zap: '\u26A1', skull: '\uD83D\uDC80', boom: '\uD83D\uDCA5', tada: '\uD83C\uDF89',
    stopwatch: '\u23F1\uFE0F', information_source: '\u2139\uFE0F', no_entry: '\u26D4', robot_face: '\uD83E\uDD16',
    pager: '\uD83D\uDCDF', bell: '\uD83D\uDD14', memo: '\uD83D\uDCDD', thumbsup: '\uD83D\uDC4D', '+1': '\uD83D\uDC4D',
    arrows_counterclockwise: '\uD83D\uDD04', repeat: '\uD83D\uDD01', pause_button: '\u23F8\uFE0F',
    arrow_forward: '\u25B6\uFE0F', stop_button: '\u23F9\uFE0F', question: '\u2753', thinking_face: '\uD83E\uDD14' };

  var params = new URLSearchParams(location.search);
  var state = null;
  var currentUser = params.get('user') || localStorage.getItem('localSlackUser') || '';
  var currentChannel = params.get('channel') || '';
  var openThread = params.get('thread') || '';
  var highlightTs = params.get('ts') || '';
  var refreshing = false;
  var again = false;
  var sseOpen = false;
  var noticeTimer = null;

  function emojiOf(name) { return Object.prototype.hasOwnProperty.call(EMOJI, name) ? EMOJI[name] : ''; }
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? '' : s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function emoji(s) {
    return s.replace(/:([a-z0-9_+-]+):/g, function (m, name) { return emojiOf(name) || m; });
  }
  function userName(id) { var u = state.users[id]; return u ? u.name : id; }
  function channelName(id) {
    for (var i = 0; i < state.channels.length; i++) if (state.channels[i].id === id) return state.channels[i].name;
    return id;
  }

  function slackToken(inner) {
    var bar = inner.indexOf('|');
    var target = bar >= 0 ? inner.slice(0, bar) : inner;
    var label = bar >= 0 ? inner.slice(bar + 1) : '';
    if (target.charAt(0) === '@') return '<span class="mention">@' + esc(userName(target.slice(1))) + '</span>';
    if (target.charAt(0) === '#') return '<span class="mention">#' + esc(label || channelName(target.slice(1))) + '</span>';
    if (target.indexOf('!subteam^') === 0) {
      var gid = target.slice(9);
      return '<span class="mention">' + esc(label || '@' + (state.usergroups[gid] || gid)) + '</span>';
    }
    if (target.charAt(0) === '!') {
      var word = target.slice(1).split('^')[0];
      if (word === 'date') return esc(label || target);
      return '<span class="mention">@' + esc(word) + '</span>';
    }
    if (/^(https?:|mailto:)/.test(target)) {
      return '<a href="' + esc(target) + '" target="_blank" rel="noopener">' + esc(label || target) + '</a>';
    }
    return esc('<' + inner + '>');
  }

  function mrkdwn(src) {
    var tokens = [];
    var codes = [];
    var s = String(src == null ? '' : src).replace(/<([^<>]+)>/g, function (m, inner) {
      tokens.push(slackToken(inner));
      return '\u0000' + (tokens.length - 1) + '\u0000';
    });
    s = esc(s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    s = s.replace(/\x60\x60\x60([\s\S]*?)\x60\x60\x60/g, function (m, code) {
      codes.push('<pre>' + code.replace(/^\n/, '') + '</pre>');
      return '\u0001' + (codes.length - 1) + '\u0001';
    });
    s = s.replace(/\x60([^\x60\n]+)\x60/g, function (m, code) {
      codes.push('<code>' + code + '</code>');
      return '\u0001' + (codes.length - 1) + '\u0001';
    });
    var edge = '(?=$|[\\s).,:;!?\u0000\u0001])';
    s = s.replace(new RegExp('(^|[\\s(\u0000\u0001])\\*([^*\\n]+)\\*' + edge, 'g'), '$1<b>$2</b>');
    s = s.replace(new RegExp('(^|[\\s(\u0000\u0001])_([^_\\n]+)_' + edge, 'g'), '$1<i>$2</i>');
    s = s.replace(new RegExp('(^|[\\s(\u0000\u0001])~([^~\\n]+)~' + edge, 'g'), '$1<s>$2</s>');
    s = s.split('\n').map(function (line) {
      return line.indexOf('&gt; ') === 0 ? '<blockquote>' + line.slice(5) + '</blockquote>' : line;
    }).join('\n');
    s = emoji(s).replace(/\n/g, '<br>');
    s = s.replace(/\u0001(\d+)\u0001/g, function (m, i) { return codes[+i]; });
    return s.replace(/\u0000(\d+)\u0000/g, function (m, i) { return tokens[+i]; });
  }

  function textObject(t) {
    if (!t) return '';
    return t.type === 'mrkdwn' ? mrkdwn(t.text) : emoji(esc(t.text));
  }

  function buttonHtml(el, blockId, m) {
    var label = el.text && el.text.text ? el.text.text : '';
    return '<button type="button" class="block-button' + (el.style ? ' ' + esc(el.style) : '') + '"' +
      ' data-action-id="' + esc(el.action_id || '') + '" data-block-id="' + esc(blockId) + '"' +
      ' data-value="' + esc(el.value == null ? '' : el.value) + '" data-ts="' + esc(m.ts) + '"' +
      (el.url ? ' data-url="' + esc(el.url) + '"' : '') + '>' + emoji(esc(label)) + '</button>';
  }

  function elementHtml(el, blockId, m) {
    if (!el) return '';
    if (el.type === 'button') return buttonHtml(el, blockId, m);
    if (el.type === 'image') return '<span class="img">[image: ' + esc(el.alt_text) + ']</span>';
    if (el.type === 'mrkdwn' || el.type === 'plain_text') return '<span>' + textObject(el) + '</span>';
    return '<span class="unsupported">[' + esc(el.type) + ']</span>';
  }

  function richText(block) {
    var out = '';
    (block.elements || []).forEach(function (section) {
      (section.elements || []).forEach(function (e) {
        if (e.type === 'text') out += esc(e.text);
        else if (e.type === 'user') out += '<span class="mention">@' + esc(userName(e.user_id)) + '</span>';
        else if (e.type === 'usergroup') out += '<span class="mention">@' + esc(state.usergroups[e.usergroup_id] || e.usergroup_id) + '</span>';
        else if (e.type === 'broadcast') out += '<span class="mention">@' + esc(e.range) + '</span>';
        else if (e.type === 'link') out += '<a href="' + esc(e.url) + '">' + esc(e.text || e.url) + '</a>';
        else if (e.type === 'emoji') out += emojiOf(e.name) || ':' + esc(e.name) + ':';
        else if (e.type === 'channel') out += '#' + esc(channelName(e.channel_id));
      });
      out += '<br>';
    });
    return out;
  }

  function blockHtml(b, m) {
    var id = b.block_id || '';
    var open = function (cls) { return '<div class="blk ' + cls + '" data-block-type="' + esc(b.type) + '" data-block-id="' + esc(id) + '">'; };
    switch (b.type) {
      case 'section': {
        var fields = (b.fields || []).map(function (f) { return '<div>' + textObject(f) + '</div>'; }).join('');
        return open('section') + '<div class="section-text">' + textObject(b.text) +
          (fields ? '<div class="fields">' + fields + '</div>' : '') + '</div>' +
          (b.accessory ? '<div class="accessory">' + elementHtml(b.accessory, id, m) + '</div>' : '') + '</div>';
      }
      case 'header': return open('header') + textObject(b.text) + '</div>';
      case 'context': return open('context') + (b.elements || []).map(function (e) { return elementHtml(e, id, m); }).join(' ') + '</div>';
      case 'divider': return '<hr class="blk divider" data-block-type="divider">';
      case 'actions': return open('actions') + (b.elements || []).map(function (e) { return elementHtml(e, id, m); }).join('') + '</div>';
      case 'image': return open('image') + '<span class="img">[image: ' + esc(b.alt_text) + ']</span></div>';
      case 'rich_text': return open('rich') + richText(b) + '</div>';
      case 'markdown': return open('markdown') + mrkdwn(b.text) + '</div>';
      default: return open('unsupported') + '<span class="unsupported">[' + esc(b.type) + ' block]</span></div>';
    }
  }

  function bodyHtml(m) {
    var blocks = m.blocks || [];
    var onlyRich = blocks.every(function (b) { return b.type === 'rich_text'; });
    if (blocks.length === 0 || onlyRich) return mrkdwn(m.text);
    return blocks.map(function (b) { return blockHtml(b, m); }).join('');
  }

  function timeOf(ts) {
    var d = new Date(parseFloat(ts) * 1000);
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function messageHtml(m, inThread) {
    var cls = 'msg' + (m.ephemeral ? ' ephemeral' : '') + (m.isBot ? ' bot' : '') + (m.ts === highlightTs ? ' highlight' : '');
    var html = '<div class="' + cls + '" data-ts="' + esc(m.ts) + '" data-user="' + esc(m.user) + '"' +
      (m.threadTs ? ' data-thread-ts="' + esc(m.threadTs) + '"' : '') +
      (m.ephemeral ? ' data-ephemeral="true"' : '') + '>';
    html += '<div class="meta"><span class="author">' + esc(userName(m.user)) + '</span>' +
      (m.isBot ? '<span class="badge">APP</span>' : '') + ' <span class="time">' + esc(timeOf(m.ts)) + '</span>' +
      (m.edited ? ' <span class="edited">(edited)</span>' : '') +
      (!inThread && !m.ephemeral && !m.threadTs ? '<a class="reply-link" data-thread="' + esc(m.ts) + '">Reply in thread</a>' : '') +
      '</div>';
    if (m.broadcast && !inThread) html += '<div class="eph-note">replied to a thread</div>';
    if (m.ephemeral) html += '<div class="eph-note">Only visible to you</div>';
    html += '<div class="body">' + bodyHtml(m) + '</div>';
    if (m.reactions.length > 0) {
      html += '<div class="reactions">' + m.reactions.map(function (r) {
        return '<span class="reaction" data-name="' + esc(r.name) + '">' + (emojiOf(r.name) || ':' + esc(r.name) + ':') + ' ' + r.count + '</span>';
      }).join('') + '</div>';
    }
    if (!inThread && m.replyCount > 0) {
      html += '<a class="replies" data-thread="' + esc(m.ts) + '">' + m.replyCount + (m.replyCount === 1 ? ' reply' : ' replies') + '</a>';
    }
    return html + '</div>';
  }

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }

  function renderInto(el, html) {
    var stick = atBottom(el);
    el.innerHTML = html;
    if (stick) el.scrollTop = el.scrollHeight;
  }

  function render() {
    var users = $('user-select');
    users.innerHTML = state.people.map(function (p) {
      return '<option value="' + esc(p.id) + '"' + (p.id === currentUser ? ' selected' : '') + '>' + esc(p.real_name) + '</option>';
    }).join('');
    var channels = $('channel-select');
    channels.innerHTML = state.channels.map(function (c) {
      return '<option value="' + esc(c.id) + '"' + (c.id === currentChannel ? ' selected' : '') + '>' +
        (c.kind === 'im' ? '@' : '#') + esc(c.name) + '</option>';
    }).join('');
    $('team-name').textContent = state.team;
    $('channel-title').textContent = (state.channel.kind === 'im' ? '@' : '#') + state.channel.name;
    $('composer').placeholder = state.channel.kind === 'im'
      ? 'Message @' + state.channel.name
      : 'Message #' + state.channel.name + ' \u2014 ' + state.commands.join(', ') + ' \u2026, @' + state.bot.name + ' \u2026';
    var top = state.messages.filter(function (m) { return !m.threadTs || m.broadcast; });
    renderInto($('messages'), top.map(function (m) { return messageHtml(m, false); }).join(''));
    var pane = $('thread-pane');
    if (openThread) {
      var thread = state.messages.filter(function (m) { return m.ts === openThread || m.threadTs === openThread; });
      pane.hidden = false;
      pane.setAttribute('data-thread', openThread);
      renderInto($('thread-messages'), thread.map(function (m) { return messageHtml(m, true); }).join(''));
    } else {
      pane.hidden = true;
      pane.removeAttribute('data-thread');
    }
    if (highlightTs) {
      var target = document.querySelector('.msg[data-ts="' + CSS.escape(highlightTs) + '"]');
      if (target) { target.scrollIntoView({ block: 'center' }); highlightTs = ''; }
    }
    document.body.setAttribute('data-version', String(state.version));
    document.body.setAttribute('data-user', currentUser);
    document.body.setAttribute('data-channel', currentChannel);
  }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var q = new URLSearchParams({ user: currentUser, channel: currentChannel });
    fetch('/page/state?' + q.toString()).then(function (r) { return r.json(); }).then(function (s) {
      state = s;
      currentUser = s.self;
      currentChannel = s.channel.id;
      render();
    }).catch(function () {}).then(function () {
      refreshing = false;
      if (again) { again = false; refresh(); }
    });
  }

  function notice(text) {
    var el = $('notice');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { el.hidden = true; }, 4000);
  }

  function post(path, body) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (r) { return r.json(); });
  }

  function send(textarea, threadTs) {
    var text = textarea.value.trim();
    if (!text) return;
    textarea.value = '';
    var body = { user: currentUser, channel: currentChannel, text: text };
    if (threadTs) body.threadTs = threadTs;
    post('/page/send', body).then(function (r) {
      if (!r.ok) notice(r.error || 'could not send');
      refresh();
    }).catch(function () { notice('could not reach the local Slack'); });
  }

  function bindComposer(formId, textareaId, threadOf) {
    var form = $(formId);
    var textarea = $(textareaId);
    form.addEventListener('submit', function (e) { e.preventDefault(); send(textarea, threadOf()); });
    textarea.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(textarea, threadOf()); }
    });
  }

  function click(button) {
    if (button.disabled) return;
    var url = button.getAttribute('data-url');
    if (url) window.open(url, '_blank', 'noopener');
    button.disabled = true;
    post('/page/click', {
      user: currentUser,
      channel: currentChannel,
      ts: button.getAttribute('data-ts'),
      actionId: button.getAttribute('data-action-id'),
      blockId: button.getAttribute('data-block-id'),
      value: button.getAttribute('data-value'),
    }).then(function (r) {
      if (!r.ok) notice(r.error ? r.error : 'The app did not respond (' + r.outcome + ')');
    }).catch(function () { notice('could not reach the local Slack'); }).then(function () {
      button.disabled = false;
      refresh();
    });
  }

  function setThread(ts) {
    openThread = ts;
    if (state) render();
  }

  document.addEventListener('click', function (e) {
    var target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    var button = target.closest('button.block-button');
    if (button) { click(button); return; }
    var link = target.closest('.replies, .reply-link');
    if (link) { e.preventDefault(); setThread(link.getAttribute('data-thread')); }
  });
  $('thread-close').addEventListener('click', function () { setThread(''); });
  $('user-select').addEventListener('change', function (e) {
    currentUser = e.target.value;
    localStorage.setItem('localSlackUser', currentUser);
    refresh();
  });
  $('channel-select').addEventListener('change', function (e) {
    currentChannel = e.target.value;
    openThread = '';
    refresh();
  });
  bindComposer('composer-form', 'composer', function () { return ''; });
  bindComposer('thread-form', 'thread-composer', function () { return openThread; });

  function connect() {
    var source = new EventSource('/page/events');
    source.addEventListener('open', function () { sseOpen = true; refresh(); });
    source.addEventListener('change', function () { refresh(); });
    source.addEventListener('error', function () { sseOpen = false; });
  }
  setInterval(function () { if (!sseOpen) refresh(); }, 500);
  connect();
  refresh();
})();
`;

const BODY = `
<header id="topbar">
  <span class="team" id="team-name">Local Slack</span>
  <label>Channel <select id="channel-select" aria-label="channel"></select></label>
  <label>You are <select id="user-select" aria-label="user"></select></label>
</header>
<main>
  <section id="channel-pane">
    <div id="channel-title"></div>
    <div id="messages" aria-live="polite"></div>
    <form id="composer-form" class="composer">
      <textarea id="composer" rows="2" aria-label="message"></textarea>
      <button id="send" type="submit">Send</button>
    </form>
  </section>
  <aside id="thread-pane" hidden>
    <div class="thread-head"><strong>Thread</strong><button id="thread-close" type="button" aria-label="close thread">&times;</button></div>
    <div id="thread-messages"></div>
    <form id="thread-form" class="composer">
      <textarea id="thread-composer" rows="2" aria-label="reply" placeholder="Reply&hellip;"></textarea>
      <button id="thread-send" type="submit">Reply</button>
    </form>
  </aside>
</main>
<div id="notice" role="status" hidden></div>
`;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderPage(title: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style></head>`,
    `<body>${BODY}<script>${SCRIPT}</script></body></html>`,
  ].join('\n');
}
