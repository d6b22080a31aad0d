// The certified-revenue page. Amounts arrive as exact decimal strings and are
// shown as such, never recomputed; charts turn them into numbers only to place
// bars and lines.
"use strict";

const STEPS = [
  ["starting_mrr", "Starting MRR"], ["new", "New"], ["expansion", "Expansion"], ["contraction", "Contraction"],
  ["churn", "Churn"], ["winback", "Winback"], ["ending_mrr", "Ending MRR"],
];
const COLORS = { up: "#1f9d55", down: "#d64545", total: "#2f6fde" };
const charts = {};
const state = { months: [], bridge: null, cohorts: [], history: [] };

const $ = (id) => document.getElementById(id);

function money(text) {
  // Group the integer digits of an exact decimal string, keeping every digit.
  const negative = text.startsWith("-");
  const [whole, cents] = (negative ? text.slice(1) : text).split(".");
  return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + (cents || "00");
}

const monthLabel = (iso) => iso.slice(0, 7);

function exactTooltip(series) {
  // Tooltips show the certified strings themselves, not the chart's numbers.
  return (items) => `${items[0].axisValue}<br>` + items.filter((i) => series[i.seriesIndex][i.dataIndex] != null)
    .map((i) => `${i.marker}${i.seriesName}: ${money(series[i.seriesIndex][i.dataIndex])}`).join("<br>");
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
  if (!latest) { $("kpis").innerHTML = ""; return; }
  const cards = [
    ["Ending MRR", money(latest.ending_mrr), `as of ${latest.snapshot_date}`],
    ["Recognised revenue", money(latest.recognized_revenue), `${monthLabel(latest.month)}, through ${latest.snapshot_date}`],
    ["Net new MRR", money(latest.net_new_mrr), "new + expansion + contraction + churn + winback",
      latest.net_new_mrr.startsWith("-") ? "down" : "up"],
    ["Active customers", String(latest.active_customers), `customers with MRR on ${latest.snapshot_date}`],
  ];
  $("kpis").innerHTML = cards.map(([label, value, note, trend]) =>
    `<div class="kpi"><div class="label">${label}</div><div class="value ${trend ? "delta " + trend : ""}">${value}</div>` +
    `<div class="label">${note}</div></div>`).join("");
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
    ($("business-unit").value ? `, ${$("business-unit").value}` : ", all business units");
  let level = 0;
  const base = [], bars = [], labels = [], levels = [];
  for (const [key, name] of STEPS) {
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
  // Start the axis a little below the lowest level reached, so the movements are visible beside the totals.
  const low = Math.min(...levels), high = Math.max(...levels);
  const floor = Math.max(0, Math.floor(low - Math.max((high - low) * 1.5, high * 0.02)));
  chart("waterfall").setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
      formatter: (items) => `${items[1].name}: ${labels[items[1].dataIndex]}` },
    grid: { left: 70, right: 10, top: 20, bottom: 30 },
    xAxis: { type: "category", data: STEPS.map(([, name]) => name), axisLabel: { interval: 0, fontSize: 11 } },
    yAxis: { type: "value", min: floor },
    series: [
      { type: "bar", stack: "bridge", data: base, itemStyle: { color: "transparent" }, silent: true },
      { type: "bar", stack: "bridge", data: bars,
        label: { show: true, position: "top", fontSize: 10, formatter: (p) => labels[p.dataIndex] } },
    ],
  }, true);
  $("waterfall-table").innerHTML = "<tr><th>Step</th><th>Amount</th></tr>" + STEPS.map(([key, name]) =>
    `<tr data-step="${key}"><td>${name}</td><td>${money(row[key])}</td></tr>`).join("") +
    `<tr data-step="recognized_revenue"><td>Recognised revenue</td><td>${money(row.recognized_revenue)}</td></tr>`;
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
  const cells = {};
  for (const row of state.cohorts) {
    const key = `${row.cohort_month}|${row.months_since_cohort}`;
    const cell = (cells[key] ||= { start: 0, end: 0 });
    cell.start += Number(row.cohort_starting_mrr);
    cell.end += Number(row.ending_mrr);
  }
  const cohorts = [...new Set(state.cohorts.map((r) => r.cohort_month))].sort().slice(-24);
  const ages = [...new Set(state.cohorts.map((r) => r.months_since_cohort))].sort((a, b) => a - b);
  const data = [];
  for (const [key, cell] of Object.entries(cells)) {
    const [cohort, age] = key.split("|");
    const y = cohorts.indexOf(cohort);
    if (y >= 0 && cell.start > 0) data.push([Number(age), y, Math.round((1000 * cell.end) / cell.start) / 10]);
  }
  chart("cohort-chart").setOption({
    tooltip: { formatter: (p) => `Cohort ${monthLabel(cohorts[p.value[1]])}, month ${p.value[0]}: ${p.value[2]}%` },
    grid: { left: 70, right: 20, top: 10, bottom: 60 },
    xAxis: { type: "category", data: ages, name: "months since cohort", nameLocation: "middle", nameGap: 26 },
    yAxis: { type: "category", data: cohorts.map(monthLabel) },
    visualMap: { min: 0, max: 150, calculable: true, orient: "horizontal", left: "center", bottom: 0,
      inRange: { color: ["#fbe7e7", "#fff7d6", "#e3f6ea", "#1f9d55"] } },
    series: [{ type: "heatmap", data, label: { show: false } }],
  }, true);
}

function renderHistory() {
  const head = "<tr><th>Certification</th><th>Run</th><th>As of</th><th>Completeness</th><th>Integrity</th>" +
    "<th>Identity</th><th>Derivation</th><th>Status</th><th>Certified at</th></tr>";
  const mark = (check) => (!check ? "–" : check.passed === true ? '<span class="pass">pass</span>'
    : check.passed === false ? '<span class="fail">fail</span>' : '<span class="fail">not run</span>');
  $("history").innerHTML = head + state.history.map((c) => {
    const checks = Object.fromEntries(c.checks.map((k) => [k.check_name, k]));
    return `<tr title="${(c.failure_summary || "").replace(/"/g, "&quot;")}"><td>#${c.certification_id}</td>` +
      `<td>${c.run_id}</td><td>${c.as_of_date}</td><td>${mark(checks.completeness)}</td>` +
      `<td>${mark(checks.integrity)}</td><td>${mark(checks.movement_identity)}</td>` +
      `<td>${mark(checks.independent_derivation)}</td>` +
      `<td><span class="badge ${c.status === "certified" ? "certified" : "failed"}">${c.status}</span></td>` +
      `<td>${c.certified_at ? c.certified_at.slice(0, 19).replace("T", " ") : ""}</td></tr>`;
  }).join("");
}

function renderProvenance() {
  const latest = state.months.at(-1);
  if (!latest) { $("provenance").textContent = "No certified figures yet."; return; }
  $("provenance").innerHTML = `<span class="badge certified">certified</span> Figures through ` +
    `${latest.snapshot_date}, certification #${latest.certification_id}. Only certified months appear.`;
}

async function refresh() {
  $("error").hidden = true;
  try {
    const q = query();
    [state.bridge, state.cohorts] = await Promise.all([getJson(`api/v1/bridge?${q}`), getJson(`api/v1/cohorts?${q}`)]);
    const months = [...new Set(state.bridge.rows.map((r) => r.month))].sort();
    const chosen = $("bridge-month").value;
    $("bridge-month").innerHTML = months.map((m) => `<option value="${m}">${monthLabel(m)}</option>`).join("");
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
  $("business-unit").innerHTML += units.map((u) => `<option value="${u}">${u}</option>`).join("");
  if (state.months.length) $("from-month").value = monthLabel(state.months.at(-Math.min(24, state.months.length)).month);
  renderProvenance();
  renderHistory();
  for (const id of ["business-unit", "from-month", "to-month"]) $(id).addEventListener("change", refresh);
  $("bridge-month").addEventListener("change", renderWaterfall);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  await refresh();
}

start();
