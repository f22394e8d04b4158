// The schedules page: each schedule's cron, next run and last result, with pause, resume and
// delete buttons. A classic script that runs after panel.js and uses the helpers it leaves in
// window.OcaPanel; like it, it builds every node with textContent, never markup.
(function () {
  'use strict';
  if (document.body.getAttribute('data-page') !== 'schedules') return;
  var ui = window.OcaPanel;
  var el = ui.el;
  var app = document.getElementById('app');
  var body = el('tbody');
  var message = el('div');
  var notice = el('div', { id: 'schedule-notice' });
  var count = el('span', { className: 'muted', id: 'schedule-count' });
  var timer = null;
  var busy = false;
  var scrolled = false;
  var EMPTY =
    'No schedules. Add one with `openclaw-agent schedule add NAME --cron "0 3 * * *" -- run -e EXECUTOR -- COMMAND`.';

  // 'in 14h 3m' over the time in the schedule's own zone; '-' while paused.
  function nextRun(s) {
    if (s.paused) return [el('span', { className: 'muted', text: 'paused' })];
    if (!s.next_run_at) return [el('span', { className: 'muted', text: '-' })];
    return [
      el('span', { className: 'relative', title: s.next_run_at, text: ui.relative(s.next_run_at) }),
      el('div', { className: 'sub absolute', text: ui.absolute(s.next_run_at, s.tz) }),
    ];
  }
  // 'started 3f2a9c81' (linked) and when; 'never' before the first tick.
  function lastRun(s) {
    if (!s.last_fired_at) return [el('span', { className: 'muted', text: 'never' })];
    var result = s.last_result || '';
    var kind = /^(started|skipped|failed)/.exec(result);
    var children = [el('span', { className: 'result' + (kind ? ' ' + kind[1] : ''), text: ui.shorten(result, 80) })];
    if (s.last_task_id)
      children.push(
        ' ',
        el('a', {
          className: 'mono last-task',
          href: '/tasks/' + encodeURIComponent(s.last_task_id),
          title: s.last_task_id,
          text: s.last_task_id.slice(0, 8),
        }),
      );
    children.push(el('div', { className: 'sub', title: s.last_fired_at, text: ui.relative(s.last_fired_at) }));
    return children;
  }
  function actions(s) {
    if (ui.readOnly) return [];
    return [
      el('button', {
        type: 'button',
        'data-action': s.paused ? 'resume' : 'pause',
        text: s.paused ? 'Resume' : 'Pause',
        onclick: function (event) {
          act(event.currentTarget, 'POST', s.name, s.paused ? 'resume' : 'pause');
        },
      }),
      el('button', {
        type: 'button',
        className: 'danger',
        'data-action': 'delete',
        text: 'Delete',
        onclick: function (event) {
          if (confirm('Delete schedule "' + s.name + '"? The tasks it made stay.'))
            act(event.currentTarget, 'DELETE', s.name, '');
        },
      }),
    ];
  }
  function row(s) {
    return el('tr', { id: 'schedule-' + s.name, className: 'schedule', 'data-schedule': s.name }, [
      el('td', null, [
        el('strong', { className: 'name', text: s.name }),
        // Its tasks, by the label every tick's task gets.
        el('div', { className: 'sub' }, [
          el('a', {
            className: 'fired',
            href: '/?label=' + encodeURIComponent('schedule:' + s.name),
            text: 'fired ' + s.fired + (s.fired === 1 ? ' time' : ' times'),
          }),
        ]),
      ]),
      el('td', { className: 'cron' }, [el('code', { text: s.cron }), el('div', { className: 'sub', text: s.tz })]),
      el('td', { className: 'next' }, nextRun(s)),
      el('td', { className: 'last' }, lastRun(s)),
      el('td', { className: 'what', title: s.summary }, [
        el('span', { text: (ui.icons[s.task_type] || '') + ' ' + ui.shorten(s.summary, 60) }),
        el('div', { className: 'sub', text: 'on ' + s.executor }),
      ]),
      el('td', { className: 'overlap', text: s.overlap }),
      el('td', { className: 'state' }, [
        el('span', { className: 'status ' + (s.paused ? 'paused' : 'active'), text: s.paused ? 'paused' : 'active' }),
      ]),
      el('td', { className: 'actions' }, actions(s)),
    ]);
  }
  function render(list) {
    ui.clear(body);
    ui.clear(message);
    list.forEach(function (s) {
      body.appendChild(row(s));
    });
    count.textContent = list.length + (list.length === 1 ? ' schedule' : ' schedules');
    if (list.length === 0) message.appendChild(el('p', { className: 'muted', text: EMPTY }));
    // The row a task page links to (#schedule-NAME), once it exists.
    if (location.hash && !scrolled) {
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) {
        scrolled = true;
        target.scrollIntoView();
      }
    }
  }
  function act(button, method, name, verb) {
    button.disabled = true;
    busy = true;
    var path = '/api/schedules/' + encodeURIComponent(name) + (verb ? '/' + verb : '');
    ui.api(method, path, method === 'POST' ? {} : undefined)
      .then(function () {
        ui.clear(notice);
      })
      .catch(function (error) {
        ui.showError(notice, error);
      })
      .then(function () {
        busy = false;
        load();
      });
  }
  function load() {
    clearTimeout(timer);
    if (busy) return;
    ui.api('GET', '/api/schedules')
      .then(function (list) {
        if (!busy) render(list);
      })
      .catch(function (error) {
        ui.showError(message, error);
      })
      .then(function () {
        clearTimeout(timer);
        timer = setTimeout(load, document.hidden ? 30000 : 5000);
      });
  }

  ui.clear(app);
  app.appendChild(el('div', { className: 'page-head' }, [el('h1', { text: 'Schedules' }), count]));
  app.appendChild(notice);
  app.appendChild(
    el('table', { className: 'tasks schedules' }, [
      el('thead', null, [
        el('tr', null, [
          el('th', { text: 'Name' }),
          el('th', { text: 'Cron' }),
          el('th', { text: 'Next run' }),
          el('th', { text: 'Last run' }),
          el('th', { text: 'Task' }),
          el('th', { text: 'Overlap' }),
          el('th', { text: 'State' }),
          el('th', { text: '' }),
        ]),
      ]),
      body,
    ]),
  );
  app.appendChild(message);
  load();
})();
