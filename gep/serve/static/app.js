/* gep serve: the planner page. Vanilla JS, no library, nothing fetched from outside this server.
 * Draws the district / township polygons (GeoJSON, WGS84) on an SVG, coloured by the chosen
 * measure, with a legend in 万元 / 亿元; a click opens the unit panel; a second view compares
 * two runs. Amounts arrive from the API in CNY (元). */
"use strict";

const SEQUENTIAL = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"];
const DIVERGING = ["#d7301f", "#fc8d59", "#f7f7f7", "#91cf60", "#1a9850"];
const METRIC_LABELS = {
  gep: "GEP（不变价）",
  gep_per_km2: "单位面积 GEP（不变价）",
  gep_r: "GEP-R（调节服务 GEP，不变价）",
  change: "GEP 变化（不变价，较上一核算年）",
  condition_effect: "生态状况效应（GEP 物量变化中剔除气象影响的部分，较上一核算年）",
  allocation: "生态补偿分配",
};
const STAGE_LABELS = { district: "区级", township: "乡镇级" };
const state = { runs: [], geo: {}, gep: null, allocation: null, selected: null };

const $ = (id) => document.getElementById(id);

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function showError(error) {
  const box = $("error");
  box.textContent = "出错：" + (error && error.message ? error.message : error);
  box.hidden = false;
}

/* An amount in CNY (元) for people: 亿元 from 1 亿 up, else 万元. */
function formatCny(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (Math.abs(value) >= 1e8) return (value / 1e8).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " 亿元";
  return (value / 1e4).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " 万元";
}

/* The display unit of a whole legend, one for all its classes: 亿元 only when every class
 * boundary reads well in it (none below 0.1 亿元), else 万元. */
function legendUnit(metric, breaks) {
  if (metric === "gep_per_km2") return { name: "万元/km²", divisor: 1e4 };
  const nonzero = breaks.map(Math.abs).filter((v) => v > 0);
  return nonzero.length && Math.min(...nonzero) >= 1e7 ? { name: "亿元", divisor: 1e8 } : { name: "万元", divisor: 1e4 };
}

function fillOptions(select, items, selected) {
  select.innerHTML = "";
  for (const [value, label] of items) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label;
    select.appendChild(option);
  }
  if (selected !== undefined) select.value = String(selected);
}

function runLabel(run) {
  const synthetic = run.synthetic ? "，合成数据" : "";
  return `${run.run_id}（${run.config_name}${synthetic}）`;
}

/* Equirectangular projection scaled by cos(latitude), fitted to the SVG's view box. */
function projection(features) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => { x0 = Math.min(x0, c[0]); x1 = Math.max(x1, c[0]); y0 = Math.min(y0, c[1]); y1 = Math.max(y1, c[1]); };
  for (const f of features) eachRing(f.geometry, (ring) => ring.forEach(visit));
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = Math.min(780 / ((x1 - x0) * k), 620 / (y1 - y0));
  const project = (c) => [10 + (c[0] - x0) * k * scale, 10 + (y1 - c[1]) * scale];
  project.inverse = (p) => [x0 + (p[0] - 10) / (k * scale), y1 - (p[1] - 10) / scale];
  return project;
}

function eachRing(geometry, visit) {
  if (!geometry) return;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const polygon of polygons) for (const ring of polygon) visit(ring);
}

function pathData(geometry, project) {
  const parts = [];
  eachRing(geometry, (ring) => {
    parts.push("M" + ring.map((c) => project(c).map((v) => v.toFixed(1)).join(",")).join("L") + "Z");
  });
  return parts.join("");
}

/* Quantile class breaks (or symmetric ones around 0 for a change). */
function classBreaks(values, diverging) {
  const sorted = values.filter((v) => v !== null && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return [];
  if (diverging) {
    const m = Math.max(...sorted.map(Math.abs)) || 1;
    return [-m, -m / 3, -m / 30, m / 30, m / 3, m];
  }
  const breaks = [0, 0.2, 0.4, 0.6, 0.8, 1].map((q) => sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))]);
  return breaks.filter((b, i) => i === 0 || b > breaks[i - 1]);  /* no empty classes */
}

function classOf(value, breaks) {
  for (let i = 1; i < breaks.length - 1; i++) if (value < breaks[i]) return i - 1;
  return Math.max(0, breaks.length - 2);
}

function metricValues() {
  const metric = $("metric").value;
  const values = {};
  if (metric === "allocation") {
    for (const row of state.allocation.rows) values[row.unit_id] = (values[row.unit_id] || 0) + row.amount_cny;
    return values;
  }
  const column = { gep: "gep_constant_cny", gep_per_km2: "gep_constant_cny_per_km2", gep_r: "gep_r_constant_cny", change: "change_constant_cny", condition_effect: "condition_effect_cny" }[metric];
  for (const row of state.gep.rows) values[row.unit_id] = row[column];
  return values;
}

/* Whole numbers from 100 up, two decimals below, two significant digits below 1 (no "0 – 0"). */
function legendNumber(value) {
  if (value !== 0 && Math.abs(value) < 1) return Number(value.toPrecision(2)).toLocaleString("zh-CN", { maximumSignificantDigits: 2 });
  return value.toLocaleString("zh-CN", { maximumFractionDigits: Math.abs(value) >= 100 ? 0 : 2 });
}

function drawLegend(metric, breaks, colours, unit) {
  const legend = $("legend");
  const allocationYears = state.allocation ? state.allocation.years.join("、") : "";
  const note = metric === "allocation" ? `（${allocationYears} 年）` : `（${$("year").value} 年）`;
  let html = `<div><strong>${METRIC_LABELS[metric]}${note}，单位：${unit.name}</strong></div>`;
  for (let i = 0; i < breaks.length - 1; i++) {
    const lo = legendNumber(breaks[i] / unit.divisor);
    const hi = legendNumber(breaks[i + 1] / unit.divisor);
    html += `<span class="row"><span class="swatch" style="background:${colours[i]}"></span>${lo} – ${hi}</span>`;
  }
  html += '<span class="row"><span class="swatch" style="background:#d0d0d0"></span>无数据</span>';
  legend.innerHTML = html;
}

function drawMap() {
  const level = $("level").value;
  const metric = $("metric").value;
  const geo = state.geo[level];
  const svg = $("map");
  const project = projection(geo.features);
  const values = metricValues();
  const numbers = Object.values(values).filter((v) => v !== null && v !== undefined);
  const diverging = metric === "change" || metric === "condition_effect";
  const colours = diverging ? DIVERGING : SEQUENTIAL;
  const breaks = classBreaks(numbers, diverging);
  svg.innerHTML = "";
  for (const feature of geo.features) {
    const id = feature.properties.unit_id;
    const value = values[id];
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", pathData(feature.geometry, project));
    path.setAttribute("fill-rule", "evenodd");
    path.setAttribute("fill", value === null || value === undefined ? "#d0d0d0" : colours[classOf(value, breaks)]);
    path.dataset.unitId = id;
    path.dataset.unitName = feature.properties.unit_name;
    if (id === state.selected) path.classList.add("selected");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${feature.properties.unit_name}：${formatCny(value)}`;
    path.appendChild(title);
    path.addEventListener("click", () => openUnit(id).catch(showError));
    svg.appendChild(path);
  }
  drawLegend(metric, breaks, colours, legendUnit(metric, breaks));
}

async function loadRun() {
  document.body.dataset.state = "loading";
  const run = $("run").value;
  const level = $("level").value;
  const runRecord = state.runs.find((r) => r.run_id === run);
  $("notice").hidden = !runRecord.synthetic;
  $("notice").textContent = "注意：本次运行的输入为合成示例数据，结果仅供演示，不代表北京市实际情况。";
  const keepYear = $("year").value;
  fillOptions($("year"), runRecord.years.map((y) => [y, `${y} 年`]), runRecord.years.includes(Number(keepYear)) ? keepYear : runRecord.years[runRecord.years.length - 1]);
  const [geo, gep, allocation] = await Promise.all([
    api(`/api/runs/${run}/units?level=${level}`),
    api(`/api/runs/${run}/gep?level=${level}&year=${$("year").value}`),
    api(`/api/runs/${run}/allocation?level=${level}`),
  ]);
  state.geo[level] = geo;
  state.gep = gep;
  state.allocation = allocation;
  drawMap();
  if (state.selected) await openUnit(state.selected, true);
  document.body.dataset.state = "ready";
}

async function reloadYear() {
  document.body.dataset.state = "loading";
  state.gep = await api(`/api/runs/${$("run").value}/gep?level=${$("level").value}&year=${$("year").value}`);
  drawMap();
  if (state.selected) await openUnit(state.selected, true);
  document.body.dataset.state = "ready";
}

function cell(text, numeric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "num";
  return td;
}

function fillTable(table, rows) {
  const body = table.querySelector("tbody");
  body.innerHTML = "";
  for (const row of rows) {
    const tr = document.createElement("tr");
    row.forEach(([text, numeric]) => tr.appendChild(cell(text, numeric)));
    body.appendChild(tr);
  }
}

async function openUnit(unitId, quiet) {
  const run = $("run").value;
  const year = Number($("year").value);
  let unit;
  try {
    unit = await api(`/api/runs/${run}/units/${unitId}`);
  } catch (error) {
    if (quiet) { state.selected = null; return; }
    throw error;
  }
  state.selected = unitId;
  document.querySelectorAll("#map path.selected").forEach((p) => p.classList.remove("selected"));
  const path = document.querySelector(`#map path[data-unit-id="${unitId}"]`);
  if (path) path.classList.add("selected");
  const panel = $("unit-panel");
  panel.dataset.unitId = unitId;
  $("unit-name").textContent = `${unit.unit_name}（${unit.level === "district" ? "区" : "乡镇街道"}，${unit.unit_id}）`;
  const gep = unit.gep.find((row) => row.year === year);
  $("unit-year").textContent = String(year);
  $("unit-gep").textContent = gep ? formatCny(gep.gep_constant_cny) : "—";
  $("unit-gep").dataset.cny = gep ? String(gep.gep_constant_cny) : "";
  $("unit-per-km2").textContent = gep && gep.gep_constant_cny_per_km2 !== null ? `${(gep.gep_constant_cny_per_km2 / 1e4).toLocaleString("zh-CN", { maximumFractionDigits: 2 })} 万元/km²` : "—";
  fillTable($("unit-services"), unit.services.filter((s) => s.year === year).map((s) => [[s.service_zh, false], [formatCny(s.value_constant_cny), true]]));
  fillTable($("unit-allocation"), unit.allocation.map((a) => [[String(a.year), false], [STAGE_LABELS[a.stage] || a.stage || "", false], [a.coefficient === null ? "—" : a.coefficient.toFixed(4), true], [formatCny(a.amount_cny), true]]));
}

function signed(value) {
  const text = formatCny(value);
  return value > 0 ? "+" + text : text;
}

async function compare() {
  document.body.dataset.state = "loading";
  const query = new URLSearchParams({ a: $("run-a").value, b: $("run-b").value, year: $("compare-year").value, level: $("compare-level").value });
  const diff = await api(`/api/diff?${query}`);
  fillTable($("compare-services"), diff.services.map((s) => [[s.service_zh, false], [formatCny(s.value_constant_cny_a), true], [formatCny(s.value_constant_cny_b), true], [signed(s.delta_constant_cny), true]]));
  const units = diff.units.slice().sort((x, y) => Math.abs(y.delta_gep_constant_cny || 0) - Math.abs(x.delta_gep_constant_cny || 0));
  fillTable($("compare-units"), units.map((u) => [[u.unit_id, false], [u.unit_name, false], [formatCny(u.gep_constant_cny_a), true], [formatCny(u.gep_constant_cny_b), true], [signed(u.delta_gep_constant_cny), true], [signed(u.delta_amount_cny), true]]));
  document.body.dataset.state = "ready";
}

function showView(name) {
  for (const view of ["map", "compare", "scenario"]) {
    $(`view-${view}`).hidden = name !== view;
    $(`tab-${view}`).classList.toggle("active", name === view);
  }
  if (name === "scenario") openScenario().catch(showError);
}

/* ---- what-if scenarios: a land-cover change within units or a polygon ---- */
const CLASS_ZH = { cropland: "耕地", forest: "林地", shrub: "灌木", grassland: "草地", water: "水体", "snow/ice": "冰雪", barren: "裸地", impervious: "不透水面", wetland: "湿地" };
const scenario = { geo: null, project: null, drawing: false, vertices: [], uploaded: null, run: null };

async function openScenario() {
  const runs = state.runs.filter((r) => (r.kind || "run") === "run");
  if (!runs.length) throw new Error("库中没有可作情景基准的核算运行（gep run 或 gep demo）");
  if (!$("sc-run").options.length) fillOptions($("sc-run"), runs.map((r) => [r.run_id, runLabel(r)]), runs[runs.length - 1].run_id);
  if (scenario.run !== $("sc-run").value) await loadScenarioRun();
}

async function loadScenarioRun() {
  const run = $("sc-run").value;
  const [classes, geo] = await Promise.all([api(`/api/runs/${run}/landcover-classes`), api(`/api/runs/${run}/units?level=township`)]);
  scenario.run = run;
  fillOptions($("sc-year"), classes.years.map((y) => [y, `${y} 年`]), classes.years[classes.years.length - 1]);
  const items = classes.classes.map((c) => [c.code, `${c.code} ${CLASS_ZH[c.name] || c.name}`]);
  fillOptions($("sc-from"), [["", "任意地类（仅多边形）"], ...items], 1);
  fillOptions($("sc-to"), items, 2);
  scenario.geo = geo;
  scenario.project = projection(geo.features);
  drawScenarioMap();
}

function selectedUnits() {
  return $("sc-units").value.split(/[,，\s]+/).map((u) => u.trim()).filter(Boolean);
}

function toggleUnit(id) {
  const units = selectedUnits();
  const at = units.indexOf(id);
  if (at >= 0) units.splice(at, 1); else units.push(id);
  $("sc-units").value = units.join(",");
  drawScenarioMap();
}

function svgPoint(svg, event) {
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const p = point.matrixTransform(svg.getScreenCTM().inverse());
  return [p.x, p.y];
}

function drawScenarioMap() {
  const svg = $("sc-map");
  const project = scenario.project;
  const chosen = new Set($("sc-mode").value === "units" ? selectedUnits() : []);
  svg.innerHTML = "";
  for (const feature of scenario.geo.features) {
    const id = feature.properties.unit_id;
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", pathData(feature.geometry, project));
    path.setAttribute("fill-rule", "evenodd");
    const parentChosen = chosen.has(String(feature.properties.parent_id));
    path.setAttribute("fill", chosen.has(id) || parentChosen ? "#f08c00" : "#e6efe9");
    path.dataset.unitId = id;
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${feature.properties.unit_name}（${id}）`;
    path.appendChild(title);
    path.addEventListener("click", () => { if (!scenario.drawing && $("sc-mode").value === "units") toggleUnit(id); });
    svg.appendChild(path);
  }
  const ring = scenario.vertices;
  if (ring.length) {
    const shape = document.createElementNS("http://www.w3.org/2000/svg", ring.length > 2 && !scenario.drawing ? "polygon" : "polyline");
    shape.setAttribute("points", ring.map((c) => project(c).map((v) => v.toFixed(1)).join(",")).join(" "));
    shape.setAttribute("fill", "rgba(214, 51, 108, 0.35)");
    shape.setAttribute("stroke", "#d6336c");
    shape.setAttribute("stroke-width", "2");
    shape.setAttribute("pointer-events", "none");
    shape.id = "sc-shape";
    svg.appendChild(shape);
  }
  $("sc-vertices").textContent = scenario.uploaded ? "已上传 GeoJSON" : `顶点：${ring.length}`;
}

function scenarioBody() {
  const body = { year: Number($("sc-year").value), to_class: Number($("sc-to").value) };
  if ($("sc-from").value !== "") body.from_class = Number($("sc-from").value);
  if ($("sc-mode").value === "units") {
    body.units = selectedUnits();
    if (!body.units.length) throw new Error("请填写或点击至少一个单元");
    return body;
  }
  if (scenario.uploaded) {
    body.polygon = scenario.uploaded;
  } else {
    if (scenario.vertices.length < 3) throw new Error("请在地图上绘制至少三个顶点的多边形，或上传 GeoJSON");
    body.polygon = { type: "Polygon", coordinates: [[...scenario.vertices, scenario.vertices[0]]] };
  }
  body.crs = $("sc-crs").value.trim() || "EPSG:4326";
  return body;
}

async function runScenario() {
  const status = $("sc-status");
  const body = scenarioBody();
  status.dataset.state = "running";
  status.textContent = "计算中……";
  const started = performance.now();
  const response = await fetch(`/api/runs/${$("sc-run").value}/scenarios?level=township`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const result = await response.json();
  if (!response.ok) {
    status.dataset.state = "error";
    status.textContent = "情景未运行：" + (result.detail || response.statusText);
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  $("sc-year-shown").textContent = String(result.year);
  $("sc-delta").textContent = signed(result.delta_gep_constant_cny);
  $("sc-delta").dataset.cny = String(result.delta_gep_constant_cny);
  $("sc-pixels").textContent = `改变 ${result.pixels_changed} 个像元（${result.area_changed_km2.toFixed(2)} km²）；用时 ${seconds} 秒；存为运行 ${result.run_id}`;
  fillTable($("sc-services"), result.services.filter((s) => s.delta_constant_cny !== 0).map((s) => [[s.service_zh, false], [signed(s.delta_constant_cny), true]]));
  const units = result.units.filter((u) => u.delta_gep_constant_cny !== 0 || u.delta_fen)
    .sort((a, b) => Math.abs(b.delta_gep_constant_cny) - Math.abs(a.delta_gep_constant_cny)).slice(0, 40);
  fillTable($("sc-units-table"), units.map((u) => [[u.unit_id, false], [u.unit_name, false], [signed(u.delta_gep_constant_cny), true], [u.delta_cny === null ? "—" : signed(u.delta_cny), true]]));
  status.dataset.state = "done";
  status.dataset.runId = result.run_id;
  status.textContent = "完成。";
  state.runs = (await api("/api/runs")).runs.filter((r) => r.kind !== "link");
}

function startScenarioForm() {
  $("sc-run").addEventListener("change", () => loadScenarioRun().catch(showError));
  $("sc-mode").addEventListener("change", () => {
    const units = $("sc-mode").value === "units";
    $("sc-units-box").hidden = !units;
    $("sc-polygon-box").hidden = units;
    drawScenarioMap();
  });
  $("sc-units").addEventListener("change", drawScenarioMap);
  $("sc-draw").addEventListener("click", () => {
    scenario.drawing = !scenario.drawing;
    if (scenario.drawing) { scenario.vertices = []; scenario.uploaded = null; }
    $("sc-draw").textContent = scenario.drawing ? "完成" : "在地图上绘制";
    drawScenarioMap();
  });
  $("sc-clear").addEventListener("click", () => { scenario.vertices = []; scenario.uploaded = null; $("sc-file").value = ""; drawScenarioMap(); });
  $("sc-map").addEventListener("click", (event) => {
    if (!scenario.drawing) return;
    scenario.vertices.push(scenario.project.inverse(svgPoint($("sc-map"), event)).map((v) => Number(v.toFixed(6))));
    drawScenarioMap();
  });
  $("sc-file").addEventListener("change", () => uploadPolygon().catch(showError));
  $("sc-go").addEventListener("click", () => runScenario().catch((error) => { $("sc-status").dataset.state = "error"; showError(error); }));
}

async function uploadPolygon() {
    const file = $("sc-file").files[0];
    if (!file) return;
    try {
      scenario.uploaded = JSON.parse(await file.text());
    } catch (error) {
      throw new Error("上传的文件不是有效的 JSON：" + error.message);
    }
    const named = scenario.uploaded.crs && scenario.uploaded.crs.properties && scenario.uploaded.crs.properties.name;
    if (named) $("sc-crs").value = named;
    scenario.vertices = [];
    drawScenarioMap();
}

async function start() {
  const body = await api("/api/runs");
  state.runs = body.runs.filter((r) => r.kind !== "link");  /* a `gep link` run has no map */
  if (!state.runs.length) throw new Error("库中还没有运行记录：先运行 gep demo 或 gep store append");
  const items = state.runs.map((r) => [r.run_id, runLabel(r)]);
  const newest = state.runs[state.runs.length - 1].run_id;
  fillOptions($("run"), items, newest);
  fillOptions($("run-a"), items, state.runs[0].run_id);
  fillOptions($("run-b"), items, newest);
  const years = [...new Set(state.runs.flatMap((r) => r.years))].sort();
  fillOptions($("compare-year"), years.map((y) => [y, `${y} 年`]), years[years.length - 1]);
  $("run").addEventListener("change", () => loadRun().catch(showError));
  $("level").addEventListener("change", () => { state.selected = null; loadRun().catch(showError); });
  $("year").addEventListener("change", () => reloadYear().catch(showError));
  $("metric").addEventListener("change", drawMap);
  $("compare-go").addEventListener("click", () => compare().catch(showError));
  $("tab-map").addEventListener("click", () => showView("map"));
  $("tab-compare").addEventListener("click", () => showView("compare"));
  $("tab-scenario").addEventListener("click", () => showView("scenario"));
  startScenarioForm();
  await loadRun();
}

start().catch(showError);
