//! Exports of a counterexample file (`*.trace.json`) to other tools' formats
//! (`ftcheck export FILE --to FORMAT`):
//! - `itf`: the Informal Trace Format of Apalache's ADR-015, which Quint and Apalache tools
//!   read: `#meta`, `vars`, `states` (each with `#meta.index`), `loop` for a lasso; integers as
//!   `{"#bigint": "…"}`, JSON `null` as `{"#unserializable": "null"}`, an empty object as an
//!   empty `#map`, other objects as records. The variables are the
//!   state's top-level fields (or `state` when it is not an object) plus `action`, the step
//!   that led to the state (`init` for the first);
//! - `shiviz`: a log for ShiViz (one line per event, then `host {vector clock}`), its parsing
//!   regex on the first line; each step is an event of its lane (a delivery: of the receiver,
//!   merging the sender's clock), and each host's own entry starts at 1 and rises by 1;
//! - `dot`: Graphviz, a node per state and an edge per step (the loop's last edge back to its
//!   start);
//! - `mermaid`: the sequence diagram `check --trace-dir` writes beside each trace;
//! - `html`: one self-contained page with an SVG sequence chart, the steps and their states
//!   (see [`crate::html`]).

use crate::trace::{self, TraceFile};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A format `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Informal Trace Format (Apalache ADR-015; Quint).
    Itf,
    /// A ShiViz log with vector clocks.
    Shiviz,
    /// Graphviz DOT.
    Dot,
    /// Mermaid sequence diagram.
    Mermaid,
    /// A self-contained HTML page: SVG sequence chart, steps, states.
    Html,
}

impl Format {
    /// The file extension of an export in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Itf => "itf.json",
            Format::Shiviz => "shiviz.log",
            Format::Dot => "dot",
            Format::Mermaid => "mmd",
            Format::Html => "html",
        }
    }
}

/// The trace in `format`.
pub fn export(file: &TraceFile, format: Format) -> String {
    match format {
        Format::Itf => itf(file),
        Format::Shiviz => shiviz(file),
        Format::Dot => dot(file),
        Format::Mermaid => trace::mermaid(file),
        Format::Html => crate::html::html(file),
    }
}

/// A JSON value as an ITF value: integers become `#bigint`, `null` unserializable.
fn itf_value(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "#bigint": n.to_string() }),
        Value::Number(n) => json!({ "#unserializable": n.to_string() }),
        Value::Null => json!({ "#unserializable": "null" }),
        Value::Array(items) => Value::Array(items.iter().map(itf_value).collect()),
        // An empty JSON object is an empty map (ITF has no empty record).
        Value::Object(fields) if fields.is_empty() => json!({ "#map": [] }),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), itf_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The trace's states with the step that led to each: (action, state).
fn states(file: &TraceFile) -> Vec<(&str, &Value)> {
    let t = &file.trace;
    std::iter::once(("init", &t.init_state))
        .chain(t.steps.iter().map(|s| (s.action.as_str(), &s.state)))
        .collect()
}

/// The trace in ITF.
pub fn itf(file: &TraceFile) -> String {
    let all = states(file);
    let mut vars: Vec<String> = match &file.trace.init_state {
        Value::Object(fields) => fields.keys().cloned().collect(),
        _ => vec!["state".into()],
    };
    vars.push("action".into());
    let states: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, (action, state))| {
            let mut out = Map::new();
            out.insert("#meta".into(), json!({ "index": i }));
            match state {
                Value::Object(fields) => {
                    for (k, v) in fields.iter() {
                        out.insert(k.clone(), itf_value(v));
                    }
                }
                other => {
                    out.insert("state".into(), itf_value(other));
                }
            }
            out.insert("action".into(), Value::String(action.to_string()));
            Value::Object(out)
        })
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "#meta".into(),
        json!({
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": format!("ftcheck {} {}", file.model, file.stem()),
            "description": format!(
                "{} property {} {} after {} steps",
                file.kind, file.property, file.verdict, file.trace.steps.len()
            ),
        }),
    );
    doc.insert("vars".into(), json!(vars));
    doc.insert("states".into(), Value::Array(states));
    if let Some(k) = file.trace.loop_start {
        doc.insert("loop".into(), json!(k));
    }
    serde_json::to_string_pretty(&Value::Object(doc)).expect("ITF serialises") + "\n"
}

/// The regex ShiViz parses the log with (the file's first line).
pub const SHIVIZ_REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// The trace as a ShiViz log.
pub fn shiviz(file: &TraceFile) -> String {
    let t = &file.trace;
    let host = |lane: &str| lane.replace(char::is_whitespace, "_");
    let mut clocks: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut out = format!("{SHIVIZ_REGEX}\n\n");
    for step in &t.steps {
        let e = &step.event;
        let deliver = matches!(e.kind.as_str(), "deliver");
        let (at, from) = match (deliver, &e.to, &e.from) {
            (true, Some(to), from) => (to.clone(), from.clone()),
            (_, _, Some(from)) => (from.clone(), None),
            _ => ("system".to_string(), None),
        };
        let at = host(&at);
        let mut clock = clocks.get(&at).cloned().unwrap_or_default();
        if let Some(sender) = from.map(|f| host(&f)) {
            for (h, c) in clocks.get(&sender).cloned().unwrap_or_default() {
                let mine = clock.entry(h).or_insert(0);
                *mine = (*mine).max(c);
            }
        }
        *clock.entry(at.clone()).or_insert(0) += 1;
        clocks.insert(at.clone(), clock.clone());
        let what = match (e.kind.as_str(), &e.msg, &e.detail) {
            ("deliver" | "drop", Some(m), _) => {
                format!("{} {m} from {}", e.kind, e.from.as_deref().unwrap_or("?"))
            }
            (k, _, Some(d)) => format!("{k} {d}"),
            (k, _, None) => k.to_string(),
        };
        let loop_mark = if t.loop_start == Some(step.n - 1) {
            " (the loop starts here)"
        } else {
            ""
        };
        out.push_str(&format!("{}. {what}{loop_mark}\n", step.n));
        out.push_str(&format!(
            "{at} {}\n",
            serde_json::to_string(&clock).expect("a clock serialises")
        ));
    }
    out
}

/// A DOT string literal.
fn dot_quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// The trace as a Graphviz digraph.
pub fn dot(file: &TraceFile) -> String {
    let t = &file.trace;
    let mut out = format!(
        "digraph trace {{\n  label={};\n  labelloc=t;\n  node [shape=box, fontname=\"monospace\"];\n",
        dot_quote(&format!(
            "{} — {} property {} {} after {} steps",
            file.stem(),
            file.kind,
            file.property,
            file.verdict,
            t.steps.len()
        ))
    );
    out.push_str(&format!(
        "  s0 [label={}];\n",
        dot_quote(&format!(
            "0: initial state{}",
            trace::initial_summary(&t.init_state)
        ))
    ));
    let last = t.steps.len();
    for step in &t.steps {
        let changes: Vec<String> = step
            .changes
            .iter()
            .map(|c| format!("{}: {}", c.lane, c.state))
            .collect();
        let mut label = format!("{}", step.n);
        if !changes.is_empty() {
            label.push_str(&format!(": {}", changes.join("\n")));
        }
        // A lasso's last state is its loop's first: no node of its own.
        if !(step.n == last && t.loop_start.is_some()) {
            out.push_str(&format!("  s{} [label={}];\n", step.n, dot_quote(&label)));
        }
    }
    for step in &t.steps {
        let target = match t.loop_start {
            Some(k) if step.n == last => k,
            _ => step.n,
        };
        out.push_str(&format!(
            "  s{} -> s{target} [label={}];\n",
            step.n - 1,
            dot_quote(&format!("{}. {}", step.n, step.action))
        ));
    }
    out.push_str("}\n");
    out
}
