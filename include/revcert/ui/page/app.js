// The certified-revenue page. Every figure shown is a published, certified row from the API:
// amounts arrive as exact decimal strings and are shown as such, never recomputed (totals and
// percentages are published rows too); charts turn them into numbers only to place bars and lines.
// Published text (business units, run ids, summaries) is data, never markup: the page builds its
// elements with textContent, and the chart tooltips (HTML) escape every value they show.
"use strict";

const STEPS = [
  ["starting_mrr", "Starting MRR"], ["new", "New"], ["expansion", "Expansion"], ["contraction", "Contraction"],
  ["churn", "Churn"], ["winback", "Winback"], ["ending_mrr", "Ending MRR"],
];
// The bridge's figures of a month: its steps, then the two beside them.
const BRIDGE_FIGURES = [...STEPS, ["net_new_mrr", "Net new MRR"], ["recognized_revenue", "Recognised revenue"]];
const COLORS = { up: "#1f7a45", down: "#c0392b", total: "#2f6fde" };
const charts = {};
const state = { months: [], bridge: null, metrics: null, cohorts: [], history: [], shadows: null, shops: [],
  shopDays: [], reconciliation: null, drill: {}, customer: null };

const $ = (id) => document.getElementById(id);

// One element, its attributes and its children (strings become text nodes, never HTML).
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function money(text) {
  // Group the integer digits of an exact decimal string, keeping every digit.
  const negative = text.startsWith("-");
  const [whole, cents] = (negative ? text.slice(1) : text).split(".");
  return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + (cents || "00");
}

const monthLabel = (iso) => iso.slice(0, 7);

// The month holding the snapshot date is not complete: the API says so of each row (`is_partial`), and every
// KPI, chart and table names it partial.
const partialMonth = () => (state.bridge.totals.find((r) => r.is_partial) || {}).month;
const monthName = (month) => (month === partialMonth() ? `${monthLabel(month)} (partial)` : monthLabel(month));
const monthSoFar = (row) => (row.is_partial ? `${monthLabel(row.month)} (partial, through ${row.snapshot_date})`
  : monthLabel(row.month));

// -- Theme: Airflow's own colour mode ------------------------------------------------------------------------
// Airflow's UI (next-themes) puts a `light` or `dark` class on its <html> and keeps the user's choice (light,
// dark or system) in localStorage under `theme`. The page is in Airflow's frame on the same origin, so it
// follows the frame's host; opened on its own, the stored choice, then the system's preference.
const AIRFLOW_THEME_KEY = "theme";
const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

function airflowWindow() {
  try {
    return window.parent !== window && window.parent.document ? window.parent : null;
  } catch {
    return null; // not Airflow's frame: another origin
  }
}

function airflowRoot() {
  const host = airflowWindow();
  return host ? host.document.documentElement : null;
}

function airflowTheme() {
  const root = airflowRoot();
  for (const theme of ["dark", "light"]) if (root && root.classList.contains(theme)) return theme;
  const stored = localStorage.getItem(AIRFLOW_THEME_KEY);
  if (stored === "dark" || stored === "light") return stored;
  return systemDark.matches ? "dark" : "light";
}

const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function applyTheme() {
  const theme = airflowTheme();
  if (document.documentElement.dataset.theme === theme) return;
  document.documentElement.dataset.theme = theme;
  redraw();
}

function followAirflowTheme() {
  applyTheme();
  systemDark.addEventListener("change", applyTheme);
  window.addEventListener("storage", (event) => { if (event.key === AIRFLOW_THEME_KEY) applyTheme(); });
  const root = airflowRoot();
  if (root) new MutationObserver(applyTheme).observe(root, { attributes: true, attributeFilter: ["class"] });
}

// A chart's text and lines in the theme's colours (the canvas does not read CSS), so both themes keep contrast.
function themed(option) {
  const ink = color("--ink"), muted = color("--muted"), line = color("--line");
  const axis = (a) => a && { ...a, axisLabel: { color: muted, ...a.axisLabel }, nameTextStyle: { color: muted },
    axisLine: { lineStyle: { color: line } }, splitLine: { lineStyle: { color: line } } };
  return { ...option, backgroundColor: "transparent", textStyle: { color: ink },
    legend: option.legend && { ...option.legend, textStyle: { color: ink }, pageTextStyle: { color: ink },
      pageIconColor: color("--accent"), pageIconInactiveColor: muted },
    tooltip: option.tooltip && { ...option.tooltip, backgroundColor: color("--card"), borderColor: line,
      textStyle: { color: ink } },
    visualMap: option.visualMap && { ...option.visualMap, textStyle: { color: ink } },
    xAxis: axis(option.xAxis), yAxis: axis(option.yAxis) };
}

// A chart's text alternative: its figures as a table of the same exact strings (rows are [dataset, cells]).
function figureTable(id, head, rows) {
  $(id).replaceChildren(el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h))),
    ...rows.map(([dataset, cells]) => el("tr", { dataset }, ...cells.map((c) => el("td", {}, c)))));
}

function exactTooltip(series, format = money) {
  // Tooltips show the certified strings themselves, not the chart's numbers, escaped.
  return (items) => `${escapeHtml(items[0].axisValue)}<br>` + items
    .filter((i) => series[i.seriesIndex][i.dataIndex] != null)
    .map((i) => `${i.marker}${escapeHtml(i.seriesName)}: ${escapeHtml(format(series[i.seriesIndex][i.dataIndex]))}`)
    .join("<br>");
}

// An answer's JSON, or an error naming its status and the API's message.
async function answered(response) {
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
    throw new Error(`${response.status}: ${detail || response.statusText}`);
  }
  return response.json();
}

const getJson = async (path) => answered(await fetch(path, { credentials: "same-origin" }));

function query() {
  const params = new URLSearchParams();
  if ($("business-unit").value) params.set("business_unit", $("business-unit").value);
  if ($("from-month").value) params.set("from_month", $("from-month").value);
  if ($("to-month").value) params.set("to_month", $("to-month").value);
  return params.toString();
}

// Every card offers its own figures as CSV: the card's own request to the API, which writes the exact decimal
// text with the currency, certification and snapshot date in a preamble.
function offerCsv(id, path) {
  $(id).href = `${path}${path.includes("?") ? "&" : "?"}format=csv`;
  $(id).hidden = false;
}

function chart(id) {
  charts[id] = charts[id] || echarts.init($(id));
  return charts[id];
}

function rowsForView() {
  return $("business-unit").value ? state.bridge.rows : state.bridge.totals;
}

// The month the bridge selector shows: the KPIs and the waterfall follow it.
function selectedRow() {
  const rows = rowsForView();
  return rows.find((r) => r.month === $("bridge-month").value) || rows.at(-1);
}

const signed = (text) => (text.startsWith("-") ? text : `+${text}`);

// A figure's change on the previous month, as the API computed it (exact; no arithmetic here).
function changeOnPrevious(row, figure, format) {
  const change = row[`${figure}_change`];
  if (change == null) return el("span", { class: "delta none" }, "no previous month published");
  const text = String(change);
  const pct = row[`${figure}_change_pct`];
  const trend = text.startsWith("-") ? "down" : /^[0.]+$/.test(text) ? "flat" : "up";
  return el("span", { class: `delta ${trend}`, dataset: { change: text } },
    `${signed(format(text))}${pct == null ? "" : ` (${signed(pct)}%)`} on ${monthLabel(row.previous_month)}`);
}

function renderKpis() {
  const row = selectedRow();
  if (!row) {
    $("kpis").replaceChildren();
    $("kpi-month").replaceChildren();
    return;
  }
  const at = row.is_partial ? `on ${row.snapshot_date}` : `at the end of ${monthLabel(row.month)}`;
  const cards = [
    ["ending_mrr", "Ending MRR", money(row.ending_mrr), `${row.currency}, ${at}`, money],
    ["recognized_revenue", "Recognised revenue", money(row.recognized_revenue),
      `${row.currency}, ${row.is_partial ? `${monthLabel(row.month)} through ${row.snapshot_date}` : monthLabel(row.month)}`,
      money],
    ["net_new_mrr", "Net new MRR", money(row.net_new_mrr), "new + expansion + contraction + churn + winback", money,
      row.net_new_mrr.startsWith("-") ? "down" : "up"],
    ["active_customers", "Active customers", String(row.active_customers), `customers with MRR ${at}`, String],
  ];
  $("kpi-month").replaceChildren(`${monthLabel(row.month)}, `
    + ($("business-unit").value || "all business units") + " ",
  row.is_partial ? el("span", { class: "badge partial" }, `partial: through ${row.snapshot_date}`) : "");
  // Each card is a button: it opens the customers behind its figure.
  $("kpis").replaceChildren(...cards.map(([figure, label, value, note, format, trend]) => el("button",
    { type: "button", class: "kpi", dataset: drillData(figure, row), title: `The customers behind ${label}` },
    el("span", { class: "label" }, label, row.is_partial ? " (partial)" : ""),
    el("span", { class: `value${trend ? ` delta ${trend}` : ""}` }, value),
    changeOnPrevious(row, figure, format),
    el("span", { class: "label" }, note))));
}

// What a figure's button carries to open the customers behind it: the figure, the month and the row's unit (a
// row of the totals has none: all business units).
const drillData = (figure, row) => ({ figure, month: monthLabel(row.month),
  ...(row.business_unit == null ? {} : { unit: row.business_unit }) });

// An amount of a table that opens the customers behind it.
const figureButton = (text, figure, row) => el("button", { type: "button", class: "figure",
  dataset: drillData(figure, row), title: `The customers behind ${FIGURES[figure]}` }, text);

// Every amount axis names its currency: the figures are in the reporting currency, never a bare number.
const reportingCurrency = () => (state.bridge.totals[0] || state.bridge.rows[0] || {}).currency || "";

// The partial month shaded and labelled on a chart of months.
function partialArea(labels) {
  const partial = labels.find((label) => label.endsWith("(partial)"));
  return partial ? { silent: true, itemStyle: { color: "rgba(127, 127, 127, 0.12)" },
    label: { color: color("--muted"), formatter: "partial" }, data: [[{ xAxis: partial }, { xAxis: partial }]] }
    : undefined;
}

function renderMrr() {
  const byUnit = {};
  for (const row of state.bridge.rows) (byUnit[row.business_unit] ||= {})[row.month] = row;
  const months = [...new Set(state.bridge.rows.map((r) => r.month))].sort();
  const labels = months.map(monthName);
  const units = Object.keys(byUnit);
  const series = Object.values(byUnit).map((rows) => months.map((m) => (rows[m] ? rows[m].ending_mrr : null)));
  chart("mrr-chart").setOption(themed({
    tooltip: { trigger: "axis", formatter: exactTooltip(series) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: reportingCurrency() },
    series: units.map((unit, index) => ({
      name: unit, type: "line", stack: "mrr", areaStyle: {}, showSymbol: false, data: series[index],
      markArea: index === 0 ? partialArea(labels) : undefined,
    })),
  }), true);
  chart("mrr-chart").off("click");
  chart("mrr-chart").on("click", (event) => { $("bridge-month").value = months[event.dataIndex]; showMonth(); });
  // With every unit shown, the published total of each month beside them.
  const totals = $("business-unit").value ? null : Object.fromEntries(state.bridge.totals.map((t) => [t.month, t]));
  figureTable("mrr-table", ["Month", ...units.map((u) => `${u} (${reportingCurrency()})`),
    ...(totals ? [`All business units (${reportingCurrency()})`] : [])],
  [...months].reverse().map((m) => [{ month: m }, [monthName(m),
    ...units.map((u) => (byUnit[u][m] ? figureButton(money(byUnit[u][m].ending_mrr), "ending_mrr", byUnit[u][m])
      : "")),
    ...(totals ? [totals[m] ? figureButton(money(totals[m].ending_mrr), "ending_mrr", totals[m]) : ""] : [])]]));
}

// The waterfall's axis starts at zero. When the bridge never comes near zero (the movements would be slivers on
// top of two tall bars), the axis is broken between zero and a round figure below the lowest level the bridge
// reaches; the chart draws the break and the note under it says where it is. Chart numbers only place bars.
function axisBreak(levels) {
  const low = Math.min(...levels), high = Math.max(...levels);
  if (low <= 0 || low < high / 2) return null;
  const span = Math.max(high - low, high / 100);
  const unit = 10 ** Math.floor(Math.log10(span));
  const end = Math.floor((low - span) / unit) * unit;
  return end > 0 ? { start: 0, end, gap: "10%" } : null;
}

function renderWaterfall() {
  const row = selectedRow();
  if (!row) return;
  const month = new URLSearchParams({ from_month: monthLabel(row.month), to_month: monthLabel(row.month) });
  if ($("business-unit").value) month.set("business_unit", $("business-unit").value);
  offerCsv("csv-waterfall", `api/v1/bridge?${month}`);
  $("waterfall-title").textContent = `MRR bridge, ${monthSoFar(row)}` +
    ($("business-unit").value ? `, ${$("business-unit").value}` : ", all business units") + ` (${row.currency})`;
  let level = 0;
  const base = [], bars = [], labels = [], levels = [];
  for (const [key] of STEPS) {
    const value = Number(row[key]);
    labels.push(money(row[key]));
    if (key === "starting_mrr" || key === "ending_mrr") {
      base.push(0);
      bars.push({ value, itemStyle: { color: COLORS.total } });
      level = value;
    } else {
      base.push(value >= 0 ? level : level + value);
      bars.push({ value: Math.abs(value), itemStyle: { color: value >= 0 ? COLORS.up : COLORS.down } });
      level += value;
    }
    levels.push(level);
  }
  const broken = axisBreak(levels);
  $("waterfall-break").textContent = broken ? `The axis starts at 0 and is broken from 0 to `
    + `${broken.end.toLocaleString("en-US")} ${row.currency}, so that the movements show: the starting and ending `
    + "MRR bars are cut there." : "";
  $("waterfall-break").hidden = !broken;
  chart("waterfall").setOption(themed({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
      formatter: (items) => `${escapeHtml(items[1].name)}: ${escapeHtml(labels[items[1].dataIndex])}` },
    grid: { left: 70, right: 10, top: 20, bottom: 30 },
    xAxis: { type: "category", data: STEPS.map(([, name]) => name), axisLabel: { interval: 0, fontSize: 11 } },
    yAxis: { type: "value", min: 0, name: row.currency, breaks: broken ? [broken] : [],
      breakArea: { expandOnClick: false, itemStyle: { color: color("--card"), borderColor: color("--muted") } } },
    series: [
      { type: "bar", stack: "bridge", data: base, itemStyle: { color: "transparent" }, silent: true },
      { type: "bar", stack: "bridge", data: bars, label: { show: true, position: "top", fontSize: 10,
        color: color("--ink"), formatter: (p) => labels[p.dataIndex] } },
    ],
  }), true);
  chart("waterfall").off("click");
  chart("waterfall").on("click", (event) => {
    if (event.componentType === "series") openFigure(drillData(STEPS[event.dataIndex][0], row));
  });
  $("waterfall-table").replaceChildren(
    el("tr", {}, el("th", {}, "Step"), el("th", {}, `Amount (${row.currency})`)),
    ...BRIDGE_FIGURES.map(([key, name]) => el("tr", { dataset: { step: key } }, el("td", {}, name),
      el("td", {}, figureButton(money(row[key]), key, row)))));
}

function renderRevenue() {
  const rows = rowsForView();
  const labels = rows.map((r) => monthName(r.month));
  const revenue = rows.map((r) => r.recognized_revenue);
  const mrr = rows.map((r) => r.ending_mrr);
  chart("revenue-chart").setOption(themed({
    tooltip: { trigger: "axis", formatter: exactTooltip([revenue, mrr]) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: reportingCurrency() },
    series: [
      { name: "Recognised revenue", type: "bar", data: revenue, color: "#8fb3f0", markArea: partialArea(labels) },
      { name: "Ending MRR", type: "line", data: mrr, color: COLORS.total, showSymbol: false },
    ],
  }), true);
  chart("revenue-chart").off("click");
  chart("revenue-chart").on("click", (event) => {
    if (event.componentType !== "series") return;
    openFigure(drillData(event.seriesIndex === 0 ? "recognized_revenue" : "ending_mrr", rows[event.dataIndex]));
  });
  const currency = reportingCurrency();
  figureTable("revenue-table", ["Month", `Recognised revenue (${currency})`, `Ending MRR (${currency})`],
    [...rows].reverse().map((r) => [{ month: r.month }, [monthName(r.month),
      figureButton(money(r.recognized_revenue), "recognized_revenue", r),
      figureButton(money(r.ending_mrr), "ending_mrr", r)]]));
}

// Each month's movements side by side with the months around it (the waterfall shows one month): gains stack
// above zero, losses below, and net new MRR is the line through them.
const MOVEMENTS = STEPS.slice(1, -1);
const MOVEMENT_COLORS = { new: "#2f6fde", expansion: COLORS.up, contraction: "#d9822b", churn: COLORS.down,
  winback: "#7b4fc9" };

function renderMovements() {
  const rows = rowsForView();
  const labels = rows.map((r) => monthName(r.month));
  const series = [...MOVEMENTS.map(([key]) => rows.map((r) => r[key])), rows.map((r) => r.net_new_mrr)];
  chart("movements-chart").setOption(themed({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: exactTooltip(series) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: reportingCurrency() },
    series: [
      ...MOVEMENTS.map(([key, name], index) => ({ name, type: "bar", stack: "movements", data: series[index],
        color: MOVEMENT_COLORS[key], markArea: index === 0 ? partialArea(labels) : undefined })),
      { name: "Net new MRR", type: "line", data: series.at(-1), color: color("--ink"), showSymbol: false },
    ],
  }), true);
  chart("movements-chart").off("click");
  chart("movements-chart").on("click", (event) => {
    $("bridge-month").value = rows[event.dataIndex].month;
    showMonth();
    if (event.componentType === "series") {
      const figure = event.seriesIndex < MOVEMENTS.length ? MOVEMENTS[event.seriesIndex][0] : "net_new_mrr";
      openFigure(drillData(figure, rows[event.dataIndex]));
    }
  });
  const currency = reportingCurrency();
  figureTable("movements-table", ["Month", ...MOVEMENTS.map(([, name]) => `${name} (${currency})`),
    `Net new MRR (${currency})`],
  [...rows].reverse().map((r) => [{ month: r.month }, [monthName(r.month),
    ...MOVEMENTS.map(([key]) => figureButton(money(r[key]), key, r)),
    figureButton(money(r.net_new_mrr), "net_new_mrr", r)]]));
}

// -- Revenue metrics: the analytics layer, computed from the certified customer-months -----------------------
// Each metric is shown as the API gives it (exact strings; nothing is computed here) beside its definition, the
// README's words. A percentage without a base is null: shown as "—", never as 0.
const METRICS = [
  { key: "arr", label: "ARR", kind: "amount", definition: "ending MRR x 12" },
  { key: "nrr_pct", label: "NRR, monthly", kind: "percent", definition: "ending MRR of the customers that had "
    + "starting MRR / their starting MRR = (starting + expansion + contraction + churn) / starting" },
  { key: "grr_pct", label: "GRR, monthly", kind: "percent", definition: "the same with each customer capped at its "
    + "starting MRR = (starting + contraction + churn) / starting" },
  { key: "nrr_12m_pct", label: "NRR, trailing 12 months", kind: "percent", definition: "ending MRR now of the "
    + "customers with MRR 12 months earlier / their MRR then; empty unless that month is published" },
  { key: "grr_12m_pct", label: "GRR, trailing 12 months", kind: "percent",
    definition: "the same with each customer capped at its MRR then" },
  { key: "logo_churn_pct", label: "Logo churn", kind: "percent",
    definition: "churned customers / customers with starting MRR" },
  { key: "average_mrr_per_customer", label: "Average MRR per customer", kind: "amount",
    definition: "ending MRR / active customers" },
  { key: "active_customers", label: "Active customers", kind: "count", definition: "customers with ending MRR > 0" },
  { key: "starting_customers", label: "Starting customers", kind: "count",
    definition: "customers with starting MRR > 0" },
];
// Each count of customers by movement, its label and the movement whose customers it counts (a click lists them).
const MOVEMENT_COUNTS = [["new_customers", "New", "new"], ["expansion_customers", "Expansion", "expansion"],
  ["contraction_customers", "Contraction", "contraction"], ["churned_customers", "Churned", "churn"],
  ["winback_customers", "Winback", "winback"]];

const percentText = (value) => (value == null ? "—" : `${value}%`);
const amountText = (value, currency) => (value == null ? "—" : `${money(value)} ${currency}`);

function metricsForView() {
  if (!state.metrics) return [];
  return $("business-unit").value ? state.metrics.rows : state.metrics.totals;
}

function metricTile(metric, row) {
  const value = row[metric.key];
  let shown = String(value);
  if (metric.kind === "percent") shown = percentText(value);
  if (metric.kind === "amount") shown = amountText(value, row.currency);
  return el("div", { class: "metric", dataset: { metric: metric.key } }, el("dt", {}, metric.label),
    el("dd", { class: "value" }, shown, value == null ? el("span", { class: "muted" }, " no base") : null),
    el("dd", { class: "definition" }, metric.definition));
}

// The metrics of the month the bridge selector shows, for the business unit chosen (or all).
function renderMetrics() {
  const selected = selectedRow();
  const row = selected && metricsForView().find((r) => r.month === selected.month);
  const unit = $("business-unit").value || "all business units";
  if (!row) {
    $("metrics-title").textContent = "Revenue metrics";
    $("metrics").replaceChildren();
    $("metrics-provenance").textContent = selected ? `No metrics are computed for ${monthLabel(selected.month)}.` : "";
    return;
  }
  $("metrics-title").textContent = `Revenue metrics, ${monthSoFar(row)}, ${unit}`;
  $("metrics-provenance").textContent = `Computed from the certified customer-months of certification `
    + `${row.certification_ids.map((id) => `#${id}`).join(", ")}, ${when(row.computed_at)}. Percentages are `
    + "rounded half to even to 0.1, averages to the cent; a percentage without a base is shown as —, never 0."
    + (row.is_partial ? ` The month so far, through ${row.snapshot_date}.` : "");
  $("metrics").replaceChildren(...METRICS.map((metric) => metricTile(metric, row)),
    el("div", { class: "metric wide", dataset: { metric: "customers_by_movement" } },
      el("dt", {}, "Customers by movement"),
      el("dd", { class: "value" }, el("ul", { class: "counts" }, MOVEMENT_COUNTS.map(([key, label, movement]) =>
        el("li", { dataset: { metric: key } }, `${label} `, figureButton(String(row[key]), movement, row))))),
      el("dd", { class: "definition" }, "customers whose month's movement is new, expansion, contraction, churn "
        + "or winback")));
}

// NRR and GRR over the trailing 12 months, month by month; the table beside it holds their bases.
function renderRetention() {
  const rows = metricsForView();
  const labels = rows.map((r) => monthName(r.month));
  const series = [rows.map((r) => r.nrr_12m_pct), rows.map((r) => r.grr_12m_pct)];
  const plotted = (values) => values.map((value) => (value == null ? null : Number(value)));
  chart("retention-chart").setOption(themed({
    tooltip: { trigger: "axis", formatter: exactTooltip(series, percentText) },
    legend: { top: 0, type: "scroll" },
    grid: { left: 60, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", scale: true, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: "NRR, trailing 12 months", type: "line", data: plotted(series[0]), color: COLORS.total,
        markArea: partialArea(labels) },
      { name: "GRR, trailing 12 months", type: "line", data: plotted(series[1]), color: COLORS.up },
    ],
  }), true);
  chart("retention-chart").off("click");
  chart("retention-chart").on("click", (event) => {
    $("bridge-month").value = rows[event.dataIndex].month;
    showMonth();
  });
  const currency = reportingCurrency();
  figureTable("retention-table", ["Month", "NRR, 12 months", "GRR, 12 months",
    `MRR 12 months earlier (${currency})`, `Their MRR now (${currency})`, `Capped at their MRR then (${currency})`],
  [...rows].reverse().map((r) => [{ month: r.month }, [monthName(r.month), percentText(r.nrr_12m_pct),
    percentText(r.grr_12m_pct), ...[r.trailing_base_mrr, r.trailing_net_mrr, r.trailing_gross_mrr]
      .map((value) => (value == null ? "—" : money(value)))]]));
}

// The two retentions of a cohort, both published with it: of its MRR and of its logos (customers).
const COHORT_MEASURES = {
  mrr: { field: "mrr_retention_pct", of: "MRR", max: 150,
    note: "(each cohort's ending MRR as a share of its MRR at the end of its first month)" },
  logo: { field: "logo_retention_pct", of: "customers", max: 100,
    note: "(each cohort's customers still with MRR as a share of its customers)" },
};
const cohortMeasure = () => COHORT_MEASURES[$("cohort-measure").querySelector("input:checked").value];

function renderCohorts() {
  // Each cell is a published percentage and the published customer counts (certified with the figures), shown as
  // published; a cohort without MRR at the end of its first month has no MRR retention (—).
  const measure = cohortMeasure();
  $("cohort-measure-note").textContent = measure.note;
  const cohorts = [...new Set(state.cohorts.map((r) => r.cohort_month))].sort().slice(-24);
  const ages = [...new Set(state.cohorts.map((r) => r.months_since_cohort))].sort((a, b) => a - b);
  const cells = {};
  const data = [];
  for (const row of state.cohorts) {
    const y = cohorts.indexOf(row.cohort_month);
    if (y < 0) continue;
    cells[`${row.months_since_cohort}|${y}`] = row;
    if (row[measure.field] !== null) data.push([row.months_since_cohort, y, Number(row[measure.field])]);
  }
  const partial = (row) => (row.month === partialMonth() ? " (partial)" : "");
  const retained = (row) => `${row[measure.field] === null ? "—" : `${row[measure.field]}%`} · `
    + `${row.active_customers} of ${row.cohort_customers}`;
  chart("cohort-chart").setOption(themed({
    tooltip: { formatter: (p) => {
      const row = cells[`${p.value[0]}|${p.value[1]}`];
      return escapeHtml(`Cohort ${monthLabel(row.cohort_month)}, month ${row.months_since_cohort}${partial(row)}: ` +
        `${row[measure.field]}% of ${measure.of}; ${row.active_customers} of ${row.cohort_customers} customers `
        + "still with MRR");
    } },
    grid: { left: 70, right: 20, top: 10, bottom: 96 },
    xAxis: { type: "category", data: ages, name: "months since cohort", nameLocation: "middle", nameGap: 26 },
    yAxis: { type: "category", data: cohorts.map(monthLabel) },
    visualMap: { min: 0, max: measure.max, calculable: true, orient: "horizontal", left: "center", bottom: 0,
      inRange: { color: ["#fbe7e7", "#fff7d6", "#e3f6ea", "#1f9d55"] } },
    series: [{ type: "heatmap", data, label: { show: false } }],
  }), true);
  figureTable("cohort-table", ["Cohort", "Customers", ...ages.map((age) => `Month ${age}`)],
    [...cohorts].reverse().map((cohort) => {
      const y = cohorts.indexOf(cohort);
      const first = state.cohorts.find((r) => r.cohort_month === cohort);
      return [{ cohort }, [monthLabel(cohort), String(first.cohort_customers), ...ages.map((age) => {
        const row = cells[`${age}|${y}`];
        return row ? `${retained(row)}${partial(row)}` : "";
      })]];
    }));
}

function checkMark(check) {
  if (!check) return el("span", {}, "–");
  if (check.passed === true) return el("span", { class: "pass" }, "pass");
  if (check.passed === false) return el("span", { class: "fail" }, "fail");
  return el("span", { class: "fail" }, "blocked");
}

// What a certified record did with its figures: published them, or only certified them (a certify-only run).
function publishing(c) {
  if (c.status !== "certified") return "";
  if (c.is_certify_only) return "certify only";
  return c.published_at ? `published ${c.published_at}` : "not published";
}

function renderHistory() {
  const head = el("tr", {}, ...["Certification", "Run", "As of", "Completeness", "Integrity", "Identity",
    "Detail sums", "Derivation", "Status", "Certified at", "Publishing"].map((h) => el("th", {}, h)));
  $("history").replaceChildren(head, ...state.history.map((c) => {
    const checks = Object.fromEntries(c.checks.map((k) => [k.check_name, k]));
    // The page lives in an iframe under /revcert/: the run opens in Airflow's own page, beside it.
    const run = el("a", { href: `../dags/${encodeURIComponent(c.dag_id)}/runs/${encodeURIComponent(c.run_id)}`,
      target: "_top" }, c.run_id);
    return el("tr", { title: c.failure_summary || "", dataset: { certification: c.certification_id } },
      el("td", {}, `#${c.certification_id}`), el("td", {}, run), el("td", {}, c.as_of_date),
      el("td", {}, checkMark(checks.completeness)), el("td", {}, checkMark(checks.integrity)),
      el("td", {}, checkMark(checks.movement_identity)), el("td", {}, checkMark(checks.detail_sums)),
      el("td", {}, checkMark(checks.independent_derivation)),
      el("td", {}, el("span", { class: `badge ${c.status === "certified" ? "certified" : "failed"}` }, c.status)),
      el("td", {}, c.certified_at || ""), el("td", {}, publishing(c)));
  }));
}

function renderProvenance() {
  const latest = state.months.at(-1);
  if (latest) {
    $("provenance").replaceChildren(el("span", { class: "badge certified" }, "certified"),
      ` Figures through ${latest.snapshot_date}, certification #${latest.certification_id}, in ${latest.currency}. ` +
      "Only certified months appear.");
  } else {
    $("provenance").textContent = "No certified figures yet.";
  }
  renderLatestAttempt(latest, state.history[0]);
}

// A failed or abandoned latest attempt is said at the top, with its checks and times, so nobody reads the
// figures below as today's: they are still those of the last certification that passed.
function renderLatestAttempt(latest, attempt) {
  if (!attempt || attempt.status === "certified") return;
  if (attempt.status === "running") {
    $("provenance").append(" ", el("span", { class: "badge neutral" },
      `certifying now: #${attempt.certification_id}, started ${attempt.started_at}`));
    return;
  }
  const failed = attempt.checks.filter((c) => c.passed === false).map((c) => c.check_name.replaceAll("_", " "));
  $("attempt").replaceChildren(
    el("strong", {}, `The latest certification attempt #${attempt.certification_id} ${attempt.status}`),
    ` (run ${attempt.run_id}, as of ${attempt.as_of_date}, started ${attempt.started_at})`
    + (failed.length ? `; failed checks: ${failed.join(", ")}` : "")
    + (attempt.failure_summary ? `: ${attempt.failure_summary}` : "") + ". ",
    latest ? `The figures shown are those of certification #${latest.certification_id} of ${latest.snapshot_date}.`
      : "Nothing is published yet.");
  $("attempt").hidden = false;
}

// -- Shadow metrics (check 5): other calculations of production figures, compared on every run ---------------
// From the certification records already loaded: the latest check 5 that ran to its end, its summary per shadow
// and each figure it found apart from production, by month; then check 5 in each of the latest records. A
// shadow is never published and never blocks publishing: these are the certification record's own strings.
const SHADOW_CHECK = "shadow_views";
const SHADOW_HISTORY = 10;
const SHADOW_DESCRIPTIONS = {
  mrr_bridge_without_renewal_grace: "the bridge over all business units with no renewal grace: a renewal after a "
    + "gap is a churn then a winback instead of carrying its MRR through the gap, so the difference is how much of "
    + "churn and winback is only renewal timing",
};
const SHADOW_COLORS = { ...MOVEMENT_COLORS, starting_mrr: "#7f8c99", ending_mrr: "#0f9fb0" };
const shadowCheck = (record) => record.checks.find((check) => check.check_name === SHADOW_CHECK);

// Check 5 of a record as it recorded it: its summary says what it found, or why it did not run or finish.
const shadowOutcome = (check) => (check ? check.summary
  : "not recorded (a record from before check 5, or a run still certifying)");

// The check's summary names each shadow first ("name: …; other: …").
const shadowSummaries = (summary) => summary.split(/; (?=[a-z0-9_]+: )/);

function renderShadows() {
  const records = state.history.slice(0, SHADOW_HISTORY);
  if (!records.length) return;
  $("shadow-card").hidden = false;
  offerCsv("csv-shadows", `api/v1/certifications?pipeline=certified_mrr&limit=${SHADOW_HISTORY}`);
  const latest = state.history.find((record) => (shadowCheck(record) || {}).passed === true);
  state.shadows = latest ? shadowCheck(latest).discrepancies : [];
  if (latest) {
    $("shadow-status").replaceChildren(`Check 5 of certification #${latest.certification_id} (run ${latest.run_id}, `
      + `as of ${latest.as_of_date}, ${latest.status}${latest.certified_at ? ` ${when(latest.certified_at)}` : ""}):`);
    $("shadow-summaries").replaceChildren(...shadowSummaries(shadowCheck(latest).summary).map((summary) => {
      const name = summary.split(":")[0];
      return el("li", { dataset: { shadow: name } }, el("strong", {}, summary),
        SHADOW_DESCRIPTIONS[name] ? el("span", { class: "muted" }, ` — ${SHADOW_DESCRIPTIONS[name]}.`) : "");
    }));
  } else {
    $("shadow-status").textContent = "No certification has run check 5 to its end yet.";
    $("shadow-summaries").replaceChildren();
  }
  drawShadowDifferences();
  figureTable("shadow-history", ["Certification", "As of", "Status", "Started", "Check 5"],
    records.map((record) => [{ certification: record.certification_id }, [`#${record.certification_id}`,
      record.as_of_date, record.status, when(record.started_at), shadowOutcome(shadowCheck(record))]]));
}

// Each figure's difference from production (shadow minus production) by month: a bar per figure, its table the
// record's strings. Months where every figure agrees recorded nothing, so they are not drawn.
function drawShadowDifferences() {
  const differences = state.shadows;
  for (const id of ["shadow-chart-title", "shadow-chart"]) $(id).hidden = !differences.length;
  const currency = (state.months.at(-1) || {}).currency || "";
  const figureOrder = Object.keys(FIGURES);
  const sorted = [...differences].sort((a, b) => b.month.localeCompare(a.month) || a.shadow.localeCompare(b.shadow)
    || figureOrder.indexOf(a.figure) - figureOrder.indexOf(b.figure));
  figureTable("shadow-table", ["Month", "Shadow", "Figure", `Production (${currency})`, `Shadow (${currency})`,
    `Difference (${currency})`], sorted.map((d) => [{ month: d.month, figure: d.figure }, [monthLabel(d.month),
    d.shadow, FIGURES[d.figure] || d.figure, money(d.production), money(d.shadow_value), money(d.difference)]]));
  if (!differences.length) {
    $("shadow-table").append(el("tr", {}, el("td", { colspan: "6" }, "None: every shadow equals production.")));
    return;
  }
  const months = [...new Set(differences.map((d) => d.month))].sort();
  // Drawn before the bridge loads: the partial month is the latest certified one, if its snapshot is not its end.
  const latest = state.months.at(-1);
  const partial = latest && partialCustomerMonth(latest) ? latest.month : null;
  const shadows = new Set(differences.map((d) => d.shadow));
  const keys = [...new Set(sorted.map((d) => `${d.shadow}|${d.figure}`))]
    .sort((a, b) => figureOrder.indexOf(a.split("|")[1]) - figureOrder.indexOf(b.split("|")[1]));
  const series = keys.map((key) => months.map((month) => {
    const found = differences.find((d) => `${d.shadow}|${d.figure}` === key && d.month === month);
    return found ? found.difference : null;
  }));
  const name = (key) => {
    const [shadow, figure] = key.split("|");
    return `${shadows.size > 1 ? `${shadow}: ` : ""}${FIGURES[figure] || figure}`;
  };
  chart("shadow-chart").setOption(themed({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: exactTooltip(series) },
    legend: { top: 0, type: "scroll" },
    grid: { left: 70, right: 20, top: 52, bottom: 30 },
    xAxis: { type: "category",
      data: months.map((month) => `${monthLabel(month)}${month === partial ? " (partial)" : ""}`) },
    yAxis: { type: "value", name: currency },
    series: keys.map((key, index) => ({ name: name(key), type: "bar", color: SHADOW_COLORS[key.split("|")[1]],
      data: series[index].map((value) => (value == null ? null : Number(value))) })),
  }), true);
  chart("shadow-chart").resize();
}

// The KPIs and the waterfall show the month the selector (or a click on the MRR chart) chose.
function showMonth() {
  renderKpis();
  renderWaterfall();
  renderMetrics();
}

function drawBridge() {
  showMonth();
  renderMrr();
  renderRevenue();
  renderMovements();
  renderRetention();
  renderCohorts();
}

// Every chart drawn again in the theme's colours, from the figures already loaded (nothing is fetched).
function redraw() {
  if (state.bridge) drawBridge();
  const shop = state.shops.find((s) => s.shop_id === $("shop").value);
  if (shop && document.body.dataset.shopReady) renderShopDays(shop);
  if (state.reconciliation) renderReconciliation(...state.reconciliation);
  if (state.shadows && state.shadows.length) drawShadowDifferences();
  if (state.customer && document.body.dataset.drill === "customer") drawCustomerChart($("customer-month").value);
}

// Answers can arrive out of order; only the newest request may draw, or the figures would not be those the
// filters on screen ask for.
const requests = { mrr: 0, shop: 0, drill: 0 };

async function refresh() {
  const request = ++requests.mrr;
  $("error").hidden = true;
  try {
    const q = query();
    const answers = await Promise.all([getJson(`api/v1/bridge?${q}`), getJson(`api/v1/cohorts?${q}`),
      getJson(`api/v1/metrics?${q}`)]);
    if (request !== requests.mrr) return;
    [state.bridge, state.cohorts, state.metrics] = answers;
    offerCsv("csv-mrr", `api/v1/bridge?${q}`);
    offerCsv("csv-metrics", `api/v1/metrics?${q}`);
    offerCsv("csv-revenue", `api/v1/bridge?${q}`);
    offerCsv("csv-movements", `api/v1/bridge?${q}`);
    offerCsv("csv-cohorts", `api/v1/cohorts?${q}`);
    const months = [...new Set(state.bridge.totals.map((r) => r.month))].sort();
    const chosen = $("bridge-month").value;
    $("bridge-month").replaceChildren(...months.map((m) => el("option", { value: m }, monthName(m))));
    $("bridge-month").value = months.includes(chosen) ? chosen : months.at(-1) || "";
    drawBridge();
    document.body.dataset.ready = "true";
  } catch (error) {
    if (request !== requests.mrr) return;
    // Never leave earlier figures under an error: they would read as the answer to this request.
    state.bridge = null;
    state.metrics = null;
    for (const id of ["csv-mrr", "csv-waterfall", "csv-revenue", "csv-movements", "csv-metrics", "csv-cohorts",
      "waterfall-break"]) {
      $(id).hidden = true;
    }
    for (const id of ["mrr-chart", "waterfall", "revenue-chart", "movements-chart", "retention-chart",
      "cohort-chart"]) chart(id).clear();
    for (const id of ["kpis", "kpi-month", "waterfall-table", "bridge-month", "mrr-table", "revenue-table",
      "movements-table", "metrics", "metrics-provenance", "retention-table", "cohort-table"]) $(id).replaceChildren();
    $("waterfall-title").textContent = "MRR bridge";
    $("metrics-title").textContent = "Revenue metrics";
    $("error").textContent = `Could not load the certified figures (${error.message}).`;
    $("error").hidden = false;
  }
}

// -- Drill-down: a figure, the customers behind it, one customer, one record's raw versions ------------------
// The panel's state is the location's hash, each level keeping the ones above it
// (`#figure=churn&month=2026-09&business_unit=EMEA&customer=001…&record=a0X…`): Back drops the last, and a link
// or a reload opens the same panel. In Airflow's frame the hash is mirrored onto Airflow's own address, the one
// people copy. The published figure is shown as the bridge has it; the customers are the API's rows (their sums
// equal the figure: certification check detail_sums), filtered here but never added up.

const FIGURES = Object.fromEntries([...BRIDGE_FIGURES, ["active_customers", "Active customers"]]);
const DRILL_KEYS = ["figure", "month", "business_unit", "customer", "customer_month", "record"];

// A movement's customers are the API's `movement=`; every other figure rests on all the month's customers, of
// which net new MRR counts those that moved and active customers those with MRR at the end of the month.
function customersBehind(figure) {
  if (MOVEMENTS.some(([key]) => key === figure)) return { movement: figure };
  if (figure === "net_new_mrr") return { movement: "any", note: "those with a movement" };
  if (figure === "active_customers") return { active: true, note: "those with ending MRR above zero" };
  return {};
}

// Exact order of two decimal strings (amounts are compared as written, never as floating-point numbers).
function compareDecimal(a, b) {
  const negative = (text) => text.startsWith("-") && /[1-9]/.test(text);
  if (negative(a) !== negative(b)) return negative(a) ? -1 : 1;
  const parts = (text) => {
    const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
    return [whole.replace(/^0+(?=\d)/, ""), fraction];
  };
  const [wholeA, fractionA] = parts(a), [wholeB, fractionB] = parts(b);
  const digits = Math.max(fractionA.length, fractionB.length);
  // Same number of whole digits: the digit strings order as the numbers do.
  const first = wholeA + fractionA.padEnd(digits, "0"), second = wholeB + fractionB.padEnd(digits, "0");
  const magnitude = wholeA.length !== wholeB.length ? wholeA.length - wholeB.length
    : (first > second) - (first < second);
  return negative(a) ? -Math.sign(magnitude) : Math.sign(magnitude);
}

// A time as the API gives it (ISO 8601 with its offset), readable and still naming its zone.
const when = (iso) => (iso ? iso.replace("T", " ") : "");

// A table the reader sorts by any column (click a header; aria-sort says which and which way); until then the
// rows keep the API's order. Columns: { label, key (row -> the value sorted), amount (compare as decimals),
// text (left-aligned), cell (row -> what the cell shows; the key by default) }.
function sortableTable(table, columns, rows, rowOf) {
  let sorted = null;
  const draw = () => {
    const order = sorted ? [...rows].sort((a, b) => {
      const { key, amount } = columns[sorted.index];
      const result = amount ? compareDecimal(key(a), key(b)) : String(key(a)).localeCompare(String(key(b)));
      return sorted.ascending ? result : -result;
    }) : rows;
    const head = columns.map((column, index) => {
      const button = el("button", { type: "button", class: "sort" }, column.label);
      button.addEventListener("click", () => {
        sorted = { index, ascending: sorted && sorted.index === index ? !sorted.ascending : true };
        draw();
        table.querySelectorAll("th .sort")[index].focus();
      });
      const th = el("th", { scope: "col", class: column.text ? "text" : "" }, button);
      if (sorted && sorted.index === index) th.setAttribute("aria-sort", sorted.ascending ? "ascending" : "descending");
      return th;
    });
    table.replaceChildren(el("thead", {}, el("tr", {}, head)), el("tbody", {}, order.map((row) => rowOf(row,
      columns.map((column) => el("td", { class: column.text ? "text" : "" },
        column.cell ? column.cell(row) : column.key(row)))))));
  };
  draw();
}

const amountColumn = (label, field) => ({ label, amount: true, key: (row) => row[field],
  cell: (row) => money(row[field]) });

// A Salesforce record id: a button to its raw versions, and a link into the org when its domain is configured.
function recordRef(id, url) {
  return el("span", { class: "record-ref" },
    el("button", { type: "button", class: "link", dataset: { record: id }, title: "Its raw versions, as extracted" },
      id),
    url ? [" ", el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "in Salesforce")] : null);
}

function drillFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return Object.fromEntries(DRILL_KEYS.filter((key) => params.get(key)).map((key) => [key, params.get(key)]));
}

function drillHash(drill) {
  const params = new URLSearchParams();
  for (const key of DRILL_KEYS) if (drill[key]) params.set(key, drill[key]);
  return params.toString();
}

function drillView(drill) {
  if (drill.record) return "record";
  if (drill.customer) return "customer";
  return drill.figure in FIGURES && drill.month ? "customers" : null;
}

// One level up: the record's customer, the customer's figure, or nothing (the panel closes).
function drillParent(drill) {
  if (drill.record) return { ...drill, record: null };
  if (drill.customer) return { ...drill, customer: null, customer_month: null };
  return {};
}

function mirrorOnAirflow(hash) {
  const host = airflowWindow();
  if (!host) return;
  const address = `${host.location.pathname}${host.location.search}${hash ? `#${hash}` : ""}`;
  if (address !== `${host.location.pathname}${host.location.search}${host.location.hash}`) {
    host.history.replaceState(host.history.state, "", address);
  }
}

function drillTo(drill, { replace = false } = {}) {
  const hash = drillHash(drill);
  const address = hash ? `#${hash}` : `${location.pathname}${location.search}`;
  if (replace) history.replaceState(null, "", address);
  else history.pushState(null, "", address);
  return showDrill(drill);
}

const openFigure = (data) => drillTo({ figure: data.figure, month: data.month, business_unit: data.unit });

// The figure as the bridge published it: from the figures loaded, or asked for when the month is not among them
// (a shared link to an older month).
async function publishedRow(month, unit) {
  const find = (bridge) => (unit ? bridge.rows.find((r) => r.business_unit === unit && monthLabel(r.month) === month)
    : bridge.totals.find((r) => monthLabel(r.month) === month));
  const loaded = state.bridge && find(state.bridge);
  if (loaded) return loaded;
  const params = new URLSearchParams({ from_month: month, to_month: month });
  if (unit) params.set("business_unit", unit);
  return find(await getJson(`api/v1/bridge?${params}`)) || null;
}

async function loadCustomers(drill) {
  const params = new URLSearchParams({ month: drill.month });
  if (drill.business_unit) params.set("business_unit", drill.business_unit);
  const behind = customersBehind(drill.figure);
  if (behind.movement) params.set("movement", behind.movement);
  if (behind.active) params.set("active", "true");
  const [customers, published] = await Promise.all([getJson(`api/v1/movements?${params}`),
    publishedRow(drill.month, drill.business_unit)]);
  return { customers, published, behind, csv: `api/v1/movements?${params}&format=csv` };
}

function drawCustomers(drill, { customers, published, behind, csv }) {
  const label = FIGURES[drill.figure];
  $("drill-title").textContent = `Customers behind ${label} — ${drill.month}${published && published.is_partial
    ? " (partial)" : ""}, ${drill.business_unit || "all business units"}`;
  const currency = published ? published.currency : (customers[0] || {}).currency || "";
  if (published) {
    const value = published[drill.figure];
    $("drill-figure").replaceChildren(`${label} as published: `,
      el("strong", { dataset: { published: String(value) } },
        drill.figure === "active_customers" ? String(value) : `${money(value)} ${currency}`),
      `, certification #${published.certification_id}, certified ${when(published.certified_at)}`,
      published.is_partial ? `; the month so far, through ${published.snapshot_date}.` : ".");
  } else {
    $("drill-figure").textContent = `${label} of ${drill.month} is not published.`;
  }
  $("csv-drill").href = csv;
  $("csv-drill").textContent = behind.note ? "Download CSV (every customer of the month)" : "Download CSV";
  $("drill-count").textContent = `${customers.length} customer${customers.length === 1 ? "" : "s"}`
    + `${behind.note ? `, ${behind.note}` : ""}, the largest movement first. Choose a column to sort by it, `
    + "a customer to see its timeline.";
  sortableTable($("drill-customers-table"), [
    { label: "Customer", text: true, key: (c) => c.customer_name || c.customer_id,
      cell: (c) => el("button", { type: "button", class: "link", dataset: { customer: c.customer_id },
        title: `${c.customer_id}: its timeline, lines and contracts` }, c.customer_name || c.customer_id) },
    { label: "Business unit", text: true, key: (c) => c.business_unit },
    { label: "Movement", text: true, key: (c) => c.movement_type },
    amountColumn(`Movement amount (${currency})`, "movement_amount"),
    amountColumn(`Starting MRR (${currency})`, "starting_mrr"),
    amountColumn(`Ending MRR (${currency})`, "ending_mrr"),
    amountColumn(`Recognised revenue (${currency})`, "recognized_revenue"),
  ], customers, (c, cells) => el("tr", { dataset: { customer: c.customer_id } }, cells));
}

// A customer's month still running: its snapshot day is not the month's last.
const partialCustomerMonth = (m) => monthLabel(addDays(m.snapshot_date, 1)) === monthLabel(m.month);
const customerMonthName = (m) => `${monthLabel(m.month)}${partialCustomerMonth(m) ? " (partial)" : ""}`;

function drawCustomer(drill, customer) {
  state.customer = customer;
  $("drill-title").textContent = customer.customer_name || customer.customer_id;
  const latest = customer.months.at(-1);
  $("customer-facts").replaceChildren(`Business unit ${customer.business_unit}; account `,
    recordRef(customer.customer_id, customer.salesforce_url),
    `; amounts in ${customer.currency}; certification #${latest.certification_id}, certified `
    + `${when(latest.certified_at)}.`);
  const months = customer.months.map((m) => monthLabel(m.month));
  $("customer-month").replaceChildren(...[...customer.months].reverse().map((m) => el("option",
    { value: monthLabel(m.month) }, customerMonthName(m))));
  const chosen = [drill.customer_month, drill.month].find((m) => months.includes(m)) || months.at(-1);
  drawCustomerMonth(chosen);
  $("customer-contracts").replaceChildren(
    el("tr", {}, ...["Contract", "Account", "Start", "End", "Renews", "Override"]
      .map((h) => el("th", { class: "text" }, h))),
    ...customer.contracts.map((c) => el("tr", { dataset: { contract: c.contract_id },
      class: c.is_overridden ? "overridden" : "" },
    el("td", {}, recordRef(c.contract_id, c.salesforce_url)),
    el("td", { class: "text" }, c.account_id ? el("button", { type: "button", class: "link",
      dataset: { record: c.account_id } }, c.account_id) : "",
    c.account_id && c.account_id !== customer.customer_id ? " (another account)" : ""),
    el("td", { class: "text" }, c.start_date || ""), el("td", { class: "text" }, c.end_date || ""),
    el("td", { class: "text" }, c.renews_contract_ids.length ? `renews ${c.renews_contract_ids.join(", ")}`
      : "first of its chain"),
    el("td", { class: "text" }, c.is_overridden ? [el("span", { class: "badge override" }, "override"),
      ` ${c.override_reason || "no reason recorded"} (approved by ${c.override_approver || "nobody recorded"})`]
      : ""))));
}

// The month chosen in the customer's timeline: its row marked, and the lines that carry MRR on its snapshot day.
function drawCustomerMonth(month) {
  const customer = state.customer;
  const chosen = customer.months.find((m) => monthLabel(m.month) === month);
  const currency = customer.currency;
  $("customer-month").value = month;
  drawCustomerChart(month);
  figureTable("customer-months", ["Month", `Starting MRR (${currency})`, "Movement", `Movement amount (${currency})`,
    `Ending MRR (${currency})`, `Recognised revenue (${currency})`, "Certification"],
  [...customer.months].reverse().map((m) => [{ month: monthLabel(m.month), selected: String(m === chosen) },
    [customerMonthName(m), money(m.starting_mrr), m.movement_type, money(m.movement_amount), money(m.ending_mrr),
      money(m.recognized_revenue), `#${m.certification_id}`]]));
  const day = chosen.snapshot_date;
  $("customer-lines-note").textContent = `Marked: the lines carrying MRR on ${day}, the snapshot day of `
    + `${customerMonthName(chosen)}; their line MRR makes its ending MRR of ${money(chosen.ending_mrr)} ${currency}. `
    + "A line carries MRR from its service start through its MRR end (its service end, or a renewal's grace).";
  const text = { class: "text" };
  $("customer-lines").replaceChildren(
    el("tr", {}, ...["Line", "Contract", "Product", "Currency"].map((h) => el("th", text, h)),
      ...["Rate", `Line MRR (${currency})`, "Service start", "Service end", "MRR end"].map((h) => el("th", {}, h)),
      el("th", text, `On ${day}`)),
    ...customer.lines.map((line) => {
      const carries = line.service_start_date <= day && day <= line.mrr_end_date;
      return el("tr", { dataset: { line: line.subscription_line_id, carries: String(carries) } },
        el("td", {}, recordRef(line.subscription_line_id, line.salesforce_url)),
        el("td", text, el("button", { type: "button", class: "link", dataset: { record: line.contract_id } },
          line.contract_id)),
        el("td", text, line.product_name || line.product_id || ""), el("td", text, line.currency_iso_code || ""),
        el("td", {}, line.conversion_rate), el("td", {}, money(line.line_mrr)), el("td", {}, line.service_start_date),
        el("td", {}, line.service_end_date), el("td", {}, line.mrr_end_date),
        el("td", text, carries ? el("strong", {}, "carries MRR") : "–"));
    }));
}

function drawCustomerChart(month) {
  const customer = state.customer;
  const labels = customer.months.map(customerMonthName);
  const mrr = customer.months.map((m) => m.ending_mrr), revenue = customer.months.map((m) => m.recognized_revenue);
  const chosen = customer.months.findIndex((m) => monthLabel(m.month) === month);
  chart("customer-chart").setOption(themed({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: exactTooltip([mrr, revenue]) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 52, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: customer.currency },
    series: [
      { name: "Ending MRR", type: "bar", color: COLORS.total, data: mrr.map((value, index) => (index === chosen
        ? { value, itemStyle: { color: COLORS.up } } : value)) },
      { name: "Recognised revenue", type: "line", color: MOVEMENT_COLORS.contraction, data: revenue,
        showSymbol: false },
    ],
  }), true);
  chart("customer-chart").resize();
  chart("customer-chart").off("click");
  chart("customer-chart").on("click", (event) => {
    selectCustomerMonth(monthLabel(customer.months[event.dataIndex].month));
  });
}

// Choosing another month of the customer redraws from the customer already loaded and keeps it in the hash.
function selectCustomerMonth(month) {
  state.drill = { ...state.drill, customer_month: month };
  history.replaceState(null, "", `#${drillHash(state.drill)}`);
  mirrorOnAirflow(drillHash(state.drill));
  drawCustomerMonth(month);
}

// A source value as text: decimals arrive as their exact strings; a nested value (`attributes`) as JSON.
function fieldText(value) {
  if (value === undefined) return "";
  if (value === null) return "null";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function drawRecord(drill, versions) {
  const latest = versions.at(-1);
  $("drill-title").textContent = `${latest.object_name} ${drill.record}`;
  $("record-facts").replaceChildren(`${versions.length} version${versions.length === 1 ? "" : "s"} in the raw `
    + "layer, each as an extraction received it. ", latest.salesforce_url
    ? el("a", { href: latest.salesforce_url, target: "_blank", rel: "noopener noreferrer" }, "Open it in Salesforce")
    : "(No link into Salesforce: the connection does not name the org's domain.)");
  figureTable("record-versions", ["Version", "Batch", "Extraction", "Extracted at", "SystemModstamp", "Deleted",
    "Received at"], versions.map((v, index) => [{ batch: v.batch_id }, [String(index + 1), `#${v.batch_id}`,
    v.extraction_mode, when(v.extraction_started_at), when(v.system_modstamp), v.is_deleted ? "deleted" : "no",
    when(v.received_at)]]));
  const fields = [...new Set(versions.flatMap((v) => Object.keys(v.record)))];
  $("record-fields").replaceChildren(
    el("tr", {}, el("th", {}, "Field"), ...versions.map((v, index) => el("th", {}, `Version ${index + 1}`))),
    ...fields.map((field) => el("tr", { dataset: { field } }, el("td", {}, field), ...versions.map((v, index) => {
      const text = fieldText(v.record[field]);
      const changed = index > 0 && text !== fieldText(versions[index - 1].record[field]);
      return el("td", changed ? { class: "changed", title: "changed from the version before" } : {}, text);
    }))));
}

const DRILL_VIEWS = {
  customers: [loadCustomers, drawCustomers, "the customers behind the figure"],
  customer: [(drill) => getJson(`api/v1/customers/${encodeURIComponent(drill.customer)}`), drawCustomer,
    "the customer"],
  record: [(drill) => getJson(`api/v1/records/${encodeURIComponent(drill.record)}/versions`), drawRecord,
    "the record's versions"],
};

async function showDrill(drill) {
  state.drill = drill;
  mirrorOnAirflow(drillHash(drill));
  const view = drillView(drill);
  const request = ++requests.drill;
  delete document.body.dataset.drill;
  if (!view) {
    if ($("drill").open) $("drill").close();
    return;
  }
  if (!$("drill").open) $("drill").showModal();
  $("drill-back").hidden = !drillView(drillParent(drill));
  $("drill-error").hidden = true;
  for (const name of Object.keys(DRILL_VIEWS)) $(`drill-${name}`).hidden = true;
  $("drill-title").textContent = "Loading…";
  const [load, draw, what] = DRILL_VIEWS[view];
  try {
    const answer = await load(drill);
    if (request !== requests.drill) return;
    $(`drill-${view}`).hidden = false;
    draw(drill, answer);
  } catch (error) {
    if (request !== requests.drill) return;
    $("drill-title").textContent = "Could not load";
    $("drill-error").textContent = `Could not load ${what} (${error.message}).`;
    $("drill-error").hidden = false;
  }
  $("drill-title").focus();
  document.body.dataset.drill = $("drill-error").hidden ? view : "error";
}

function startDrill() {
  document.addEventListener("click", (event) => {
    const figure = event.target.closest("button[data-figure]");
    if (figure) openFigure(figure.dataset);
  });
  $("drill").addEventListener("click", (event) => {
    const customer = event.target.closest("button[data-customer]");
    if (customer) drillTo({ ...state.drill, customer: customer.dataset.customer, customer_month: null });
    const record = event.target.closest("button[data-record]");
    if (record) drillTo({ ...state.drill, record: record.dataset.record });
  });
  $("drill-back").addEventListener("click", () => drillTo(drillParent(state.drill)));
  $("drill-close").addEventListener("click", () => drillTo({}));
  // Escape (or the close button) closes the dialog: the hash follows.
  $("drill").addEventListener("close", () => { if (drillView(state.drill)) drillTo({}); });
  $("customer-month").addEventListener("change", () => selectCustomerMonth($("customer-month").value));
  window.addEventListener("popstate", () => showDrill(drillFromHash(location.hash)));
}

// A link or a reload: the panel the address names, once the figures are loaded (its own hash, or Airflow's).
function reopenDrill() {
  const own = drillFromHash(location.hash);
  const host = airflowWindow();
  const drill = drillView(own) || !host ? own : drillFromHash(host.location.hash);
  if (drillView(drill)) drillTo(drill, { replace: true });
}

// -- Shop revenue: one shop's certified days, in its currency and local days --------------------------

const addDays = (iso, days) => {
  const day = new Date(`${iso}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
};

function shopStatus(shop) {
  if (shop.latest_status === "failed" || shop.latest_status === "abandoned") return ["failed", "latest attempt failed"];
  if (shop.latest_status === "running") return ["neutral", "running"];
  return shop.certification_id ? ["certified", "certified"] : ["neutral", shop.latest_status || "none"];
}

function renderShops() {
  const head = el("tr", {}, ...["Shop", "Name", "Currency", "Timezone", "Refunds on", "Certified through",
    "Certification", "Status"].map((h) => el("th", {}, h)));
  $("shops").replaceChildren(head, ...state.shops.map((shop) => {
    const [kind, label] = shopStatus(shop);
    const row = el("tr", { dataset: { shop: shop.shop_id }, "aria-selected": String(shop.shop_id === $("shop").value),
      title: shop.latest_failure_summary || "" },
    el("td", {}, shop.shop_id), el("td", {}, shop.shop_name || ""), el("td", {}, shop.currency || ""),
    el("td", {}, shop.iana_timezone || ""),
    el("td", {}, shop.refund_attribution ? shop.refund_attribution.replace("_", " ") : ""),
    el("td", {}, shop.last_day || "never"), el("td", {}, shop.certification_id ? `#${shop.certification_id}` : ""),
    el("td", {}, el("span", { class: `badge ${kind}` }, label)));
    row.addEventListener("click", () => selectShop(shop.shop_id));
    return row;
  }));
}

function renderShopStatus(shop) {
  const [kind, label] = shopStatus(shop);
  const parts = [el("span", { class: `badge ${kind}` }, label), " "];
  if (shop.certification_id) {
    parts.push(`Figures through ${shop.last_day}, certification #${shop.certification_id}, in ${shop.currency}, ` +
      `local days of ${shop.iana_timezone}, refunds counted on the ${shop.refund_attribution.replace("_", " ")}.`);
  } else {
    parts.push("No certified figures for this shop yet.");
  }
  if (kind === "failed") {
    parts.push(el("span", { class: "fail" }, ` Latest attempt #${shop.latest_certification_id} ` +
      `(${shop.latest_started_at}) ${shop.latest_status}: ${shop.latest_failure_summary || "no reason recorded"}.`),
    shop.certification_id ? ` The figures shown are still those of certification #${shop.certification_id}.` : "");
  } else if (shop.latest_status === "running") {
    parts.push(` A run is certifying this shop now (#${shop.latest_certification_id}).`);
  }
  $("shop-status").replaceChildren(...parts);
}

function renderShopDays(shop) {
  const days = state.shopDays;
  const net = days.map((d) => d.net_revenue), gross = days.map((d) => d.gross_revenue);
  const refunds = days.map((d) => d.refunds);
  chart("shop-chart").setOption(themed({
    tooltip: { trigger: "axis", formatter: exactTooltip([net, gross, refunds]) },
    legend: { top: 0 },
    grid: { left: 80, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: days.map((d) => d.day) },
    yAxis: { type: "value", name: shop.currency || "" },
    series: [
      { name: "Net revenue", type: "bar", data: net, color: COLORS.total },
      { name: "Gross revenue", type: "line", data: gross, color: COLORS.up, showSymbol: false },
      { name: "Refunds", type: "line", data: refunds, color: COLORS.down, showSymbol: false },
    ],
  }), true);
  $("shop-days").replaceChildren(
    el("tr", {}, ...["Day", `Gross (${shop.currency})`, `Refunds (${shop.currency})`, `Net (${shop.currency})`,
      "Orders", "Refunds #", "Certification"].map((h) => el("th", {}, h))),
    ...[...days].reverse().map((d) => el("tr", { dataset: { day: d.day } }, el("td", {}, d.day),
      el("td", {}, money(d.gross_revenue)), el("td", {}, money(d.refunds)), el("td", {}, money(d.net_revenue)),
      el("td", {}, String(d.order_count)), el("td", {}, String(d.refund_count)),
      el("td", {}, `#${d.certification_id}`))));
}

// The shop's latest check 5 that ran to its end: each day's figure that refunds on their own dates would move.
async function renderShopShadow(shop) {
  const records = await getJson(`api/v1/certifications?pipeline=shop_daily_revenue&shop_id=${
    encodeURIComponent(shop.shop_id)}&limit=${SHADOW_HISTORY}`);
  const latest = records.find((record) => (shadowCheck(record) || {}).passed === true);
  if (!latest) {
    $("shop-shadow-status").textContent = "No certification of this shop has run check 5 to its end yet.";
    $("shop-shadow-table").replaceChildren();
    return;
  }
  const check = shadowCheck(latest);
  $("shop-shadow-status").textContent = `Check 5 of certification #${latest.certification_id} ` +
    `(${when(latest.started_at)}): ${check.summary}.`;
  figureTable("shop-shadow-table", ["Day", "Figure", `Production (${shop.currency})`, `Shadow (${shop.currency})`,
    `Difference (${shop.currency})`], check.discrepancies.map((d) => {
    const amount = (value) => (d.figure === "refund_count" ? String(value) : money(value));
    return [{ day: d.day, figure: d.figure },
      [d.day, d.figure.replace("_", " "), amount(d.production), amount(d.shadow_value), amount(d.difference)]];
  }));
}

async function refreshShop() {
  const shop = state.shops.find((s) => s.shop_id === $("shop").value);
  if (!shop) return;
  $("shop-error").hidden = true;
  renderShopStatus(shop);
  renderShopShadow(shop).catch((error) => {
    $("shop-shadow-status").textContent = `Could not load check 5 (${error.message}).`;
  });
  const params = new URLSearchParams();
  if ($("from-day").value) params.set("from", $("from-day").value);
  if ($("to-day").value) params.set("to", $("to-day").value);
  const request = ++requests.shop;
  let days = [];
  let answered = true;
  try {
    days = (await getJson(`api/v1/shops/${encodeURIComponent(shop.shop_id)}/daily?${params}`)).days;
  } catch (error) {
    if (request !== requests.shop) return;
    answered = false;
    // Never leave earlier figures under an error: they would read as the answer to this request.
    $("shop-error").textContent = `Could not load the shop's certified days (${error.message}).`;
    $("shop-error").hidden = false;
  }
  if (request !== requests.shop) return;
  state.shopDays = days;
  renderShopDays(shop);
  if (answered) offerCsv("csv-shop-days", `api/v1/shops/${encodeURIComponent(shop.shop_id)}/daily?${params}`);
  else $("csv-shop-days").hidden = true;
  document.body.dataset.shopReady = shop.shop_id;
}

async function selectShop(shopId) {
  const shop = state.shops.find((s) => s.shop_id === shopId);
  $("shop").value = shopId;
  if (shop.last_day) {
    $("to-day").value = shop.last_day;
    $("from-day").value = addDays(shop.last_day, -29);
  }
  renderShops();
  await refreshShop();
}

function startShops() {
  if (!state.shops.length) return;
  $("shop-revenue").hidden = false;
  $("shop").replaceChildren(...state.shops.map((s) => el("option", { value: s.shop_id },
    `${s.shop_id}${s.shop_name ? ` ${s.shop_name}` : ""}`)));
  $("shop").addEventListener("change", () => selectShop($("shop").value));
  for (const id of ["from-day", "to-day"]) $(id).addEventListener("change", refreshShop);
  return selectShop(state.shops[0].shop_id);
}

// -- Reconciliation: published shop-days against the source (B5) -------------------------------------

const percent = (rate) => (rate == null ? "" : `${(Number(rate) * 100).toFixed(2)}%`);

function renderReconciliation(runs, discrepancies) {
  if (!runs.length) return;
  state.reconciliation = [runs, discrepancies];
  $("reconciliation").hidden = false;
  offerCsv("csv-reconciliation", "api/v1/reconciliation/runs");
  offerCsv("csv-discrepancies", "api/v1/reconciliation/discrepancies");
  const [latest] = runs;
  $("reconciliation-status").replaceChildren(
    `Latest: reconciliation #${latest.reconciliation_run_id} (${latest.started_at}) ${latest.status}, `
    + `${latest.shop_days_compared ?? 0} shop-day(s) of ${latest.shops_sampled} shop(s) compared, `
    + `${latest.discrepancies ?? 0} apart (${percent(latest.discrepancy_rate)}).`,
    latest.shops_failed ? el("span", { class: "fail" }, ` ${latest.shops_failed} shop(s) could not be compared.`) : "");
  const ordered = [...runs].reverse();
  // A rate is a share of counts, not money: the chart may plot it as a number.
  chart("reconciliation-chart").setOption(themed({
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: ordered.map((r) => r.started_at.slice(0, 16).replace("T", " ")) },
    yAxis: { type: "value", axisLabel: { formatter: (v) => `${(v * 100).toFixed(1)}%` } },
    series: [{ name: "discrepancy rate", type: "line", data: ordered.map((r) => Number(r.discrepancy_rate ?? 0)) }],
  }), true);
  figureTable("reconciliation-table", ["Reconciliation", "Started", "Status", "Shop-days compared", "Apart", "Rate"],
    runs.map((r) => [{ reconciliation: r.reconciliation_run_id }, [`#${r.reconciliation_run_id}`, r.started_at,
      r.status, String(r.shop_days_compared ?? 0), String(r.discrepancies ?? 0), percent(r.discrepancy_rate)]]));
  $("discrepancies").replaceChildren(
    el("tr", {}, ...["Shop", "Day", "Source", "Stored", "Difference", "Orders", "Repair", "Found"]
      .map((h) => el("th", {}, h))),
    ...discrepancies.map((d) => el("tr", { dataset: { shop: d.shop_id, day: d.day } },
      el("td", {}, d.shop_id), el("td", {}, d.day), el("td", {}, `${money(d.source_net_revenue)} ${d.currency}`),
      el("td", {}, d.stored_net_revenue == null ? "not published" : `${money(d.stored_net_revenue)} ${d.currency}`),
      el("td", {}, money(d.difference)), el("td", {}, d.differing_order_ids.join(", ")),
      el("td", {}, d.repair_run_id || ""), el("td", {}, `#${d.reconciliation_run_id}`))));
  if (!discrepancies.length) {
    $("discrepancies").append(el("tr", {}, el("td", { colspan: "8" }, "None: every compared shop-day agrees.")));
  }
  document.body.dataset.reconciliationReady = "true";
}

async function startReconciliation() {
  try {
    const [runs, discrepancies] = await Promise.all([getJson("api/v1/reconciliation/runs"),
      getJson("api/v1/reconciliation/discrepancies")]);
    renderReconciliation(runs, discrepancies);
  } catch (error) {
    $("error").textContent = `Could not load the reconciliations (${error.message}).`;
    $("error").hidden = false;
  }
}

// -- Incidents: the monitoring ledger, and operators' decisions about it ------------------------------------
// Open and acknowledged incidents first, then the latest resolved, as the API lists them. Summaries, notes and
// names are people's and sources' text: shown as text. Operators (the API answers the permission probe with
// 204; anyone else gets 403 and sees no form) acknowledge an incident or resolve it with a note, as expected
// until a date or not; the API refuses anyone else whatever the page shows.
const seenAt = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} ${iso.slice(-6)}` : "");
const runLink = (dagId, runId) => el("a", { href: `../dags/${encodeURIComponent(dagId)}/runs/${
  encodeURIComponent(runId)}`, target: "_top" }, runId);

const postJson = async (path, body) => answered(await fetch(path, { method: "POST", credentials: "same-origin",
  headers: { "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined }));

async function showIncidentRuns(details, incident) {
  if (details.dataset.loaded) return;
  details.dataset.loaded = "true";
  try {
    const { runs } = await getJson(`api/v1/incidents/${incident.incident_id}`);
    details.append(el("ul", { class: "runs" }, runs.map((r) => el("li", { dataset: { run: r.run_id } },
      runLink(r.pipeline, r.run_id), ` (${r.pipeline}): ${r.outcome}`,
      r.certification_id == null ? "" : `, certification #${r.certification_id}`, `, ${seenAt(r.seen_at)}`))));
  } catch (error) {
    details.append(el("p", { class: "error" }, `Could not load the runs (${error.message}).`));
  }
}

function decisionForm(incident) {
  const id = incident.incident_id;
  const note = el("input", { type: "text", name: "note", required: "", maxlength: "2000" });
  const expected = el("input", { type: "checkbox", name: "expected" });
  const until = el("input", { type: "date", name: "expected_until" });
  // A date given says the change was expected: the box follows it (a disabled field would be unreadable).
  until.addEventListener("change", () => { if (until.value) expected.checked = true; });
  const message = el("p", { class: "error", role: "alert", hidden: "" });
  const form = el("form", { class: "decide", dataset: { incident: id } },
    el("label", { class: "note-field" }, "Resolution note", note),
    el("label", { class: "inline" }, expected, "Expected"),
    el("label", {}, "Expected until", until),
    el("button", { type: "submit" }, "Resolve"));
  if (incident.status === "open") {
    const acknowledge = el("button", { type: "button", class: "acknowledge" }, "Acknowledge");
    acknowledge.addEventListener("click", () => decide(message, `api/v1/incidents/${id}/acknowledge`));
    form.append(acknowledge);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { note: note.value };
    if (expected.checked) body.expected_until = until.value || null;
    if (expected.checked && !until.value) {
      message.textContent = "An expected resolution needs the date it is expected until.";
      message.hidden = false;
      return;
    }
    decide(message, `api/v1/incidents/${id}/resolve`, body);
  });
  return [form, message];
}

async function decide(message, path, body) {
  message.hidden = true;
  try {
    await postJson(path, body);
  } catch (error) {
    message.textContent = `Not done (${error.message}).`;
    message.hidden = false;
    return;
  }
  await loadIncidents();
}

function incidentItem(incident, mayDecide) {
  const decided = incident.status === "resolved"
    ? `Resolved by ${incident.resolved_by} at ${seenAt(incident.resolved_at)}: ${incident.resolution_note}`
      + (incident.expected_until ? ` (expected until ${incident.expected_until})` : "")
    : incident.acknowledged_by ? `Acknowledged by ${incident.acknowledged_by} at ${seenAt(incident.acknowledged_at)}`
      : "";
  const runs = el("details", {}, el("summary", {}, `${incident.runs_affected} run(s) affected`));
  runs.addEventListener("toggle", () => { if (runs.open) showIncidentRuns(runs, incident); });
  return el("li", { class: "incident", dataset: { incident: incident.incident_id, status: incident.status } },
    el("div", { class: "title" }, el("span", { class: `badge ${incident.kind}` }, incident.kind),
      el("span", { class: `badge ${incident.status}` }, incident.status + (incident.is_holding ? ", holding" : "")),
      incident.is_suppressing ? el("span", { class: "badge suppressing" }, "suppressing") : "",
      el("strong", {}, `#${incident.incident_id} ${incident.rule} ${incident.subject}`),
      el("span", { class: "muted" }, `${incident.pipeline}, ${incident.severity}`)),
    el("p", { class: "summary" }, incident.summary),
    el("p", { class: "muted seen" }, `First seen ${seenAt(incident.first_seen_at)}, last seen `
      + seenAt(incident.last_seen_at)),
    decided ? el("p", { class: "decided" }, decided) : "",
    incident.suppression ? el("p", { class: "suppression" }, incident.suppression) : "",
    runs,
    mayDecide && incident.status !== "resolved" ? decisionForm(incident) : "");
}

async function loadIncidents() {
  $("incidents-error").hidden = true;
  try {
    const [incidents, probe] = await Promise.all([getJson("api/v1/incidents"),
      fetch("api/v1/permissions/incidents", { credentials: "same-origin" })]);
    const mayDecide = probe.status === 204;
    $("incidents-card").hidden = false;
    offerCsv("csv-incidents", "api/v1/incidents");
    const unresolved = incidents.filter((i) => i.status !== "resolved").length;
    $("incidents-status").textContent = (unresolved ? `${unresolved} not resolved` : "Nothing unresolved")
      + (mayDecide ? "." : ". Acknowledging and resolving is for operators.");
    $("incidents").replaceChildren(...incidents.map((i) => incidentItem(i, mayDecide)));
    if (!incidents.length) $("incidents").append(el("li", { class: "incident" }, "No incidents recorded."));
    document.body.dataset.incidentsReady = "true";
  } catch (error) {
    $("incidents-card").hidden = false;
    $("incidents-error").textContent = `Could not load the incidents (${error.message}).`;
    $("incidents-error").hidden = false;
  }
}

async function start() {
  try {
    [state.months, state.history, state.shops] = await Promise.all([getJson("api/v1/months"),
      getJson("api/v1/certifications?pipeline=certified_mrr"), getJson("api/v1/shops")]);
  } catch (error) {
    $("error").textContent = `Could not load the certified figures (${error.message}).`;
    $("error").hidden = false;
    return;
  }
  const units = [...new Set(state.months.flatMap((m) => m.business_units))].sort();
  $("business-unit").append(...units.map((u) => el("option", { value: u }, u)));
  if (state.months.length) $("from-month").value = monthLabel(state.months.at(-Math.min(24, state.months.length)).month);
  renderProvenance();
  renderHistory();
  renderShadows();
  offerCsv("csv-history", "api/v1/certifications?pipeline=certified_mrr");
  offerCsv("csv-shops", "api/v1/shops");
  for (const id of ["business-unit", "from-month", "to-month"]) $(id).addEventListener("change", refresh);
  $("bridge-month").addEventListener("change", showMonth);
  $("cohort-measure").addEventListener("change", () => { if (state.bridge) renderCohorts(); });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  startDrill();
  await Promise.all([refresh().then(reopenDrill), startShops(), startReconciliation(), loadIncidents()]);
}

followAirflowTheme();
start();
