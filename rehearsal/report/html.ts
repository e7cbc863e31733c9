// `rollcall compare --html FILE`: the comparison as one self-contained HTML file. Inline CSS and inline SVG only, no
// script and no external resource, so it opens offline, reads without JavaScript and prints on A4. Everything that
// comes from the data (names, labels, settings, versions) is escaped.
import { writeFile } from 'node:fs/promises';
import { escapeHtml } from '../../src/service/visit-page.ts';
import type { ComparisonReport, PhaseCount, RunResult } from '../result.ts';
import { FAILED_COLOUR, MARKER_LABELS, STATE_LABELS, STATE_PATTERNS, patternDefs, versionColours } from './palette.ts';
import { numberMarkers, renderTimeline, seconds } from './svg-timeline.ts';

const STYLE = `
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;line-height:1.4}
body{margin:1.5rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .3rem}
.meta{color:#444;margin:.2rem 0}
table{border-collapse:collapse;font-size:.78rem;width:100%}.table-wrap{overflow-x:auto}
th{font-size:.72rem;font-weight:600}
th,td{border:1px solid #bbb;padding:.25rem .35rem;vertical-align:top;text-align:left}
th{background:#f0f0f0}td.num{text-align:right;white-space:nowrap}
.settings{margin:0;padding:0;list-style:none;font-size:.72rem;color:#333}.reason{font-size:.72rem;color:#333}
.bad{color:${FAILED_COLOUR};font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:.4rem 1rem;font-size:.8rem;margin:.5rem 0;align-items:center}
.legend svg{vertical-align:middle;border:1px solid #999}
svg.timeline{display:block;font-size:11px;margin:.3rem 0}
svg .pod-name,svg .axis-label,svg .tick{fill:#222}svg .axis-label{font-size:10px}
svg .span-label{fill:#fff;font-weight:600;paint-order:stroke;stroke:#000;stroke-width:2px;stroke-opacity:.35}
svg .span-label.dark{fill:#111;stroke:#fff;stroke-width:3px;stroke-opacity:.85}
svg .grid{stroke:#ddd;stroke-width:1}svg .axis{stroke:#333}
svg .marker-line{stroke:#333;stroke-width:1.2;stroke-dasharray:4 3}
svg .badge{fill:#fff;stroke:#333}svg .manual-step .badge{fill:#ffe08a;stroke-width:2}svg .badge-text{font-size:10px;font-weight:700;fill:#111}
ol.markers{font-size:.8rem;margin:.2rem 0 0;padding-left:1.6rem;columns:2}
.figures{font-size:.85rem;margin:.2rem 0}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;margin:0;padding:0}.table-wrap{overflow:visible}.settings{font-size:6pt}
  table{table-layout:fixed}th,td{overflow-wrap:anywhere;padding:2px 3px}th{font-size:6pt;hyphens:auto}td.num{white-space:normal}section.run{break-inside:avoid}table{font-size:7pt}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}ol.markers{font-size:8pt}}
`;

function phase({ requests, failed }: PhaseCount): string {
  return `${failed}/${requests}`;
}

function percent(share: number): string {
  // Enough digits that a small but real share never shows as 0, few enough that a column stays narrow.
  const digits = share === 0 || share >= 0.1 ? 0 : share < 0.01 ? 2 : 1;
  return `${(share * 100).toFixed(digits)}\u00a0%`;
}

function orDash(ms: number | null): string {
  return ms === null ? '—' : seconds(ms);
}

/** The release watch's verdict (figures.detection) and, with an Argo Rollouts analysis, its verdict time. */
function detection(f: RunResult['figures']): string {
  const parts: string[] = [];
  if (f.detection) parts.push(`<span class="bad">${escapeHtml(f.detection.rule)}</span> after ${seconds(f.detection.afterMs)}<br><span class="reason">${escapeHtml(f.detection.reason)}</span>`);
  if (f.detectMs !== null) parts.push(`analysis failed after ${seconds(f.detectMs)}`);
  return parts.length ? parts.join('<br>') : 'no, judged good';
}

function settingsList(settings: RunResult['settings']): string {
  const items = Object.entries(settings).map(([key, value]) => `<li>${escapeHtml(key)}: <code>${escapeHtml(String(value))}</code></li>`);
  return `<ul class="settings">${items.join('')}</ul>`;
}

function runId(i: number): string {
  // An id built from the index only: data never ends up inside an id or a url(#…) reference.
  return `run${i}-`;
}

function tableRow(run: RunResult, i: number): string {
  const f = run.figures;
  const lossy = f.lost > 0 || f.duplicated > 0;
  const cells = [
    `<td><a href="#${runId(i)}section">${escapeHtml(run.overlay)}</a><br>${escapeHtml(run.scenario)}</td>`,
    `<td>${settingsList(run.settings)}</td>`,
    `<td class="num">${seconds(f.launchToAllReadyMs)}</td>`,
    `<td class="num">before ${phase(f.before)}<br><span${f.during.failed ? ' class="bad"' : ''}>during ${phase(f.during)}</span><br>after ${phase(f.after)}</td>`,
    `<td class="num${f.peakFailedShare > 0 ? ' bad' : ''}">${percent(f.peakFailedShare)}</td>`,
    `<td class="num">${f.fewestReady} / ${seconds(f.belowFullReadyMs)}</td>`,
    `<td class="num${f.downtimeMs > 0 ? ' bad' : ''}">${seconds(f.downtimeMs)}</td>`,
    `<td>${f.podsUpdated}${typeof run.settings['replicas'] === 'number' ? ` of ${run.settings['replicas']}` : ''}${f.stoppedByItself ? ', <span class="bad">stalled</span>' : ''}</td>`,
    `<td class="num">${orDash(f.revertToRecoveredMs)}</td>`,
    `<td class="detection">${detection(f)}</td>`,
    `<td class="num">${seconds(f.twoVersionsServingMs)}</td>`,
    `<td>${f.manualSteps.length ? f.manualSteps.map((step) => `<code>${escapeHtml(step)}</code>`).join('<br>') : 'none'}</td>`,
    `<td class="num${lossy ? ' bad' : ''}">${f.lost} / ${f.duplicated}</td>`,
  ];
  return `<tr data-run="${i}">${cells.join('')}</tr>`;
}

function legend(colours: Map<string, string>): string {
  const swatch = (body: string, text: string) =>
    `<span><svg width="34" height="14" aria-hidden="true">${body}</svg> ${escapeHtml(text)}</span>`;
  const versions = [...colours].map(([version, colour]) => swatch(`<rect width="34" height="14" fill="${colour}"/>`, version));
  const grey = '#7f7f7f';
  const states = (Object.keys(STATE_LABELS) as (keyof typeof STATE_LABELS)[]).map((state) => {
    const pattern = STATE_PATTERNS[state];
    const body =
      state === 'not-running'
        ? '<rect x="0.5" y="0.5" width="33" height="13" fill="#fff" stroke="#888" stroke-dasharray="3 2"/>'
        : `<rect width="34" height="14" fill="${grey}"/>${pattern ? `<rect width="34" height="14" fill="url(#legend-${pattern})"/>` : ''}`;
    return swatch(body, STATE_LABELS[state]);
  });
  const failed = swatch('<rect width="34" height="14" fill="url(#legend-failed)"/>', 'failed requests');
  return `<svg width="0" height="0" style="position:absolute" aria-hidden="true">${patternDefs('legend-')}</svg>
<div class="legend" role="list" aria-label="Legend"><strong>Versions:</strong> ${versions.join('')} <strong>Pod states:</strong> ${states.join('')} <strong>Requests:</strong> ${failed} <span>numbered boxes: markers, listed under each chart</span></div>`;
}

function verdict(f: RunResult['figures']): string {
  if (!f.detection) return 'The release was judged good.';
  return `Judged bad by the rule <strong class="detection-rule">${escapeHtml(f.detection.rule)}</strong> ${seconds(f.detection.afterMs)} after the rollout start: ${escapeHtml(f.detection.reason)}.`;
}

function runSection(run: RunResult, i: number, colours: Map<string, string>): string {
  const id = runId(i);
  const title = `${run.overlay} · ${run.scenario}`;
  const t = run.timeline;
  const failed = t.traffic.reduce((n, slot) => n + Object.values(slot.failed).reduce((a, b) => a + b, 0), 0);
  const requests = t.traffic.reduce((n, slot) => n + Object.values(slot.ok).reduce((a, b) => a + b, 0), 0) + failed;
  const markers = numberMarkers(t.markers).map(
    (m) => `<li value="${m.n}" data-kind="${escapeHtml(m.kind)}"><strong>${seconds(m.atMs)}</strong> ${escapeHtml(MARKER_LABELS[m.kind] ?? m.kind)}: ${escapeHtml(m.label)}</li>`,
  );
  const svg = renderTimeline(t, {
    id,
    colours,
    title: `Timeline of ${title}: ${t.pods.length} pods over ${seconds(t.endMs)}; ${failed} of ${requests} requests failed`,
  });
  return `<section class="run" id="${id}section" data-run="${i}">
<h2>${escapeHtml(title)}</h2>
<p class="figures">${t.pods.length} pods, ${seconds(t.endMs)}; requests in this timeline: <span class="requests">${requests}</span>, failed: <span class="failed-count${failed ? ' bad' : ''}">${failed}</span>. ${verdict(run.figures)}</p>
${svg}
${markers.length ? `<ol class="markers">${markers.join('')}</ol>` : '<p>No markers.</p>'}
</section>`;
}

export function renderReport(report: ComparisonReport): string {
  const versions = report.runs.flatMap((run) => [
    ...run.timeline.pods.flatMap((pod) => pod.spans.flatMap((span) => (span.version === null ? [] : [span.version]))),
    ...run.timeline.traffic.flatMap((slot) => Object.keys(slot.ok)),
  ]);
  const colours = versionColours(versions);
  const m = report.machine;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rollcall compare: ${report.runs.length} rehearsals</title>
<style>${STYLE}</style></head>
<body>
<h1>rollcall compare</h1>
<p class="meta">Generated ${escapeHtml(report.generatedAt)} on ${escapeHtml(String(m.cpus))} × ${escapeHtml(m.cpuModel)}, ${escapeHtml(String(m.memoryGiB))} GiB, Node ${escapeHtml(m.node)}, ${escapeHtml(m.platform)}.</p>
<p class="meta">Figures from: <span class="cluster">${escapeHtml(report.cluster?.description ?? 'model')}</span>.</p>
<p class="meta">Time scale ${escapeHtml(String(report.timeScale))}: the manifests' timings (probes, minReadySeconds, drain, back-off) were multiplied by it; process start-up is real time. Every time in this report is the rehearsal's own (real) time: divide by ${escapeHtml(String(report.timeScale))} for the time on a cluster with the manifests' timings. Load: ${escapeHtml(String(report.rate))} requests per second in total from ${escapeHtml(String(report.connections))} concurrent clients, paced.</p>
<p class="meta">Detection (a bad release is then reverted): <span class="detection-rules">${escapeHtml(report.detectionRules)}</span>.</p>
<p class="meta">Each timeline starts at 0 s: an overlay's first run at the creation of its first v1 pod (the launch is shown), its later runs at their own start (every pod Ready on v1).</p>
<div class="table-wrap"><table class="comparison">
<colgroup>${[8, 16, 6, 10, 6, 6, 6, 6, 6, 10, 6, 9, 5].map((w) => `<col style="width:${w}%">`).join('')}</colgroup>
<thead><tr><th>Overlay, release</th><th>Settings</th><th>Launch to all ready</th><th>Failed / requests</th><th>Peak failed share (1 s)</th><th>Fewest ready / time below full</th><th>Down&shy;time</th><th>Pods up&shy;dated to v2 (stalled: the roll&shy;out stopped by it&shy;self)</th><th>Revert to re&shy;covered</th><th>Judged bad by (after rollout start)</th><th>Two ver&shy;sions serving</th><th>Manual steps</th><th>Visits lost / dupli&shy;cated</th></tr></thead>
<tbody>
${report.runs.map(tableRow).join('\n')}
</tbody>
</table></div>
${legend(colours)}
${report.runs.map((run, i) => runSection(run, i, colours)).join('\n')}
</body>
</html>
`;
}

/** What `rollcall compare --html FILE` calls: the report, written as one file. */
export async function writeHtmlReport(report: ComparisonReport, file: string): Promise<void> {
  await writeFile(file, renderReport(report));
}
