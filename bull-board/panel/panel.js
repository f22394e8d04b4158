(function () {
  'use strict';
  var meta = function (name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') : '';
  };
  var CSRF = meta('oca-csrf');
  var READ_ONLY = meta('oca-read-only') === '1';
  var STATUSES = [
    'blocked',
    'scheduled',
    'queued',
    'running',
    'completed',
    'failed',
    'killed',
    'timed_out',
    'lost',
    'cancelled',
  ];
  var ICONS = { claude_code: '\uD83E\uDD16', shell_command: '\u2699\uFE0F' };
  var ENDED = { completed: 1, failed: 1, killed: 1, timed_out: 1, lost: 1, cancelled: 1 };
  var app = document.getElementById('app');

  // Builds an element; strings become text nodes, never markup.
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props)
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === undefined || value === null || value === false) return;
        if (key === 'text') node.textContent = String(value);
        else if (key === 'className') node.className = value;
        else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, String(value));
      });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && CSRF) headers['x-csrf-token'] = CSRF;
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    }).then(function (response) {
      if (response.status === 401) {
        location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
        throw new Error('log in first');
      }
      if (response.status === 204) return null;
      return response.json().then(function (json) {
        if (!response.ok) throw new Error(json && json.error ? json.error : 'HTTP ' + response.status);
        return json;
      });
    });
  }

  function shorten(text, max) {
    var one = String(text || '').replace(/\s*\n\s*/g, ' \u23CE ');
    return one.length > max ? one.slice(0, max - 1) + '\u2026' : one;
  }
  // charts.js runs first and formats durations for both ('4.2s', '3m 50s', '1h 05m').
  function duration(ms) {
    return ms === null || ms === undefined ? '-' : window.OcaCharts.duration(ms);
  }
  function usd(amount) {
    return window.OcaCharts.usd(amount);
  }
  function when(iso) {
    if (!iso) return '-';
    var d = new Date(iso);
    var age = Date.now() - d.getTime();
    var text = age < 86400000 ? d.toLocaleTimeString() : d.toLocaleString();
    return text;
  }
  // '3m', '5h 12m', '2d 4h': a span of time in its two largest units.
  function span(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm';
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    return Math.floor(h / 24) + 'd' + (h % 24 ? ' ' + (h % 24) + 'h' : '');
  }
  // 'in 5h 12m' or '3m ago'.
  function relative(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    return ms >= 0 ? 'in ' + span(ms) : span(ms) + ' ago';
  }
  // A date and time in the browser's zone, or in `tz` (an IANA name) when given and known.
  function absolute(iso, tz) {
    var options = { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
    if (tz) options.timeZone = tz;
    try {
      return new Date(iso).toLocaleString(undefined, options) + (tz ? ' ' + tz : '');
    } catch (error) {
      if (!tz || !(error instanceof RangeError)) throw error;
      return absolute(iso);
    }
  }
  // 'waiting for usage limit (resets 20:00 UTC)' while a Claude task waits for one (the same words as the CLI's).
  function limitNote(task) {
    var until = task.limit && task.limit.until;
    if (!until || ENDED[task.status] || new Date(until).getTime() <= Date.now()) return document.createTextNode('');
    var today = until.slice(0, 10) === new Date().toISOString().slice(0, 10);
    return el('span', {
      className: 'limit-note muted',
      text:
        ' waiting for usage limit (resets ' + (today ? '' : until.slice(0, 10) + ' ') + until.slice(11, 16) + ' UTC)',
    });
  }
  function statusBadge(status) {
    return el('span', { className: 'status ' + status, text: status.replace('_', ' ') });
  }
  // '⏳ waiting for task 3f2a9c81 (build) to complete' under a task that has not started.
  function waitNote(task) {
    if (!task.waiting_for || ENDED[task.status]) return null;
    return el('div', { className: 'wait-note', text: '\u23F3 waiting for ' + task.waiting_for });
  }
  function what(task) {
    return task.name || task.command || task.prompt || '';
  }
  function claudeBrief(task) {
    var c = task.claude;
    if (!c) return '-';
    var turns = c.num_turns !== undefined ? c.num_turns : c.turns || 0;
    var cost = c.total_cost_usd !== undefined ? ' \u00B7 ' + usd(c.total_cost_usd) : '';
    return turns + (turns === 1 ? ' turn' : ' turns') + cost;
  }
  function showError(node, error) {
    clear(node);
    node.appendChild(el('p', { className: 'error', role: 'alert', text: error.message || String(error) }));
  }

  // ---- the executors, each with its pause switch ----
  // A strip of executors that keeps itself up to date; `first` gets the list once, when it arrives.
  function executorStrip(first) {
    var strip = el('div', { className: 'executors', id: 'executors', 'aria-label': 'Executors' });
    var problem = el('span', { className: 'error', role: 'alert' });
    var busy = false;
    function chip(e) {
      var children = [
        el('span', { className: 'name', text: e.name }),
        el('span', { className: 'muted', text: e.type }),
        el('span', { className: 'state', text: e.paused ? 'paused' : 'active' }),
      ];
      // No live worker: its tasks wait until one starts.
      if (e.served === false)
        children.push(
          el('span', {
            className: 'no-worker',
            text: 'no worker',
            title:
              'No live worker serves ' +
              e.name +
              ': its tasks wait. Start one: openclaw-agent worker --executor ' +
              e.name,
          }),
        );
      if (!READ_ONLY)
        children.push(
          el('button', {
            type: 'button',
            className: 'switch',
            role: 'switch',
            'aria-checked': e.paused ? 'true' : 'false',
            'aria-label': 'Pause ' + e.name,
            title: e.paused ? 'Paused: running tasks go on, new ones wait. Click to resume.' : 'Click to pause',
            onclick: function (event) {
              toggle(e, event.currentTarget);
            },
          }),
        );
      return el('span', { className: 'executor' + (e.paused ? ' paused' : ''), 'data-executor': e.name }, children);
    }
    function render(executors) {
      clear(strip);
      strip.appendChild(el('span', { className: 'muted', text: 'Executors' }));
      executors.forEach(function (e) {
        strip.appendChild(chip(e));
      });
      strip.appendChild(problem);
    }
    function toggle(e, button) {
      button.disabled = true;
      busy = true;
      api('POST', '/api/executors/' + encodeURIComponent(e.name) + '/' + (e.paused ? 'resume' : 'pause'), {})
        .then(function (changed) {
          problem.textContent = '';
          strip.replaceChild(chip(changed), button.parentNode);
        })
        .catch(function (error) {
          button.disabled = false;
          problem.textContent = error.message || String(error);
        })
        .then(function () {
          busy = false;
        });
    }
    function load() {
      if (busy) {
        setTimeout(load, 1000);
        return;
      }
      api('GET', '/api/executors')
        .then(function (executors) {
          if (first) first(executors);
          first = null;
          if (!busy) render(executors);
        })
        .catch(function () {})
        .then(function () {
          setTimeout(load, document.hidden ? 30000 : 5000);
        });
    }
    load();
    return strip;
  }

  // ---- what each executor did in the last hours, and what Claude cost per day ----
  var TIMELINE_HOURS = 6;
  var COST_DAYS = 14;
  function activity() {
    var timelines = el('div', { id: 'timelines' });
    var cost = el('div', { id: 'claude-cost' });
    var box = el('details', { className: 'activity', id: 'activity', open: 'open' }, [
      el('summary', { className: 'section', text: 'Last ' + TIMELINE_HOURS + ' hours' }),
      timelines,
      el('h2', { className: 'section', text: 'Claude cost per day, last ' + COST_DAYS + ' days' }),
      cost,
    ]);
    var last = null;
    // Draws the timelines at the width they have now (again on a resize, or when unfolded).
    function draw() {
      if (!last || !box.open) return;
      clear(timelines);
      last.forEach(function (timeline) {
        timelines.appendChild(window.OcaCharts.timeline(timeline, timelines.clientWidth - 2));
      });
    }
    box.addEventListener('toggle', draw);
    var resizing = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizing);
      resizing = setTimeout(draw, 200);
    });
    var loaded = false;
    // Unfolded after a load was skipped: load now.
    box.addEventListener('toggle', function () {
      if (box.open && !loaded) load();
    });
    function load() {
      // Folded, or in a tab nobody looks at: read nothing, look again later.
      if (!box.open || document.hidden) {
        loaded = false;
        setTimeout(load, 30000);
        return;
      }
      loaded = true;
      var drawn = api('GET', '/api/timelines?hours=' + TIMELINE_HOURS)
        .then(function (all) {
          last = all;
          draw();
        })
        .catch(function (error) {
          showError(timelines, error);
        });
      var costed = api('GET', '/api/stats/claude-cost?days=' + COST_DAYS)
        .then(function (days) {
          clear(cost);
          cost.appendChild(window.OcaCharts.cost(days));
        })
        .catch(function (error) {
          showError(cost, error);
        });
      Promise.all([drawn, costed]).then(function () {
        setTimeout(load, 30000);
      });
    }
    load();
    return box;
  }

  // ---- the list of tasks ----
  function listPage() {
    var params = new URLSearchParams(location.search);
    var filters = {
      q: params.get('q') || '',
      status: params.get('status') || '',
      executor: params.get('executor') || '',
      type: params.get('type') || '',
      label: params.get('label') || '',
    };
    var cursors = [];
    var cursor = '';
    var next = null;
    var timer = null;
    var loading = false;
    var body = el('tbody');
    var message = el('div');
    var pageInfo = el('span', { className: 'muted' });
    var newer = el('button', {
      type: 'button',
      text: '\u2190 Newer',
      onclick: function () {
        cursor = cursors.pop() || '';
        load();
      },
    });
    var older = el('button', {
      type: 'button',
      text: 'Older \u2192',
      onclick: function () {
        if (next) {
          cursors.push(cursor);
          cursor = next;
          load();
        }
      },
    });

    function select(name, label, options) {
      var node = el(
        'select',
        {
          name: name,
          'aria-label': label,
          onchange: function () {
            filters[name] = node.value;
            restart();
          },
        },
        [el('option', { value: '', text: label })].concat(
          options.map(function (o) {
            return el('option', { value: o[0], text: o[1] });
          }),
        ),
      );
      node.value = filters[name];
      return node;
    }
    var search = el('input', {
      type: 'search',
      name: 'q',
      placeholder: 'Search name, command, prompt\u2026',
      'aria-label': 'Search',
    });
    search.value = filters.q;
    var debounce = null;
    search.addEventListener('input', function () {
      clearTimeout(debounce);
      debounce = setTimeout(function () {
        filters.q = search.value.trim();
        restart();
      }, 250);
    });
    var label = el('input', { type: 'text', name: 'label', placeholder: 'label', size: 10, 'aria-label': 'Label' });
    label.value = filters.label;
    label.addEventListener('change', function () {
      filters.label = label.value.trim();
      restart();
    });
    var executorSelect = select('executor', 'all executors', []);
    var strip = executorStrip(function (executors) {
      executors.forEach(function (e) {
        executorSelect.appendChild(el('option', { value: e.name, text: e.name + ' (' + e.type + ')' }));
      });
      executorSelect.value = filters.executor;
    });

    clear(app);
    app.appendChild(strip);
    app.appendChild(activity());
    app.appendChild(
      el('div', { className: 'toolbar' }, [
        search,
        select(
          'status',
          'all statuses',
          STATUSES.map(function (s) {
            return [s, s.replace('_', ' ')];
          }),
        ),
        select('type', 'all types', [
          ['claude_code', ICONS.claude_code + ' Claude'],
          ['shell_command', ICONS.shell_command + ' Command'],
        ]),
        executorSelect,
        label,
      ]),
    );
    app.appendChild(
      el('table', { className: 'tasks' }, [
        el('thead', null, [
          el('tr', null, [
            el('th', { text: '' }),
            el('th', { text: 'Task' }),
            el('th', { text: 'Executor' }),
            el('th', { text: 'Status' }),
            el('th', { text: 'Started' }),
            el('th', { className: 'num', text: 'Duration' }),
            el('th', { className: 'num', text: 'Exit' }),
            el('th', { className: 'num', text: 'Turns / cost' }),
            el('th', { text: 'ID' }),
          ]),
        ]),
        body,
      ]),
    );
    app.appendChild(message);
    app.appendChild(el('div', { className: 'pager' }, [newer, older, pageInfo]));

    function restart() {
      cursors = [];
      cursor = '';
      var q = new URLSearchParams();
      Object.keys(filters).forEach(function (k) {
        if (filters[k]) q.set(k, filters[k]);
      });
      history.replaceState(null, '', location.pathname + (q.toString() ? '?' + q.toString() : ''));
      load();
    }
    function row(task) {
      var href = '/tasks/' + task.task_id;
      return el(
        'tr',
        {
          className: 'task',
          'data-task-id': task.task_id,
          onclick: function (event) {
            if (event.target.tagName !== 'A') location.href = href;
          },
        },
        [
          el('td', { className: 'icon', title: task.task_type, text: ICONS[task.task_type] || '?' }),
          el('td', { className: 'what', title: what(task) }, [el('a', { href: href, text: shorten(what(task), 90) })]),
          el('td', { text: task.executor }),
          el('td', { className: 'state' }, [statusBadge(task.status), limitNote(task), waitNote(task)]),
          el('td', { title: task.started_at || '', text: when(task.started_at) }),
          el('td', { className: 'num', text: duration(task.duration_ms) }),
          el('td', { className: 'num', text: task.exit_code === null ? '-' : String(task.exit_code) }),
          el('td', { className: 'num', text: claudeBrief(task) }),
          el('td', { className: 'mono muted', text: task.task_id.slice(0, 8) }),
        ],
      );
    }
    function load() {
      clearTimeout(timer);
      if (loading) {
        timer = setTimeout(load, 200);
        return;
      }
      loading = true;
      var q = new URLSearchParams();
      Object.keys(filters).forEach(function (k) {
        if (filters[k]) q.set(k, filters[k]);
      });
      q.set('limit', '50');
      if (cursor) q.set('cursor', cursor);
      api('GET', '/api/tasks?' + q.toString())
        .then(function (page) {
          clear(body);
          clear(message);
          page.tasks.forEach(function (task) {
            body.appendChild(row(task));
          });
          if (page.tasks.length === 0)
            message.appendChild(
              el('p', {
                className: 'muted',
                text: page.next_cursor ? 'No matches on this page; look at older tasks.' : 'No tasks match.',
              }),
            );
          next = page.next_cursor;
          older.disabled = !next;
          newer.disabled = cursors.length === 0;
          pageInfo.textContent = 'page ' + (cursors.length + 1);
        })
        .catch(function (error) {
          showError(message, error);
        })
        .then(function () {
          loading = false;
          timer = setTimeout(load, document.hidden ? 10000 : 2000);
        });
    }
    load();
  }

  // ---- one task: the record and its live log ----
  function taskPage(id) {
    var rawMode = new URLSearchParams(location.search).get('raw') === '1';
    var head = el('div', { className: 'task-head' });
    var facts = el('div', { className: 'facts', id: 'facts' });
    var waits = el('div', { id: 'waits' });
    var plan = el('dl', { className: 'plan', id: 'plan', hidden: true });
    var record = el('dl', { className: 'record' });
    var notice = el('div');
    var historyBox = el('section', { className: 'history', id: 'history', hidden: true });
    var logBox = el('div', { className: 'log', id: 'log', role: 'log', 'aria-live': 'off' });
    var logState = el('span', { className: 'muted', id: 'log-state', text: 'connecting\u2026' });
    var logTools = el('div', { className: 'log-tools' });
    var logHead = el('div', { className: 'log-head' }, [el('strong', { text: 'Output' }), logState, logTools]);
    var changes = el('section', { id: 'changes', hidden: true });
    clear(app);
    [
      head,
      facts,
      waits,
      plan,
      notice,
      historyBox,
      logHead,
      logBox,
      changes,
      el('details', { className: 'raw-record', id: 'raw-record' }, [
        el('summary', { className: 'section', text: 'Raw record' }),
        record,
      ]),
    ].forEach(function (n) {
      app.appendChild(n);
    });
    var task = null;
    var dependencies = {};
    var executors = {};
    var streaming = false;
    var diffShown = false;
    var historyFor = null;
    var expanded = {};

    function field(name, value) {
      if (value === undefined) return;
      var text = value === null ? '-' : typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value);
      record.appendChild(el('dt', { text: name }));
      record.appendChild(el('dd', { 'data-field': name, text: text }));
    }
    // A long command or prompt shows on one line, cut; a click shows all of it, another cuts it again.
    function clamped(key, className, text) {
      var node = el('span', {
        className: className + ' clamp' + (expanded[key] ? ' expanded' : ''),
        title: expanded[key] ? 'Click to fold' : 'Click to show all',
        text: text,
        onclick: function () {
          expanded[key] = !expanded[key];
          node.classList.toggle('expanded', expanded[key]);
          node.title = expanded[key] ? 'Click to fold' : 'Click to show all';
        },
      });
      return node;
    }
    function renderTask() {
      clear(head);
      clear(record);
      var command = task.command !== undefined ? task.command : task.prompt;
      var title = el('div', { className: 'title' }, [
        el('h1', null, [
          el('span', { className: 'icon', title: task.task_type, text: ICONS[task.task_type] || '' }),
          task.name ? el('span', { className: 'what', text: task.name }) : clamped('what', 'what mono', command || ''),
        ]),
        task.name ? el('div', { className: 'command' }, [clamped('command', 'mono', command || '')]) : null,
      ]);
      head.appendChild(title);
      head.appendChild(statusBadge(task.status));
      head.appendChild(limitNote(task));
      clear(waits);
      var note = waitNote(task);
      if (note) waits.appendChild(note);
      if (!READ_ONLY && !ENDED[task.status])
        head.appendChild(
          el('button', { type: 'button', className: 'danger', id: 'kill', text: 'Kill', onclick: kill }),
        );
      if (!READ_ONLY && ENDED[task.status])
        head.appendChild(el('button', { type: 'button', id: 'retry', text: 'Retry', onclick: retry }));
      if (task.task_type === 'claude_code')
        head.appendChild(
          el('a', {
            href: location.pathname + (rawMode ? '' : '?raw=1'),
            text: rawMode ? 'transcript' : 'raw stream-json',
          }),
        );
      renderFacts();
      renderPlan();
      Object.keys(task).forEach(function (key) {
        if (key === 'claude' && task.claude)
          Object.keys(task.claude).forEach(function (k) {
            field('claude.' + k, task.claude[k]);
          });
        else field(key, task[key]);
      });
    }
    // A time as '3m ago' with the date and time beside it, small, and in full in its tooltip.
    function moment(iso) {
      return [
        el('span', { className: 'rel', title: iso, text: relative(iso) }),
        el('span', { className: 'abs muted', text: ' ' + absolute(iso) }),
      ];
    }
    function chips(className, items) {
      return el(
        'ul',
        { className: 'chips ' + className },
        items.map(function (item) {
          return el('li', { className: item.className, title: item.title, text: item.text });
        }),
      );
    }
    // What an operator reads first: where it ran, how it ended, how long it took, when; its tries,
    // deliveries and labels; for Claude the model, turns, tokens and cost. Empty facts are left out.
    function renderFacts() {
      clear(facts);
      var fact = function (key, label, children) {
        facts.appendChild(
          el('div', { className: 'fact', 'data-fact': key }, [
            el('span', { className: 'k', text: label }),
            el('span', { className: 'v' }, children),
          ]),
        );
      };
      var executor = executors[task.executor];
      var where = [el('span', { className: 'name', text: task.executor })];
      if (executor && executor.host) where.push(el('span', { className: 'muted', text: ' on ' + executor.host }));
      if (task.executor_type !== task.executor)
        where.push(el('span', { className: 'muted', text: ' (' + task.executor_type + ')' }));
      // `served` comes with worker presence: said only when the server knows no worker takes its tasks.
      if (executor && executor.served === false && !ENDED[task.status])
        where.push(el('span', { className: 'no-worker', text: ' no worker' }));
      fact('executor', 'Executor', where);
      if (task.exit_code !== null)
        fact('exit', 'Exit', [
          el('span', { className: task.exit_code === 0 ? 'ok' : 'bad', text: 'exit ' + task.exit_code }),
        ]);
      else if (task.signal) fact('exit', 'Exit', [el('span', { className: 'bad', text: 'signal ' + task.signal })]);
      if (task.duration_ms !== null)
        fact('duration', 'Duration', [duration(task.duration_ms) + (task.status === 'running' ? ' so far' : '')]);
      if (task.started_at) fact('started', 'Started', moment(task.started_at));
      else if (task.created_at) fact('created', 'Queued', moment(task.created_at));
      if (task.finished_at) fact('ended', 'Ended', moment(task.finished_at));
      if (task.status === 'queued' && task.queue_position !== null && task.queue_position !== undefined)
        fact('queue', 'In queue', ['#' + task.queue_position]);
      var attempts = task.attempts || [];
      if (attempts.length > 1 || task.attempt > 1) {
        var tries = attempts.map(function (a) {
          return {
            className: 'attempt ' + a.outcome,
            title: a.error || '',
            text:
              '#' +
              a.attempt +
              ' ' +
              a.outcome.replace('_', ' ') +
              (a.exit_code !== null ? ' (' + a.exit_code + ')' : ''),
          };
        });
        if (!ENDED[task.status])
          tries.push({ className: 'attempt ' + task.status, text: '#' + task.attempt + ' ' + task.status });
        fact('attempts', tries.length + ' attempts', [chips('attempts', tries)]);
      }
      var deliveries = (task.webhooks || [])
        .map(function (w) {
          return {
            className: 'delivery ' + w.state,
            title: w.error || (w.status ? 'HTTP ' + w.status : ''),
            text: 'webhook ' + w.target + ': ' + w.state,
          };
        })
        .concat(
          (task.notifiers || []).map(function (n) {
            return {
              className: 'delivery ' + n.state,
              title: n.error || n.target,
              text: n.name + ': ' + n.state,
            };
          }),
        );
      if (deliveries.length) fact('deliveries', 'Deliveries', [chips('deliveries', deliveries)]);
      if (task.labels && task.labels.length)
        fact('labels', 'Labels', [
          chips(
            'labels',
            task.labels.map(function (l) {
              return { className: 'label', text: l };
            }),
          ),
        ]);
      var c = task.claude;
      if (c) {
        if (c.model) fact('model', 'Model', [el('span', { className: 'mono', text: c.model })]);
        var turns = c.num_turns !== undefined ? c.num_turns : c.turns;
        if (turns !== undefined) fact('turns', 'Turns', [String(turns)]);
        if (c.input_tokens !== undefined || c.output_tokens !== undefined)
          fact('tokens', 'Tokens', [
            (c.input_tokens || 0).toLocaleString() + ' in \u00B7 ' + (c.output_tokens || 0).toLocaleString() + ' out',
          ]);
        if (c.total_cost_usd !== undefined) fact('cost', 'Cost', [usd(c.total_cost_usd)]);
      }
      if (task.error) facts.appendChild(el('p', { className: 'task-error error', id: 'task-error', text: task.error }));
    }
    // This task's duration against the last runs of the same name: a bar each, and the median.
    function loadHistory() {
      historyFor = task.status;
      return api('GET', '/api/tasks/' + id + '/history')
        .then(function (history) {
          clear(historyBox);
          historyBox.hidden = history.runs.length < 2;
          if (historyBox.hidden) return;
          historyBox.appendChild(el('h2', { className: 'section', text: 'This run against the last ones' }));
          historyBox.appendChild(window.OcaCharts.history(history));
        })
        .catch(function () {});
    }
    // When and after what the task runs: the tasks it waits for (linked), its start time, priority,
    // concurrency key and schedule; hidden for a task that has none of these.
    function renderPlan() {
      clear(plan);
      var row = function (name, key, children) {
        plan.appendChild(el('dt', { text: name }));
        plan.appendChild(el('dd', { 'data-plan': key }, children));
      };
      if (task.after && task.after.length) {
        var links = [];
        task.after.forEach(function (dep, index) {
          var known = dependencies[dep];
          if (index > 0) links.push(', ');
          links.push(el('a', { href: '/tasks/' + dep, className: 'mono', title: dep, text: dep.slice(0, 8) }));
          if (known) {
            if (known.name) links.push(' ' + shorten(known.name, 60));
            links.push(' ');
            links.push(statusBadge(known.status));
          }
        });
        links.push(
          el('span', { className: 'muted', text: task.after_any ? ' (any end will do)' : ' (each must complete)' }),
        );
        row('After', 'after', links);
      }
      if (task.run_at)
        row('Start at', 'run_at', [
          el('span', { title: task.run_at, text: absolute(task.run_at) }),
          el('span', { className: 'muted', text: ' (' + relative(task.run_at) + ')' }),
        ]);
      if (task.priority !== null && task.priority !== undefined)
        row('Priority', 'priority', [
          String(task.priority),
          el('span', { className: 'muted', text: ' (1 runs first)' }),
        ]);
      if (task.concurrency_key)
        row('Concurrency key', 'concurrency_key', [
          el('span', { className: 'mono', text: task.concurrency_key }),
          el('span', {
            className: 'muted',
            text: ' (at most ' + (task.concurrency_limit || 1) + ' running at once)',
          }),
        ]);
      if (task.schedule)
        row('Schedule', 'schedule', [
          el('a', { href: '/schedules#schedule-' + encodeURIComponent(task.schedule), text: task.schedule }),
        ]);
      plan.hidden = !plan.firstChild;
    }
    // The tasks this one runs after, for their names and statuses (an expired one stays a bare id).
    function loadDependencies() {
      var ids = (task.after || []).slice(0, 20);
      return Promise.all(
        ids.map(function (dep) {
          return api('GET', '/api/tasks/' + encodeURIComponent(dep)).then(
            function (t) {
              dependencies[dep] = t;
            },
            function () {},
          );
        }),
      );
    }
    // A worktree task's changes against its base: the files, then the diff, coloured, as text.
    function loadDiff() {
      return fetch('/api/tasks/' + id + '/diff', { credentials: 'same-origin' })
        .then(function (response) {
          return response.text().then(function (text) {
            if (!response.ok) throw new Error(JSON.parse(text).error || 'HTTP ' + response.status);
            renderDiff(text);
          });
        })
        .catch(function (error) {
          changes.hidden = false;
          showError(changes, error);
        });
    }
    function renderDiff(text) {
      clear(changes);
      changes.hidden = false;
      var git = task.git;
      var files = [];
      var lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      lines.forEach(function (line) {
        var m = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
        if (m) files.push({ path: m[2], add: 0, del: 0 });
        else if (files.length && line.charAt(0) === '+' && line.indexOf('+++ ') !== 0) files[files.length - 1].add++;
        else if (files.length && line.charAt(0) === '-' && line.indexOf('--- ') !== 0) files[files.length - 1].del++;
      });
      var summary =
        files.length +
        ' file' +
        (files.length === 1 ? '' : 's') +
        ' changed on ' +
        git.branch +
        ' (from ' +
        git.base +
        ' ' +
        git.base_sha.slice(0, 7) +
        ')';
      changes.appendChild(
        el('div', { className: 'changes-head' }, [
          el('strong', { text: 'Changes' }),
          el('span', { className: 'muted', id: 'changes-summary', text: summary }),
          el('button', { type: 'button', text: 'Refresh', onclick: loadDiff }),
        ]),
      );
      changes.appendChild(
        el(
          'ul',
          { className: 'files', id: 'changed-files' },
          files.map(function (f) {
            return el('li', null, [
              el('span', { className: 'mono', text: f.path }),
              el('span', { className: 'add', text: '+' + f.add }),
              el('span', { className: 'del', text: '-' + f.del }),
            ]);
          }),
        ),
      );
      changes.appendChild(
        el(
          'div',
          { className: 'diff', id: 'diff' },
          lines.map(function (line) {
            var c = line.charAt(0);
            var kind = /^(diff --git|index |new file|deleted file|similarity|rename |Binary files)/.test(line)
              ? 'meta'
              : line.indexOf('@@') === 0
                ? 'hunk'
                : c === '+' && line.indexOf('+++ ') !== 0
                  ? 'add'
                  : c === '-' && line.indexOf('--- ') !== 0
                    ? 'del'
                    : line.indexOf('+++ ') === 0 || line.indexOf('--- ') === 0
                      ? 'meta'
                      : '';
            return el('div', { className: 'line' + (kind ? ' ' + kind : ''), text: line });
          }),
        ),
      );
    }
    function refresh() {
      return api('GET', '/api/tasks/' + id)
        .then(function (t) {
          task = t;
          return loadDependencies();
        })
        .then(function () {
          renderTask();
          if (historyFor === null || (ENDED[task.status] && historyFor !== task.status)) loadHistory();
          if (task.git && !diffShown && ENDED[task.status]) {
            diffShown = true;
            loadDiff();
          }
          if (!streaming) {
            streaming = true;
            follow();
          }
          if (!ENDED[task.status]) setTimeout(refresh, 2000);
        })
        .catch(function (error) {
          showError(notice, error);
          setTimeout(refresh, 5000);
        });
    }
    function kill() {
      if (!confirm('Kill this task?')) return;
      var button = document.getElementById('kill');
      if (button) button.disabled = true;
      api('POST', '/api/tasks/' + id + '/kill', {})
        .then(function (result) {
          clear(notice);
          notice.appendChild(el('p', { className: 'muted', text: 'Kill: ' + result.result.replace('-', ' ') }));
          return refresh();
        })
        .catch(function (error) {
          showError(notice, error);
        });
    }
    function retry() {
      api('POST', '/api/tasks/' + id + '/retry', {})
        .then(function (created) {
          location.href = '/tasks/' + created.task_id;
        })
        .catch(function (error) {
          showError(notice, error);
        });
    }

    // The log: an AnsiTerminal turns output into styled lines; finished lines are appended once,
    // the open line (the one a \r progress bar rewrites) is redrawn in place. Each line carries its
    // number (shown by CSS, so it is not part of the text); a search marks the lines that match.
    var term = new window.AnsiTerminal();
    var open = el('div', { className: 'line current', 'data-n': 1 });
    logBox.appendChild(open);
    var MAX_LINES = 10000;
    var scheduled = false;
    var lineCount = 0;
    var following = true;
    var placedAt = 0;
    var query = '';
    var matchCount = 0;
    var searchBox = el('input', {
      type: 'search',
      id: 'log-search',
      placeholder: 'Find in output\u2026',
      'aria-label': 'Find in output',
    });
    var matches = el('span', { className: 'muted', id: 'log-matches', 'aria-live': 'polite' });
    var onlyMatching = el('input', {
      type: 'checkbox',
      id: 'log-only',
      onchange: function () {
        logBox.classList.toggle('only-matching', onlyMatching.checked);
      },
    });
    var followButton = el('button', {
      type: 'button',
      id: 'log-follow',
      title: 'Scroll with new output as it arrives',
      onclick: function () {
        setFollowing(!following);
        if (following) toEnd();
      },
    });
    logTools.appendChild(searchBox);
    logTools.appendChild(matches);
    logTools.appendChild(el('label', { className: 'muted' }, [onlyMatching, ' only matching lines']));
    logTools.appendChild(followButton);
    logTools.appendChild(
      el('button', {
        type: 'button',
        id: 'log-end',
        text: 'Jump to end',
        onclick: function () {
          setFollowing(true);
          toEnd();
        },
      }),
    );
    logTools.appendChild(
      el('a', {
        id: 'log-download',
        href: '/api/tasks/' + id + '/logs/file',
        download: 'task-' + id.slice(0, 8) + '.log',
        text: 'Download raw log',
      }),
    );
    function setFollowing(on) {
      following = on;
      followButton.setAttribute('aria-pressed', on ? 'true' : 'false');
      followButton.textContent = on ? 'Following' : 'Follow';
    }
    setFollowing(true);
    function toEnd() {
      logBox.scrollTop = logBox.scrollHeight;
      placedAt = logBox.scrollTop;
    }
    // Scrolling up stops following; scrolling back to the end starts it again.
    logBox.addEventListener('scroll', function () {
      var atEnd = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
      if (atEnd && !following) setFollowing(true);
      else if (!atEnd && following && logBox.scrollTop < placedAt - 4) setFollowing(false);
    });
    function markMatch(line) {
      var hit = query !== '' && line.textContent.toLowerCase().indexOf(query) >= 0;
      line.classList.toggle('match', hit);
      return hit;
    }
    function showMatches() {
      matches.textContent = query === '' ? '' : matchCount + (matchCount === 1 ? ' matching line' : ' matching lines');
    }
    function search() {
      query = searchBox.value.toLowerCase();
      logBox.classList.toggle('searching', query !== '');
      matchCount = 0;
      Array.prototype.forEach.call(logBox.childNodes, function (line) {
        if (markMatch(line) && line !== open) matchCount++;
      });
      showMatches();
    }
    var searchTimer = null;
    searchBox.addEventListener('input', function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(search, 120);
    });
    // Enter goes to the next matching line after the one at the top of the view.
    searchBox.addEventListener('keydown', function (event) {
      if (event.key !== 'Enter') return;
      search();
      var hits = logBox.querySelectorAll('.line.match');
      for (var i = 0; i < hits.length; i++)
        if (hits[i].offsetTop > logBox.scrollTop + 4) {
          setFollowing(false);
          logBox.scrollTop = hits[i].offsetTop - 8;
          return;
        }
      if (hits.length) logBox.scrollTop = hits[0].offsetTop - 8;
    });
    function spans(parent, segments) {
      segments.forEach(function (segment) {
        var span = document.createElement('span');
        span.textContent = segment.text;
        var s = segment.style;
        var colors = term.colorsOf(s);
        if (colors.fg) span.style.color = colors.fg;
        if (colors.bg) span.style.backgroundColor = colors.bg;
        if (s.bold) span.style.fontWeight = 'bold';
        if (s.dim) span.style.opacity = '0.7';
        if (s.italic) span.style.fontStyle = 'italic';
        if (s.underline || s.strike)
          span.style.textDecoration = (s.underline ? 'underline ' : '') + (s.strike ? 'line-through' : '');
        parent.appendChild(span);
      });
    }
    function flush() {
      scheduled = false;
      term.takeCompleted().forEach(function (segments) {
        lineCount++;
        var line = el('div', { className: 'line', 'data-n': lineCount });
        spans(line, segments);
        if (markMatch(line)) matchCount++;
        logBox.insertBefore(line, open);
      });
      while (logBox.childNodes.length > MAX_LINES) {
        if (logBox.firstChild.classList.contains('match')) matchCount--;
        logBox.removeChild(logBox.firstChild);
      }
      clear(open);
      open.setAttribute('data-n', String(lineCount + 1));
      spans(open, term.currentLine());
      markMatch(open);
      showMatches();
      if (following) toEnd();
    }
    function schedule() {
      if (scheduled) return;
      scheduled = true;
      (window.requestAnimationFrame || setTimeout)(flush);
      setTimeout(function () {
        if (scheduled) flush();
      }, 100);
    }
    function follow() {
      var transcript = task.task_type === 'claude_code' && !rawMode;
      var source = new EventSource('/api/tasks/' + id + '/logs' + (transcript ? '?view=transcript' : ''));
      var write = function (prefix, suffix) {
        return function (event) {
          term.write(prefix + JSON.parse(event.data) + suffix);
          schedule();
          logState.textContent = 'live';
        };
      };
      source.addEventListener('stdout', write('', ''));
      source.addEventListener('stderr', write('', ''));
      source.addEventListener('system', write('\x1b[2;3m[openclaw-agent] ', '\x1b[22;23m'));
      source.addEventListener('end', function (event) {
        source.close();
        var end = JSON.parse(event.data);
        logState.textContent =
          'ended: ' +
          end.status +
          (end.exit_code !== null ? ' (exit ' + end.exit_code + ')' : '') +
          (end.error ? ' \u2014 ' + end.error : '');
        setTimeout(refresh, 200);
      });
      source.addEventListener('open', function () {
        logState.textContent = 'live';
      });
      source.addEventListener('error', function () {
        if (source.readyState === EventSource.CLOSED) logState.textContent = 'disconnected (reload to retry)';
        else logState.textContent = 'reconnecting\u2026';
      });
    }
    api('GET', '/api/executors')
      .then(function (list) {
        list.forEach(function (e) {
          executors[e.name] = e;
        });
        if (task) renderFacts();
      })
      .catch(function () {});
    refresh();
  }

  // What the page scripts of other pages (schedules.js) share with this one.
  window.OcaPanel = {
    el: el,
    clear: clear,
    api: api,
    shorten: shorten,
    relative: relative,
    absolute: absolute,
    showError: showError,
    readOnly: READ_ONLY,
    icons: ICONS,
  };
  var page = document.body.getAttribute('data-page');
  if (page === 'task') taskPage(document.body.getAttribute('data-task-id'));
  else if (page === 'list') listPage();
})();
