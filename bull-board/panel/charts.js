// The panel's charts, as inline SVG: a task's duration against its earlier runs, an executor's
// last hours (a bar per task, and its queue depth), and the daily cost of Claude tasks. Every
// label is set with textContent: task names and commands are never parsed as markup.
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';

  // Builds an SVG element; `text` becomes its text, other props attributes.
  function svg(tag, props, children) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'text') node.textContent = String(value);
      else node.setAttribute(key, String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }
  function html(tag, props, text) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      node.setAttribute(key, String(props[key]));
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function tooltip(text) {
    return svg('title', { text: text });
  }

  // '4.2s', '3m 50s', '1h 05m'.
  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return (ms < 10000 ? (ms / 1000).toFixed(1) : String(s)) + 's';
    var m = Math.floor(s / 60);
    s = s % 60;
    if (m < 60) return m + 'm ' + (s < 10 ? '0' : '') + s + 's';
    var h = Math.floor(m / 60);
    m = m % 60;
    return h + 'h ' + (m < 10 ? '0' : '') + m + 'm';
  }
  function usd(amount) {
    return '$' + (amount > 0 && amount < 1 ? amount.toFixed(4) : amount.toFixed(2));
  }
  function hhmm(ms) {
    var d = new Date(ms);
    return (d.getHours() < 10 ? '0' : '') + d.getHours() + ':' + (d.getMinutes() < 10 ? '0' : '') + d.getMinutes();
  }

  // ---- a task against its earlier runs ----
  // 'usually 3m 50s (median of 12 runs), this one 4m 12s'.
  function historySentence(history) {
    var self = history.runs[history.runs.length - 1];
    var now =
      self.duration_ms === null
        ? 'this one has not started'
        : 'this one ' + duration(self.duration_ms) + (self.status === 'running' ? ' so far' : '');
    if (history.median_ms === null) return 'no earlier run completed; ' + now;
    return (
      'usually ' +
      duration(history.median_ms) +
      ' (median of ' +
      history.median_of +
      (history.median_of === 1 ? ' run' : ' runs') +
      '), ' +
      now
    );
  }

  /** The runs as bars (the task itself last, highlighted), the median as a dashed line, and the sentence. */
  function historyChart(history) {
    var box = html('div', { class: 'history-chart' });
    var runs = history.runs;
    var max = 1;
    runs.forEach(function (run) {
      if (run.duration_ms !== null && run.duration_ms > max) max = run.duration_ms;
    });
    var BAR = 18;
    var GAP = 6;
    var H = 64;
    var width = runs.length * (BAR + GAP);
    var chart = svg('svg', {
      class: 'chart',
      id: 'history-bars',
      width: width,
      height: H + 2,
      viewBox: '0 0 ' + width + ' ' + (H + 2),
      role: 'img',
      'aria-label': 'Duration of the last ' + runs.length + ' runs',
    });
    runs.forEach(function (run, index) {
      var ms = run.duration_ms === null ? 0 : run.duration_ms;
      var h = Math.max(2, Math.round((ms / max) * H));
      var current = index === runs.length - 1;
      var when = run.started_at ? new Date(run.started_at).toLocaleString() : 'not started';
      var bar = svg(
        'rect',
        {
          class: 'bar ' + run.status + (current ? ' current' : ''),
          x: index * (BAR + GAP),
          y: H - h,
          width: BAR,
          height: h,
          rx: 2,
          'data-task-id': run.task_id,
          'data-duration-ms': run.duration_ms === null ? '' : run.duration_ms,
          'data-status': run.status,
        },
        [
          tooltip(
            (current ? 'this run' : run.task_id.slice(0, 8)) +
              ' \u00B7 ' +
              run.status.replace('_', ' ') +
              (run.duration_ms === null ? '' : ' \u00B7 ' + duration(run.duration_ms)) +
              ' \u00B7 ' +
              when,
          ),
        ],
      );
      chart.appendChild(current ? bar : svg('a', { href: '/tasks/' + run.task_id }, [bar]));
    });
    if (history.median_ms !== null) {
      var y = H - Math.round((history.median_ms / max) * H);
      chart.appendChild(
        svg('line', { class: 'median', x1: 0, x2: width, y1: y, y2: y }, [
          tooltip('median ' + duration(history.median_ms)),
        ]),
      );
    }
    box.appendChild(chart);
    var words = historySentence(history);
    if (history.capped) words += ' (older runs not read: the search stopped at its limit)';
    box.appendChild(html('p', { id: 'history-summary', class: 'muted' }, words));
    return box;
  }

  // ---- an executor's last hours ----
  // Places each bar in the first lane free at its start, so that tasks run side by side show so.
  function lanesOf(items) {
    var ends = [];
    return items.map(function (item) {
      for (var lane = 0; lane < ends.length; lane++) if (ends[lane] <= item.start) break;
      ends[lane] = item.end;
      return lane;
    });
  }

  /** A bar per task that ran (start to end, running ones to now), coloured by outcome, over its queue depth. */
  function timelineChart(timeline, width) {
    var from = Date.parse(timeline.from);
    var to = Date.parse(timeline.to);
    var W = Math.max(320, Math.floor(width || 960));
    var LANE = 12;
    var DEPTH_H = 28;
    var x = function (ms) {
      return ((Math.max(from, Math.min(to, ms)) - from) / (to - from)) * W;
    };
    var ran = timeline.tasks
      .filter(function (t) {
        return t.started_at !== null;
      })
      .map(function (t) {
        var start = Date.parse(t.started_at);
        return { task: t, start: start, end: t.finished_at ? Date.parse(t.finished_at) : to };
      })
      .sort(function (a, b) {
        return a.start - b.start;
      });
    var lanes = lanesOf(ran);
    var laneCount = Math.max(1, Math.max.apply(null, lanes.concat([0])) + 1);
    var barsH = laneCount * LANE;
    var top = 14;
    var H = top + barsH + 6 + DEPTH_H + 2;
    var chart = svg('svg', {
      class: 'chart timeline',
      viewBox: '0 0 ' + W + ' ' + H,
      width: W,
      height: H,
      role: 'img',
      'aria-label': 'Tasks of ' + timeline.executor + ' since ' + new Date(from).toLocaleTimeString(),
    });
    for (var t = Math.ceil(from / 3600000) * 3600000; t < to; t += 3600000) {
      chart.appendChild(svg('line', { class: 'tick', x1: x(t), x2: x(t), y1: 10, y2: H }));
      chart.appendChild(svg('text', { class: 'tick-label', x: x(t) + 3, y: 9, text: hhmm(t) }));
    }
    ran.forEach(function (item, index) {
      var task = item.task;
      var left = x(item.start);
      var what = task.name || task.summary;
      chart.appendChild(
        svg('a', { href: '/tasks/' + task.task_id }, [
          svg(
            'rect',
            {
              class: 'bar ' + task.status,
              x: left,
              y: top + lanes[index] * LANE,
              width: Math.max(2, x(item.end) - left),
              height: LANE - 3,
              rx: 2,
              'data-task-id': task.task_id,
              'data-status': task.status,
            },
            [
              tooltip(
                what.slice(0, 200) +
                  ' \u00B7 ' +
                  task.status.replace('_', ' ') +
                  ' \u00B7 ' +
                  duration(item.end - item.start) +
                  ' \u00B7 ' +
                  hhmm(item.start) +
                  '\u2013' +
                  (task.finished_at ? hhmm(item.end) : 'now'),
              ),
            ],
          ),
        ]),
      );
    });
    // The queue depth as a step area under the bars.
    var points = timeline.queue_depth;
    var maxDepth = 0;
    points.forEach(function (p) {
      if (p.depth > maxDepth) maxDepth = p.depth;
    });
    var base = H - 2;
    var scale = maxDepth === 0 ? 0 : DEPTH_H / maxDepth;
    var d = 'M0 ' + base;
    points.forEach(function (p, i) {
      var px = x(Date.parse(p.at));
      var prev = i === 0 ? 0 : points[i - 1].depth;
      d += ' L' + px.toFixed(1) + ' ' + (base - prev * scale).toFixed(1);
      d += ' L' + px.toFixed(1) + ' ' + (base - p.depth * scale).toFixed(1);
    });
    var last = points.length ? points[points.length - 1].depth : 0;
    d += ' L' + W + ' ' + (base - last * scale).toFixed(1) + ' L' + W + ' ' + base + ' Z';
    chart.appendChild(
      svg('path', { class: 'depth', d: d, 'data-max-depth': maxDepth }, [
        tooltip('tasks waiting to start (at most ' + maxDepth + ')'),
      ]),
    );
    var box = html('div', { class: 'timeline-box', 'data-executor': timeline.executor });
    var head = html('div', { class: 'timeline-head' });
    head.appendChild(html('span', { class: 'name' }, timeline.executor));
    head.appendChild(
      html(
        'span',
        { class: 'muted' },
        ran.length +
          (ran.length === 1 ? ' task' : ' tasks') +
          ' ran \u00B7 queue depth at most ' +
          maxDepth +
          (timeline.capped ? ' \u00B7 only the newest ' + timeline.scanned + ' tasks read' : ''),
      ),
    );
    box.appendChild(head);
    box.appendChild(chart);
    return box;
  }

  // ---- what Claude tasks cost per day ----
  function costChart(cost) {
    var days = cost.days;
    var max = 0;
    days.forEach(function (day) {
      if (day.cost_usd > max) max = day.cost_usd;
    });
    var BAR = 28;
    var GAP = 8;
    var H = 70;
    var LABEL = 14;
    var width = days.length * (BAR + GAP);
    var chart = svg('svg', {
      class: 'chart cost',
      id: 'cost-bars',
      width: width,
      height: H + LABEL,
      viewBox: '0 0 ' + width + ' ' + (H + LABEL),
      role: 'img',
      'aria-label': 'Claude cost per day',
    });
    days.forEach(function (day, index) {
      var h = max === 0 ? 0 : Math.max(day.cost_usd > 0 ? 2 : 0, Math.round((day.cost_usd / max) * H));
      chart.appendChild(
        svg(
          'rect',
          {
            class: 'bar cost',
            x: index * (BAR + GAP),
            y: H - h,
            width: BAR,
            height: h,
            rx: 2,
            'data-date': day.date,
            'data-cost-usd': day.cost_usd,
            'data-tasks': day.tasks,
          },
          [tooltip(day.date + ': ' + usd(day.cost_usd) + ' (' + day.tasks + (day.tasks === 1 ? ' task)' : ' tasks)'))],
        ),
      );
      chart.appendChild(
        svg('text', {
          class: 'tick-label',
          x: index * (BAR + GAP) + BAR / 2,
          y: H + LABEL - 2,
          'text-anchor': 'middle',
          text: day.date.slice(8),
        }),
      );
    });
    var box = html('div', { class: 'cost-box' });
    box.appendChild(chart);
    box.appendChild(
      html(
        'p',
        { class: 'muted', id: 'cost-summary' },
        usd(cost.total_usd) +
          ' over ' +
          days.length +
          ' days' +
          (cost.capped ? ' (only the newest ' + cost.scanned + ' tasks read)' : ''),
      ),
    );
    return box;
  }

  window.OcaCharts = { history: historyChart, timeline: timelineChart, cost: costChart, duration: duration, usd: usd };
})();
