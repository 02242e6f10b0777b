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
  change: "GEP 变化（不变价，较上一核算年）",
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
  return (c) => [10 + (c[0] - x0) * k * scale, 10 + (y1 - c[1]) * scale];
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
  const column = { gep: "gep_constant_cny", gep_per_km2: "gep_constant_cny_per_km2", change: "change_constant_cny" }[metric];
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
  const diverging = metric === "change";
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
  $("view-map").hidden = name !== "map";
  $("view-compare").hidden = name !== "compare";
  $("tab-map").classList.toggle("active", name === "map");
  $("tab-compare").classList.toggle("active", name === "compare");
}

async function start() {
  const body = await api("/api/runs");
  state.runs = body.runs;
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
  await loadRun();
}

start().catch(showError);
