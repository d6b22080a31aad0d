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
const COLORS = { up: "#1f7a45", down: "#c0392b", total: "#2f6fde" };
const charts = {};
const state = { months: [], bridge: null, cohorts: [], history: [] };

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

function exactTooltip(series) {
  // Tooltips show the certified strings themselves, not the chart's numbers, escaped.
  return (items) => `${escapeHtml(items[0].axisValue)}<br>` + items
    .filter((i) => series[i.seriesIndex][i.dataIndex] != null)
    .map((i) => `${i.marker}${escapeHtml(i.seriesName)}: ${escapeHtml(money(series[i.seriesIndex][i.dataIndex]))}`)
    .join("<br>");
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
    throw new Error(`${response.status}: ${detail || response.statusText}`);
  }
  return response.json();
}

function query() {
  const params = new URLSearchParams();
  if ($("business-unit").value) params.set("business_unit", $("business-unit").value);
  if ($("from-month").value) params.set("from_month", $("from-month").value);
  if ($("to-month").value) params.set("to_month", $("to-month").value);
  return params.toString();
}

function chart(id) {
  charts[id] = charts[id] || echarts.init($(id));
  return charts[id];
}

function rowsForView() {
  return $("business-unit").value ? state.bridge.rows : state.bridge.totals;
}

function renderKpis() {
  const rows = rowsForView();
  const latest = rows[rows.length - 1];
  const cards = latest ? [
    ["Ending MRR", money(latest.ending_mrr), `${latest.currency}, as of ${latest.snapshot_date}`],
    ["Recognised revenue", money(latest.recognized_revenue),
      `${latest.currency}, ${monthLabel(latest.month)} through ${latest.snapshot_date}`],
    ["Net new MRR", money(latest.net_new_mrr), "new + expansion + contraction + churn + winback",
      latest.net_new_mrr.startsWith("-") ? "down" : "up"],
    ["Active customers", String(latest.active_customers), `customers with MRR on ${latest.snapshot_date}`],
  ] : [];
  $("kpis").replaceChildren(...cards.map(([label, value, note, trend]) => el("div", { class: "kpi" },
    el("div", { class: "label" }, label),
    el("div", { class: `value${trend ? ` delta ${trend}` : ""}` }, value),
    el("div", { class: "label" }, note))));
}

function renderMrr() {
  const byUnit = {};
  for (const row of state.bridge.rows) (byUnit[row.business_unit] ||= {})[row.month] = row;
  const months = [...new Set(state.bridge.rows.map((r) => r.month))].sort();
  const series = Object.values(byUnit).map((rows) => months.map((m) => (rows[m] ? rows[m].ending_mrr : null)));
  chart("mrr-chart").setOption({
    tooltip: { trigger: "axis", formatter: exactTooltip(series) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: months.map(monthLabel) },
    yAxis: { type: "value" },
    series: Object.keys(byUnit).map((unit, index) => ({
      name: unit, type: "line", stack: "mrr", areaStyle: {}, showSymbol: false, data: series[index],
    })),
  }, true);
  chart("mrr-chart").off("click");
  chart("mrr-chart").on("click", (event) => { $("bridge-month").value = months[event.dataIndex]; renderWaterfall(); });
}

function renderWaterfall() {
  const row = rowsForView().find((r) => r.month === $("bridge-month").value) || rowsForView().at(-1);
  if (!row) return;
  $("waterfall-title").textContent = `MRR bridge, ${monthLabel(row.month)}` +
    ($("business-unit").value ? `, ${$("business-unit").value}` : ", all business units") + ` (${row.currency})`;
  let level = 0;
  const base = [], bars = [], labels = [];
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
  }
  chart("waterfall").setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
      formatter: (items) => `${escapeHtml(items[1].name)}: ${escapeHtml(labels[items[1].dataIndex])}` },
    grid: { left: 70, right: 10, top: 20, bottom: 30 },
    xAxis: { type: "category", data: STEPS.map(([, name]) => name), axisLabel: { interval: 0, fontSize: 11 } },
    yAxis: { type: "value", min: 0 },
    series: [
      { type: "bar", stack: "bridge", data: base, itemStyle: { color: "transparent" }, silent: true },
      { type: "bar", stack: "bridge", data: bars,
        label: { show: true, position: "top", fontSize: 10, formatter: (p) => labels[p.dataIndex] } },
    ],
  }, true);
  $("waterfall-table").replaceChildren(
    el("tr", {}, el("th", {}, "Step"), el("th", {}, `Amount (${row.currency})`)),
    ...STEPS.map(([key, name]) => el("tr", { dataset: { step: key } }, el("td", {}, name), el("td", {}, money(row[key])))),
    el("tr", { dataset: { step: "net_new_mrr" } }, el("td", {}, "Net new MRR"), el("td", {}, money(row.net_new_mrr))),
    el("tr", { dataset: { step: "recognized_revenue" } }, el("td", {}, "Recognised revenue"),
      el("td", {}, money(row.recognized_revenue))));
}

function renderRevenue() {
  const rows = rowsForView();
  const revenue = rows.map((r) => r.recognized_revenue);
  const mrr = rows.map((r) => r.ending_mrr);
  chart("revenue-chart").setOption({
    tooltip: { trigger: "axis", formatter: exactTooltip([revenue, mrr]) },
    legend: { top: 0 },
    grid: { left: 70, right: 20, top: 36, bottom: 30 },
    xAxis: { type: "category", data: rows.map((r) => monthLabel(r.month)) },
    yAxis: { type: "value" },
    series: [
      { name: "Recognised revenue", type: "bar", data: revenue, color: "#8fb3f0" },
      { name: "Ending MRR", type: "line", data: mrr, color: COLORS.total, showSymbol: false },
    ],
  }, true);
}

function renderCohorts() {
  // Each cell is a published percentage (certified with the figures), shown as published.
  const cohorts = [...new Set(state.cohorts.map((r) => r.cohort_month))].sort().slice(-24);
  const ages = [...new Set(state.cohorts.map((r) => r.months_since_cohort))].sort((a, b) => a - b);
  const cells = {};
  const data = [];
  for (const row of state.cohorts) {
    const y = cohorts.indexOf(row.cohort_month);
    if (y < 0 || row.mrr_retention_pct === null) continue;
    cells[`${row.months_since_cohort}|${y}`] = row;
    data.push([row.months_since_cohort, y, Number(row.mrr_retention_pct)]);
  }
  chart("cohort-chart").setOption({
    tooltip: { formatter: (p) => {
      const row = cells[`${p.value[0]}|${p.value[1]}`];
      return escapeHtml(`Cohort ${monthLabel(row.cohort_month)}, month ${row.months_since_cohort}: ` +
        `${row.mrr_retention_pct}% of MRR, ${row.active_customers} of ${row.cohort_customers} customers`);
    } },
    grid: { left: 70, right: 20, top: 10, bottom: 60 },
    xAxis: { type: "category", data: ages, name: "months since cohort", nameLocation: "middle", nameGap: 26 },
    yAxis: { type: "category", data: cohorts.map(monthLabel) },
    visualMap: { min: 0, max: 150, calculable: true, orient: "horizontal", left: "center", bottom: 0,
      inRange: { color: ["#fbe7e7", "#fff7d6", "#e3f6ea", "#1f9d55"] } },
    series: [{ type: "heatmap", data, label: { show: false } }],
  }, true);
}

function checkMark(check) {
  if (!check) return el("span", {}, "–");
  if (check.passed === true) return el("span", { class: "pass" }, "pass");
  if (check.passed === false) return el("span", { class: "fail" }, "fail");
  return el("span", { class: "fail" }, "blocked");
}

function renderHistory() {
  const head = el("tr", {}, ...["Certification", "Run", "As of", "Completeness", "Integrity", "Identity",
    "Derivation", "Status", "Certified at"].map((h) => el("th", {}, h)));
  $("history").replaceChildren(head, ...state.history.map((c) => {
    const checks = Object.fromEntries(c.checks.map((k) => [k.check_name, k]));
    return el("tr", { title: c.failure_summary || "" },
      el("td", {}, `#${c.certification_id}`), el("td", {}, c.run_id), el("td", {}, c.as_of_date),
      el("td", {}, checkMark(checks.completeness)), el("td", {}, checkMark(checks.integrity)),
      el("td", {}, checkMark(checks.movement_identity)), el("td", {}, checkMark(checks.independent_derivation)),
      el("td", {}, el("span", { class: `badge ${c.status === "certified" ? "certified" : "failed"}` }, c.status)),
      el("td", {}, c.certified_at || ""));
  }));
}

function renderProvenance() {
  const latest = state.months.at(-1);
  if (!latest) { $("provenance").textContent = "No certified figures yet."; return; }
  $("provenance").replaceChildren(el("span", { class: "badge certified" }, "certified"),
    ` Figures through ${latest.snapshot_date}, certification #${latest.certification_id}, in ${latest.currency}. ` +
    "Only certified months appear.");
}

async function refresh() {
  $("error").hidden = true;
  try {
    const q = query();
    [state.bridge, state.cohorts] = await Promise.all([getJson(`api/v1/bridge?${q}`), getJson(`api/v1/cohorts?${q}`)]);
    const months = [...new Set(state.bridge.totals.map((r) => r.month))].sort();
    const chosen = $("bridge-month").value;
    $("bridge-month").replaceChildren(...months.map((m) => el("option", { value: m }, monthLabel(m))));
    $("bridge-month").value = months.includes(chosen) ? chosen : months.at(-1) || "";
    renderKpis();
    renderMrr();
    renderWaterfall();
    renderRevenue();
    renderCohorts();
    document.body.dataset.ready = "true";
  } catch (error) {
    $("error").textContent = `Could not load the certified figures (${error.message}).`;
    $("error").hidden = false;
  }
}

async function start() {
  try {
    [state.months, state.history] = await Promise.all([getJson("api/v1/months"), getJson("api/v1/certifications")]);
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
  for (const id of ["business-unit", "from-month", "to-month"]) $(id).addEventListener("change", refresh);
  $("bridge-month").addEventListener("change", renderWaterfall);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  await refresh();
}

start();
