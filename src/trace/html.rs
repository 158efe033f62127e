//! A counterexample as one self-contained HTML page (`ftcheck export FILE --to html`): an SVG
//! sequence chart (a lane per actor, an arrow per delivered message, marks for timeouts,
//! crashes, recoveries, drops, Byzantine choices and steps of a plain model, the loop of a
//! lasso boxed), the numbered list of steps, and a panel that shows a step's full state and
//! what it changed when the step is clicked (or chosen with the arrow keys).
//!
//! The page fetches nothing: its style, script and the trace itself (as JSON) are inline, and a
//! Content-Security-Policy forbids any other source, so it opens offline and from a CI
//! artifact. The chart is drawn here, in Rust, so it is the same in every browser and its
//! shape is testable without one; the script only selects steps and computes the changes
//! between two states.

use crate::describe::StepKind;
use crate::runner::PropertyKind;
use crate::trace::{self, TraceFile};

/// Horizontal room per lane.
const LANE_W: usize = 170;
/// Left margin (room for the loop's back-arrow).
const LEFT: usize = 40;
/// The first step's row.
const TOP: usize = 96;
/// Height of a step's row.
const ROW: usize = 34;
/// Room right of the last lane for the labels of its marks.
const LABEL_ROOM: usize = 380;
/// The legend's width: the chart is at least this wide.
const LEGEND_W: usize = 880;
/// Width of a character of the chart's monospace font, about (12px).
const CHAR_W: usize = 7;
/// Shortest clipped label (the full text is in its tooltip and the step list).
const LABEL_MIN: usize = 16;

/// Escapes text for HTML and SVG (content and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis if cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// A step's label in the chart: the message, or the event and its detail.
pub fn step_label(step: &crate::runner::Step) -> String {
    let e = &step.event;
    match (e.kind, &e.msg, &e.detail) {
        (StepKind::Deliver, Some(m), _) => m.clone(),
        (StepKind::Drop, Some(m), _) => format!("{m} [dropped]"),
        (StepKind::Step, _, Some(d)) => d.clone(),
        (k, _, Some(d)) => format!("{k} {d}"),
        (k, _, None) => k.to_string(),
    }
}

/// The page.
pub fn html(file: &TraceFile, stem: &str) -> String {
    let t = &file.trace;
    let title = match &file.variant {
        Some(v) => format!("{} (variant {v})", file.model),
        None => file.model.clone(),
    };
    let ending = match (file.kind, t.loop_start) {
        (PropertyKind::Liveness, Some(k)) => {
            format!("; the steps after state {k} repeat forever")
        }
        (PropertyKind::Liveness, None) => "; it stops there: no step is forced".into(),
        _ => String::new(),
    };
    let headline = format!(
        "{title}: {} property {} {} after {} steps{ending}",
        file.kind,
        file.property,
        file.verdict,
        t.steps.len()
    );
    let params: Vec<String> = file
        .params
        .iter()
        .map(|(k, v)| format!("{k}={}", trace::param_text(v)))
        .collect();
    let about = format!(
        "parameters {} · found by {}{} · replay with {} replay {}.trace.json",
        if params.is_empty() {
            "none".to_string()
        } else {
            params.join(" ")
        },
        file.engine,
        if file.symmetry { " with symmetry" } else { "" },
        crate::error::program(),
        stem
    );
    let mut steps_list = format!(
        "<li data-step=\"0\" tabindex=\"0\"><span class=\"n\">0.</span> initial state{}</li>\n",
        escape(&trace::initial_summary(&t.init_state))
    );
    for step in &t.steps {
        let loop_mark = match t.loop_start {
            Some(k) if step.n == k + 1 => " <span class=\"loopmark\">loop starts</span>",
            _ => "",
        };
        steps_list.push_str(&format!(
            "<li data-step=\"{n}\" data-kind=\"{kind}\" tabindex=\"0\"><span class=\"n\">{n}.</span> {what}{loop_mark}</li>\n",
            n = step.n,
            kind = step.event.kind,
            what = escape(&trace::event_text_padded(&step.event, 0)),
        ));
    }
    // `<` never appears in the embedded JSON outside strings; escaped, `</script>` cannot end
    // the block early.
    // The page shows each step as the text report does (`event_text`, beside each step).
    let mut value = serde_json::to_value(file).expect("a trace serialises");
    if let Some(steps) = value.get_mut("steps").and_then(|s| s.as_array_mut()) {
        for (json, step) in steps.iter_mut().zip(&t.steps) {
            json["event_text"] = trace::event_text_padded(&step.event, 0).into();
        }
    }
    let data = value.to_string().replace('<', "\\u003c");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ftcheck {version}">
<title>{title_text}</title>
<style>
{STYLE}
</style>
</head>
<body>
<header>
<h1 id="headline">{headline}</h1>
<p id="about">{about}</p>
</header>
<main>
<section id="chart" aria-label="sequence chart">
{svg}
</section>
<section id="side">
<nav aria-label="steps"><h2>Steps</h2>
<ol id="steps">
{steps_list}</ol>
</nav>
<section id="detail" aria-live="polite">
<h2 id="detail-title">Click a step (or use ↑ ↓) to see its state and what it changed.</h2>
<div id="detail-event"></div>
<table id="detail-changes" hidden><thead><tr><th>changed</th><th>before</th><th>after</th></tr></thead><tbody></tbody></table>
<pre id="detail-state" hidden></pre>
</section>
</section>
</main>
<script type="application/json" id="trace-data">{data}</script>
<script>
{SCRIPT}
</script>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        title_text = escape(&format!("{} — {} {}", stem, file.property, file.verdict)),
        headline = escape(&headline),
        about = escape(&about),
        svg = svg(file),
    )
}

/// The x of lane `i`'s line.
fn lane_x(i: usize) -> usize {
    LEFT + LANE_W * i + LANE_W / 2
}

/// The y of step `n`'s row (step 0: the initial state).
fn row_y(n: usize) -> usize {
    TOP + ROW * n
}

/// The sequence chart.
fn svg(file: &TraceFile) -> String {
    let t = &file.trace;
    let lanes = t.lanes.len().max(1);
    let lane_of = |name: Option<&str>| -> usize {
        name.and_then(|n| t.lanes.iter().position(|l| l == n))
            .unwrap_or(0)
    };
    let width = (LEFT + LANE_W * lanes + LABEL_ROOM).max(LEGEND_W);
    let height = row_y(t.steps.len()) + 2 * ROW;
    let mut out = format!(
        "<svg id=\"sequence\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n",
        escape(&format!("sequence chart of {} steps", t.steps.len()))
    );
    out.push_str(concat!(
        "<defs>",
        "<marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>",
        "<marker id=\"loophead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>",
        "</defs>\n"
    ));
    // Legend.
    out.push_str(&legend());
    // The loop of a lasso: a box over its steps and a back-arrow on the left.
    if let Some(k) = t.loop_start {
        let (y1, y2) = (row_y(k + 1) - ROW / 2, row_y(t.steps.len()) + ROW / 2);
        out.push_str(&format!(
            "<g id=\"loop\" data-from=\"{}\" data-to=\"{}\"><rect class=\"loop-box\" x=\"{}\" y=\"{y1}\" width=\"{}\" height=\"{}\" rx=\"6\"/><path class=\"loop-back\" d=\"M{} {} H{} V{} H{}\" marker-end=\"url(#loophead)\"/></g>\n",
            k + 1,
            t.steps.len(),
            LEFT - 10,
            width - LEFT,
            y2 - y1,
            LEFT - 10,
            y2 - 8,
            LEFT - 28,
            y1 + 8,
            LEFT - 10,
        ));
    }
    // Lanes: a header and a line each.
    for (i, lane) in t.lanes.iter().enumerate() {
        let x = lane_x(i);
        out.push_str(&format!(
            "<g class=\"lane\" data-lane=\"{name}\"><rect class=\"lane-head\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"24\" rx=\"4\"/><text class=\"lane-name\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{name}</text><line class=\"lane-line\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/></g>\n",
            x - (LANE_W - 30) / 2,
            TOP - ROW - 26,
            LANE_W - 30,
            TOP - ROW - 9,
            TOP - ROW - 2,
            row_y(t.steps.len()) + ROW / 2,
            name = escape(lane),
        ));
    }
    // What the trace shows, under the last step.
    let ending = match (file.kind, t.loop_start) {
        (PropertyKind::Liveness, Some(k)) => format!(
            "the loop returns to state {k} and repeats forever: {} {}",
            file.property, file.verdict
        ),
        (PropertyKind::Liveness, None) => format!(
            "the run stops here (no step is forced): {} {}",
            file.property, file.verdict
        ),
        _ => format!(
            "{} {} at state {}",
            file.property,
            file.verdict,
            t.steps.len()
        ),
    };
    out.push_str(&format!(
        "<text id=\"verdict\" class=\"verdict {}\" x=\"{LEFT}\" y=\"{}\">{}</text>\n",
        escape(file.verdict.name()),
        row_y(t.steps.len()) + ROW + 4,
        escape(&ending)
    ));
    // The initial state's row.
    out.push_str(&format!(
        "<g class=\"step\" data-step=\"0\"><rect class=\"hit\" x=\"0\" y=\"{}\" width=\"{width}\" height=\"{ROW}\"/><text class=\"label\" x=\"{}\" y=\"{}\">0. initial state{}</text></g>\n",
        row_y(0) - ROW / 2,
        LEFT,
        row_y(0) + 4,
        escape(&clip(&trace::initial_summary(&t.init_state), (width - LEFT) / CHAR_W - 20)),
    ));
    for step in &t.steps {
        let e = &step.event;
        let y = row_y(step.n);
        let from = lane_of(e.from.as_deref());
        let x = lane_x(from);
        let label = format!("{}. {}", step.n, step_label(step));
        // As much of the label as fits: between the arrow's ends, or right of the mark.
        let room = match e.kind {
            StepKind::Deliver | StepKind::Drop if e.to.as_deref() != e.from.as_deref() => {
                lane_x(lane_of(e.to.as_deref())).abs_diff(x) - 8
            }
            _ => width - x - 20,
        };
        let shown = escape(&clip(&label, (room / CHAR_W).max(LABEL_MIN)));
        let mut g = format!(
            "<g class=\"step\" data-step=\"{}\" data-kind=\"{}\"><title>{}</title><rect class=\"hit\" x=\"0\" y=\"{}\" width=\"{width}\" height=\"{ROW}\"/>",
            step.n,
            e.kind,
            escape(&format!("{}. {}", step.n, trace::event_text_padded(&step.event, 0))),
            y - ROW / 2,
        );
        match e.kind {
            StepKind::Deliver | StepKind::Drop => {
                let to = lane_of(e.to.as_deref());
                let x2 = lane_x(to);
                let drop = e.kind == StepKind::Drop;
                if to == from {
                    // A message to oneself: a small loop right of the lane.
                    g.push_str(&format!(
                        "<path class=\"arrow{}\" d=\"M{x} {} h28 v14 h-26\" marker-end=\"url(#arrowhead)\"/>",
                        if drop { " dropped" } else { "" },
                        y - 8,
                    ));
                    g.push_str(&format!(
                        "<text class=\"label\" x=\"{}\" y=\"{}\">{shown}</text>",
                        x + 34,
                        y + 4
                    ));
                } else if drop {
                    let mid = (x + x2) / 2;
                    g.push_str(&format!(
                        "<line class=\"arrow dropped\" x1=\"{x}\" y1=\"{y}\" x2=\"{mid}\" y2=\"{y}\"/>{}",
                        cross("mark drop", mid, y)
                    ));
                    g.push_str(&arrow_label(x, x2, y, &shown));
                } else {
                    g.push_str(&format!(
                        "<line class=\"arrow\" x1=\"{x}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#arrowhead)\"/>",
                    ));
                    g.push_str(&arrow_label(x, x2, y, &shown));
                }
            }
            kind => {
                g.push_str(&mark(kind, x, y));
                g.push_str(&format!(
                    "<text class=\"label\" x=\"{}\" y=\"{}\">{shown}</text>",
                    x + 14,
                    y + 4
                ));
            }
        }
        g.push_str("</g>\n");
        out.push_str(&g);
    }
    out.push_str("</svg>");
    out
}

/// A message arrow's label, centred above it.
fn arrow_label(x1: usize, x2: usize, y: usize, shown: &str) -> String {
    format!(
        "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{shown}</text>",
        (x1 + x2) / 2,
        y - 5
    )
}

/// An ✕ drawn with two lines (no font needed).
fn cross(class: &str, x: usize, y: usize) -> String {
    format!(
        "<path class=\"{class}\" d=\"M{} {} l12 12 M{} {} l-12 12\"/>",
        x - 6,
        y - 6,
        x + 6,
        y - 6
    )
}

/// The mark of an event that is not a message: drawn shapes, so no font is needed.
fn mark(kind: StepKind, x: usize, y: usize) -> String {
    match kind {
        StepKind::Crash => cross("mark crash", x, y),
        StepKind::Recover => format!(
            "<path class=\"mark recover\" d=\"M{x} {} l7 12 h-14 z\"/>",
            y - 7
        ),
        StepKind::Timeout => format!(
            "<g class=\"mark timeout\"><circle cx=\"{x}\" cy=\"{y}\" r=\"7\"/><path d=\"M{x} {y} v-5 M{x} {y} h4\"/></g>"
        ),
        StepKind::Choose => format!(
            "<path class=\"mark choose\" d=\"M{x} {} l7 7 l-7 7 l-7 -7 z\"/>",
            y - 7
        ),
        _ => format!("<circle class=\"mark step\" cx=\"{x}\" cy=\"{y}\" r=\"5\"/>"),
    }
}

/// The legend of marks, above the lanes.
fn legend() -> String {
    let items = [
        (StepKind::Deliver, "message delivered"),
        (StepKind::Drop, "message dropped"),
        (StepKind::Timeout, "timeout"),
        (StepKind::Crash, "crash"),
        (StepKind::Recover, "recovery"),
        (StepKind::Choose, "Byzantine / random choice"),
        (StepKind::Step, "step"),
    ];
    let mut out = String::from("<g id=\"legend\">");
    let mut x = LEFT;
    let y = 14;
    for (kind, text) in items {
        let symbol = match kind {
            StepKind::Deliver => format!(
                "<line class=\"arrow\" x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" marker-end=\"url(#arrowhead)\"/>",
                x + 22
            ),
            StepKind::Drop => format!(
                "<line class=\"arrow dropped\" x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>{}",
                x + 14,
                cross("mark drop", x + 16, y)
            ),
            k => mark(k, x + 8, y),
        };
        out.push_str(&format!(
            "<g class=\"legend-item\" data-kind=\"{kind}\">{symbol}<text x=\"{}\" y=\"{}\">{text}</text></g>",
            x + 28,
            y + 4
        ));
        x += 36 + text.len() * 7;
    }
    out.push_str("</g>\n");
    out
}

const STYLE: &str = r#"body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 10px 18px; background: #f4f6f8; border-bottom: 1px solid #d8dde3; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 8px 0; }
#about { margin: 0; color: #555; font-size: 13px; }
main { display: flex; gap: 16px; padding: 12px 18px; align-items: flex-start; }
#chart { overflow: auto; flex: 0 1 auto; max-width: 62vw; max-height: 88vh; border: 1px solid #e2e6ea; }
#side { flex: 1 1 360px; min-width: 320px; }
#steps { margin: 0; padding-left: 0; list-style: none; max-height: 38vh; overflow: auto; border: 1px solid #e2e6ea; }
#steps li { padding: 2px 8px; cursor: pointer; font: 12px/1.5 ui-monospace, monospace; }
#steps li:hover { background: #eef3f8; }
#steps li.selected { background: #fff1b8; }
#steps .n { color: #888; }
.loopmark { color: #7a3fb0; font-weight: bold; }
#detail-state { background: #f8f9fa; border: 1px solid #e2e6ea; padding: 8px; max-height: 36vh; overflow: auto; font-size: 12px; }
#detail-changes { border-collapse: collapse; font: 12px ui-monospace, monospace; margin-bottom: 8px; }
#detail-changes td, #detail-changes th { border: 1px solid #e2e6ea; padding: 2px 6px; text-align: left; vertical-align: top; max-width: 300px; overflow-wrap: anywhere; }
#detail-event { font: 12px ui-monospace, monospace; margin-bottom: 6px; }
svg text { font: 12px ui-monospace, monospace; fill: #222; }
.lane-head { fill: #e8eef5; stroke: #9fb3c8; }
.lane-name { font-weight: bold; }
.lane-line { stroke: #9fb3c8; stroke-dasharray: 4 3; }
.step { cursor: pointer; }
.hit { fill: transparent; }
.step:hover .hit { fill: #eef3f8; }
.step.selected .hit { fill: #fff1b8; }
.arrow { stroke: #1f5fa8; stroke-width: 1.6; fill: none; }
.arrow.dropped { stroke: #b03030; stroke-dasharray: 5 3; }
#arrowhead path { fill: #1f5fa8; }
#loophead path { fill: #7a3fb0; }
.mark { stroke-width: 2; }
.mark.crash, .mark.drop { stroke: #c02020; fill: none; stroke-width: 2.4; }
.mark.recover { fill: #2f9e44; stroke: none; }
.timeout circle { fill: #fff; stroke: #d08400; }
.timeout path { stroke: #d08400; fill: none; }
.mark.choose { fill: #e8590c; stroke: none; }
.mark.step { fill: #555; }
.loop-box { fill: #f3ebfa; stroke: #7a3fb0; stroke-dasharray: 6 3; }
.loop-back { stroke: #7a3fb0; stroke-width: 1.6; fill: none; }
.legend-item text { fill: #555; font-size: 11px; }
svg .verdict { fill: #b03030; font-weight: bold; }
svg .verdict.reached { fill: #2f7a3a; }
.changed-key { color: #7a3fb0; }"#;

const SCRIPT: &str = r##""use strict";
const trace = JSON.parse(document.getElementById("trace-data").textContent);
const states = [trace.init_state].concat(trace.steps.map(s => s.state));
const show = v => v === undefined ? "—" : JSON.stringify(v);
// Every path whose value differs between two states: objects by key, arrays by position.
function diff(a, b, path, out) {
  const obj = v => v !== null && typeof v === "object";
  if (obj(a) && obj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set(Object.keys(a).concat(Object.keys(b)));
    for (const k of keys) diff(a[k], b[k], path === "" ? k : path + (Array.isArray(b) ? "[" + k + "]" : "." + k), out);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push([path === "" ? "(state)" : path, a, b]);
  }
  return out;
}
function select(n) {
  n = Math.max(0, Math.min(states.length - 1, n));
  document.querySelectorAll(".selected").forEach(e => e.classList.remove("selected"));
  document.querySelectorAll('[data-step="' + n + '"]').forEach(e => e.classList.add("selected"));
  const step = n > 0 ? trace.steps[n - 1] : null;
  document.getElementById("detail-title").textContent =
    n === 0 ? "State 0: the initial state" : "State " + n + ", after step " + n + ": " + step.event_text;
  const ev = document.getElementById("detail-event");
  ev.textContent = step ? "event: " + Object.entries(step.event).map(([k, v]) => k + " = " + v).join(", ") : "";
  const body = document.querySelector("#detail-changes tbody");
  body.replaceChildren();
  if (step) {
    const changes = diff(states[n - 1], states[n], "", []);
    for (const [path, before, after] of changes) {
      const tr = document.createElement("tr");
      for (const [text, cls] of [[path, "changed-key"], [show(before), ""], [show(after), ""]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    if (changes.length === 0) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 3;
      td.textContent = "nothing changed";
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }
  document.getElementById("detail-changes").hidden = !step;
  const pre = document.getElementById("detail-state");
  pre.textContent = JSON.stringify(states[n], null, 2);
  pre.hidden = false;
  window.selectedStep = n;
  const li = document.querySelector('#steps li[data-step="' + n + '"]');
  if (li && li.scrollIntoView) li.scrollIntoView({block: "nearest"});
}
document.querySelectorAll("[data-step]").forEach(e =>
  e.addEventListener("click", () => select(Number(e.dataset.step))));
document.addEventListener("keydown", e => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const at = window.selectedStep === undefined ? -1 : window.selectedStep;
    select(e.key === "ArrowDown" ? at + 1 : Math.max(0, at - 1));
  }
});"##;
