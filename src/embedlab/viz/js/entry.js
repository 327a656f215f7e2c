// embedlab's offline projector: a regl-scatterplot view over data embedded in the page.
// Built into ../projector.bundle.js by `npm run build` (see build.sh); Python inlines it.
import createScatterplot from 'regl-scatterplot';

function decode(base64, Type) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return new Type(bytes.buffer);
}

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function normalise(coords, n) {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i += 1) {
    const x = coords[2 * i];
    const y = coords[2 * i + 1];
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const half = (Math.max(maxX - minX, maxY - minY) / 2) * 1.08 || 1;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    xs[i] = (coords[2 * i] - cx) / half;
    ys[i] = (coords[2 * i + 1] - cy) / half;
  }
  return { xs, ys };
}

export function start() {
  const data = JSON.parse(document.getElementById('embedlab-data').textContent);
  const n = data.keys.length;
  const { xs, ys } = normalise(decode(data.coords, Float32Array), n);
  const k = data.neighbours.k;
  const nnIds = decode(data.neighbours.ids, Int32Array);
  const nnScores = decode(data.neighbours.scores, Float32Array);
  const colorings = {};
  for (const [field, c] of Object.entries(data.colorings)) {
    colorings[field] = {
      ...c,
      z: c.kind === 'category' ? decode(c.codes, Int32Array) : decode(c.values, Float32Array),
    };
  }
  const index = new Map();
  const lower = new Map();
  data.keys.forEach((key, i) => {
    index.set(key, i);
    if (!lower.has(key.toLowerCase())) lower.set(key.toLowerCase(), i);
  });

  const canvas = document.getElementById('embedlab-canvas');
  const tooltip = document.getElementById('embedlab-tooltip');
  const info = document.getElementById('embedlab-info');
  const legend = document.getElementById('embedlab-legend');
  const search = document.getElementById('embedlab-search');
  const colorSelect = document.getElementById('embedlab-color');
  const { width, height } = canvas.getBoundingClientRect();
  const size = n > 50000 ? 2 : n > 5000 ? 3 : n > 500 ? 5 : 8;
  const scatterplot = createScatterplot({
    canvas,
    width,
    height,
    pointSize: size,
    backgroundColor: '#ffffff',
    pointColor: '#1f77b4',
    pointColorHover: '#000000',
    pointColorActive: '#000000',
    pointOutlineWidth: 3,
    pointSizeSelected: 6,
    opacityInactiveScale: 0.5,
    lassoColor: '#888888',
  });
  const hook = {
    ready: false, pointsDrawn: 0, selected: [], neighbours: [], errors: [], firstRenderMs: null,
  };
  window.embedlabProjector = hook;

  let mouse = [0, 0];
  canvas.addEventListener('mousemove', (event) => { mouse = [event.clientX, event.clientY]; });

  function describe(i) {
    const rows = [`<b>${escapeHtml(data.keys[i])}</b>`];
    if (data.metadata) {
      for (const field of data.metadata.fields) {
        const value = data.metadata.columns[field][i];
        if (value !== null && value !== undefined) {
          rows.push(`${escapeHtml(field)}: ${escapeHtml(String(value))}`);
        }
      }
    }
    return rows.join('<br>');
  }

  function showNeighbours(i) {
    const list = [];
    for (let j = 0; j < k; j += 1) {
      const other = nnIds[i * k + j];
      if (other >= 0) list.push({ key: data.keys[other], index: other, score: nnScores[i * k + j] });
    }
    hook.neighbours = list.map((item) => item.key);
    info.replaceChildren();
    info.append(el('div', { class: 'picked' }, data.keys[i]));
    const what = data.neighbours.exact ? 'exact' : 'approximate (HNSW)';
    info.append(el('div', { class: 'hint' },
      `nearest in the original ${data.dim}-d space (${data.neighbours.metric}, ${what}):`));
    const ol = el('ol', { id: 'embedlab-neighbours' });
    for (const item of list) {
      const li = el('li');
      const link = el('a', { href: '#', 'data-index': String(item.index) }, item.key);
      link.addEventListener('click', (event) => { event.preventDefault(); focus(item.index); });
      li.append(link, el('span', { class: 'score' }, ` ${item.score.toFixed(3)}`));
      ol.append(li);
    }
    info.append(ol);
  }

  function focus(i) {
    scatterplot.select([i]);
    // Centre on the point; zoom in to a fixed distance unless already closer.
    const distance = Math.min(scatterplot.get('camera').distance[0], 0.35);
    scatterplot.zoomToLocation([xs[i], ys[i]], distance, {
      transition: true, transitionDuration: 300,
    });
  }

  function find(text) {
    const query = text.trim();
    if (index.has(query)) return index.get(query);
    if (lower.has(query.toLowerCase())) return lower.get(query.toLowerCase());
    const prefix = query.toLowerCase();
    for (let i = 0; i < n; i += 1) if (data.keys[i].toLowerCase().startsWith(prefix)) return i;
    return -1;
  }

  hook.search = (text) => {
    const i = find(text);
    if (i < 0) {
      info.replaceChildren(el('div', { class: 'hint' }, `no key matches ${JSON.stringify(text)}`));
      return -1;
    }
    focus(i);
    return i;
  };
  hook.screenPosition = (i) => {
    const [x, y] = scatterplot.getScreenPosition(i);
    const box = canvas.getBoundingClientRect();
    return [box.left + x, box.top + y];
  };
  hook.cameraDistance = () => scatterplot.get('camera').distance[0];

  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') hook.search(search.value);
  });

  scatterplot.subscribe('pointOver', (i) => {
    tooltip.innerHTML = describe(i);
    tooltip.style.left = `${mouse[0] + 12}px`;
    tooltip.style.top = `${mouse[1] + 12}px`;
    tooltip.style.display = 'block';
  });
  scatterplot.subscribe('pointOut', () => { tooltip.style.display = 'none'; });
  scatterplot.subscribe('select', ({ points }) => {
    hook.selected = Array.from(points);
    if (points.length === 1) showNeighbours(points[0]);
  });
  scatterplot.subscribe('deselect', () => { hook.selected = []; });

  function drawLegend(field) {
    legend.replaceChildren();
    if (!field) return;
    const c = colorings[field];
    legend.append(el('div', { class: 'hint' }, field));
    if (c.kind === 'category') {
      c.labels.forEach((label, code) => {
        const row = el('div', { class: 'row' });
        const swatch = el('span', { class: 'swatch' });
        swatch.style.background = c.colors[code];
        row.append(swatch, document.createTextNode(`${label} (${c.counts[code]})`));
        legend.append(row);
      });
    } else {
      const bar = el('div', { class: 'ramp' });
      bar.style.background = `linear-gradient(to right, ${c.colors.join(',')})`;
      const scale = c.scale === 'log' ? ' (log scale)' : '';
      legend.append(bar, el('div', { class: 'row' }, `${c.low.toPrecision(3)} … ${c.high.toPrecision(3)}${scale}`));
    }
  }

  function pointsFor(field) {
    if (!field) return { x: xs, y: ys };
    return { x: xs, y: ys, z: colorings[field].z };
  }

  function colour(field) {
    const c = field ? colorings[field] : null;
    const options = c
      ? { colorBy: 'valueA', pointColor: c.colors, pointColorActive: '#000000' }
      : { colorBy: null, pointColor: '#1f77b4' };
    scatterplot.set(options);
    drawLegend(field);
    const selected = hook.selected;
    return scatterplot.draw(pointsFor(field), {
      zDataType: c && c.kind === 'number' ? 'continuous' : 'categorical',
      select: selected,
    });
  }

  for (const field of Object.keys(colorings)) colorSelect.append(el('option', { value: field }, field));
  colorSelect.value = data.colorBy || '';
  // One draw at a time: the scatter plot ignores a draw while the previous one runs (a
  // quick second change of colouring was dropped, with a console error), so changes queue.
  let drawing = Promise.resolve();
  function recolour(field) {
    drawing = drawing.then(() => colour(field), () => colour(field));
    return drawing;
  }
  colorSelect.addEventListener('change', () => { recolour(colorSelect.value); });

  // Labels on an overlay canvas: points in view, in input order (priority), skipping any
  // label that would overlap one already drawn. Only when few points are in view.
  const overlay = document.getElementById('embedlab-labels');
  const ctx = overlay.getContext('2d');
  function drawLabels() {
    const box = canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    if (overlay.width !== box.width * ratio) {
      overlay.width = box.width * ratio;
      overlay.height = box.height * ratio;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, box.width, box.height);
    // The selected points first, then the others in input order (for a word model: the
    // most frequent first); at most 3,000 candidates, so a huge view stays cheap.
    const inView = Array.from(scatterplot.get('pointsInView')).sort((a, b) => a - b);
    const candidates = hook.selected.concat(inView.slice(0, 3000));
    ctx.textBaseline = 'middle';
    const placed = [];
    // Cluster names first (found in the original space), centred on their anchor points,
    // bold on a white halo; point labels then keep clear of them.
    hook.clusterLabels = [];
    if (data.clusters) {
      ctx.font = 'bold 15px system-ui, sans-serif';
      ctx.lineWidth = 4;
      ctx.strokeStyle = '#ffffff';
      ctx.fillStyle = '#111111';
      data.clusters.names.forEach((name, code) => {
        const [x, y] = scatterplot.getScreenPosition(data.clusters.anchors[code]);
        if (x < 0 || y < 0 || x > box.width || y > box.height) return;
        const w = ctx.measureText(name).width;
        const rect = [x - w / 2, y - 22, x + w / 2, y - 4];
        if (placed.some((r) => rect[0] < r[2] && r[0] < rect[2] && rect[1] < r[3] && r[1] < rect[3])) {
          return;
        }
        placed.push(rect);
        ctx.strokeText(name, rect[0], y - 13);
        ctx.fillText(name, rect[0], y - 13);
        hook.clusterLabels.push(name);
      });
    }
    for (const i of candidates) {
      const picked = hook.selected.includes(i);
      ctx.font = picked ? 'bold 14px system-ui, sans-serif' : '12px system-ui, sans-serif';
      ctx.fillStyle = picked ? '#000000' : '#333333';
      const [x, y] = scatterplot.getScreenPosition(i);
      const w = ctx.measureText(data.keys[i]).width;
      const rect = [x + size / 2 + 3, y - 8, x + size / 2 + 3 + w, y + 8];
      if (placed.some((r) => rect[0] < r[2] && r[0] < rect[2] && rect[1] < r[3] && r[1] < rect[3])) {
        continue;
      }
      placed.push(rect);
      ctx.fillText(data.keys[i], rect[0], y);
    }
    hook.labelsDrawn = placed.length;
  }
  scatterplot.subscribe('draw', drawLabels);

  window.addEventListener('resize', () => {
    const box = canvas.getBoundingClientRect();
    scatterplot.set({ width: box.width, height: box.height });
  });

  const started = performance.now();
  recolour(data.colorBy || '').then(() => {
    hook.pointsDrawn = scatterplot.get('points').length;
    hook.firstRenderMs = performance.now() - started;
    hook.readyAtMs = performance.now();
    hook.ready = true;
    document.body.setAttribute('data-ready', 'true');
  }).catch((error) => { hook.errors.push(String(error)); throw error; });
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[ch]);
}
