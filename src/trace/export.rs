//! Exports of a counterexample file (`*.trace.json`) to other tools' formats
//! (`ftcheck export FILE --to FORMAT`):
//! - `itf`: the Informal Trace Format of Apalache's ADR-015, which Quint and Apalache tools
//!   read: `#meta` (with `varTypes`, each variable's Apalache type, which Apalache needs to
//!   read a trace back), `vars`, `states` (each with `#meta.index`), `loop` for a lasso (whose
//!   last state, the loop's first again, is not repeated). Types are inferred from all the
//!   states: integers are `Int` as `{"#bigint": "…"}`, lists `Seq(T)`, objects with the same
//!   fields in every state records, objects whose fields vary (or are empty) `(Str -> T)` as
//!   `#map`, and values of no common type (`null` beside a number, say) `Str` holding their
//!   JSON text. The variables are the
//!   state's top-level fields (or `state` when it is not an object) plus `action`, the step
//!   that led to the state (`init` for the first);
//! - `shiviz`: a log for ShiViz (one line per event, then `host {vector clock}`), its parsing
//!   regex on the first line; each step is an event of its lane (a delivery: of the receiver,
//!   merging the sender's clock), and each host's own entry starts at 1 and rises by 1;
//! - `dot`: Graphviz, a node per state and an edge per step (the loop's last edge back to its
//!   start);
//! - `mermaid`: the sequence diagram `check --trace-dir` writes beside each trace;
//! - `html`: one self-contained page with an SVG sequence chart, the steps and their states
//!   (see `src/trace/html.rs`).

use crate::catalog::Catalog;
use crate::describe::StepKind;
use crate::error::InputError;
use crate::trace::{self, TraceFile};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub fn export(file: &TraceFile, stem: &str, format: Format) -> String {
    match format {
        Format::Itf => itf(file, stem),
        Format::Shiviz => shiviz(file),
        Format::Dot => dot(file, stem),
        Format::Mermaid => trace::mermaid(file),
        Format::Html => crate::trace::html::html(file, stem),
    }
}

/// Writes `STEM.trace.json`, `STEM.mmd` and an export per format in `exports`
/// (`STEM.html`, ...) into `dir`; returns their paths.
pub fn write(
    catalog: &Catalog,
    file: &TraceFile,
    dir: &Path,
    exports: &[Format],
) -> Result<Vec<PathBuf>, InputError> {
    let stem = file.stem(catalog);
    let json_path = dir.join(format!("{stem}.trace.json"));
    let json = serde_json::to_string_pretty(file).expect("trace serialises");
    trace::write_atomic(&json_path, &(json + "\n"), "--trace-dir")?;
    let mut paths = vec![json_path];
    let mut formats = vec![Format::Mermaid];
    formats.extend(exports.iter().filter(|f| **f != Format::Mermaid));
    for format in formats {
        let path = dir.join(format!("{stem}.{}", format.extension()));
        trace::write_atomic(&path, &export(file, &stem, format), "--trace-dir")?;
        paths.push(path);
    }
    Ok(paths)
}

/// The type of the values at one place of every state (Apalache's `TlaType1`), inferred
/// from all the states, so that every state encodes that place alike and `#meta.varTypes`
/// can name it: Apalache reads an ITF trace back only with these types.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    /// No value seen (the elements of lists that are always empty).
    Unknown,
    Int,
    Bool,
    Str,
    /// A list: `Seq(T)`.
    Seq(Box<Ty>),
    /// An object with the same fields in every state: a record `{ f: T, ... }`.
    Rec(BTreeMap<String, Ty>),
    /// An object whose fields vary (or is empty): a function `(Str -> T)`, as an ITF `#map`.
    Map(Box<Ty>),
    /// Values of no common type (a number beside a string, `null`, a fraction): each is kept
    /// as its JSON text, a `Str`.
    Text,
}

impl Ty {
    fn of(v: &Value) -> Ty {
        match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ty::Int,
            Value::Bool(_) => Ty::Bool,
            Value::String(_) => Ty::Str,
            Value::Array(items) => Ty::Seq(Box::new(
                items.iter().map(Ty::of).fold(Ty::Unknown, Ty::unify),
            )),
            Value::Object(fields) if fields.is_empty() => Ty::Map(Box::new(Ty::Unknown)),
            Value::Object(fields) => {
                Ty::Rec(fields.iter().map(|(k, v)| (k.clone(), Ty::of(v))).collect())
            }
            Value::Number(_) | Value::Null => Ty::Text,
        }
    }

    /// The type of a record's or map's values, as a map's.
    fn values(self) -> Ty {
        match self {
            Ty::Rec(fields) => fields.into_values().fold(Ty::Unknown, Ty::unify),
            Ty::Map(t) => *t,
            other => other,
        }
    }

    /// The least type of both.
    fn unify(self, other: Ty) -> Ty {
        match (self, other) {
            (Ty::Unknown, t) | (t, Ty::Unknown) => t,
            (Ty::Seq(a), Ty::Seq(b)) => Ty::Seq(Box::new(a.unify(*b))),
            (Ty::Rec(a), Ty::Rec(b)) if a.keys().eq(b.keys()) => Ty::Rec(
                a.into_iter()
                    .zip(b.into_values())
                    .map(|((k, x), y)| (k, x.unify(y)))
                    .collect(),
            ),
            (a @ (Ty::Rec(_) | Ty::Map(_)), b @ (Ty::Rec(_) | Ty::Map(_))) => {
                Ty::Map(Box::new(a.values().unify(b.values())))
            }
            (a, b) if a == b => a,
            _ => Ty::Text,
        }
    }

    /// Apalache's name of the type.
    fn name(&self) -> String {
        match self {
            Ty::Int => "Int".into(),
            Ty::Bool => "Bool".into(),
            Ty::Str | Ty::Text | Ty::Unknown => "Str".into(),
            Ty::Seq(t) => format!("Seq({})", t.name()),
            Ty::Rec(fields) => format!(
                "{{ {} }}",
                fields
                    .iter()
                    .map(|(k, t)| format!("{k}: {}", t.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Map(t) => format!("(Str -> {})", t.name()),
        }
    }

    /// `v` as an ITF value of this type: integers as `#bigint`, maps as `#map`.
    fn encode(&self, v: &Value) -> Value {
        match (self, v) {
            (Ty::Int, Value::Number(n)) => json!({ "#bigint": n.to_string() }),
            (Ty::Seq(t), Value::Array(items)) => {
                Value::Array(items.iter().map(|x| t.encode(x)).collect())
            }
            (Ty::Rec(types), Value::Object(fields)) => Value::Object(
                fields
                    .iter()
                    .map(|(k, x)| (k.clone(), types.get(k).map_or(Value::Null, |t| t.encode(x))))
                    .collect(),
            ),
            (Ty::Map(t), Value::Object(fields)) => json!({
                "#map": fields
                    .iter()
                    .map(|(k, x)| json!([k, t.encode(x)]))
                    .collect::<Vec<_>>()
            }),
            (Ty::Bool | Ty::Str, v) => v.clone(),
            (_, v) => Value::String(v.to_string()),
        }
    }
}

/// The trace's states with the step that led to each: (action, state).
fn states(file: &TraceFile) -> Vec<(&str, &Value)> {
    let t = &file.trace;
    std::iter::once(("init", &t.init_state))
        .chain(t.steps.iter().map(|s| (s.action.as_str(), &s.state)))
        .collect()
}

/// The trace in ITF. A lasso's last state is its loop's first (`loop`), so it is not
/// repeated: the states are those up to the last step, and `loop` says where the run goes on.
pub fn itf(file: &TraceFile, stem: &str) -> String {
    let mut all = states(file);
    if file.trace.loop_start.is_some() {
        all.pop();
    }
    let fields = |state: &Value| -> Vec<(String, Value)> {
        match state {
            Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            other => vec![("state".into(), other.clone())],
        }
    };
    // The variables: every field of any state, in order of appearance. A field a state
    // leaves out (an empty collection not serialised) is there empty, or `null` as text.
    let mut vars: Vec<String> = Vec::new();
    let mut types: BTreeMap<String, Ty> = BTreeMap::new();
    for (_, state) in &all {
        for (k, v) in fields(state) {
            if !types.contains_key(&k) {
                vars.push(k.clone());
            }
            let t = types.remove(&k).unwrap_or(Ty::Unknown).unify(Ty::of(&v));
            types.insert(k, t);
        }
    }
    let absent = |k: &str| {
        all.iter()
            .any(|(_, s)| !fields(s).iter().any(|(f, _)| f == k))
    };
    for k in &vars {
        if absent(k) {
            let t = types.remove(k).unwrap_or(Ty::Unknown);
            let t = match t {
                Ty::Seq(_) | Ty::Map(_) => t,
                Ty::Rec(_) => Ty::Map(Box::new(t.values())),
                _ => Ty::Text,
            };
            types.insert(k.clone(), t);
        }
    }
    let empty = |t: &Ty| match t {
        Ty::Seq(_) => json!([]),
        Ty::Map(_) => json!({ "#map": [] }),
        _ => Value::String("null".into()),
    };
    vars.push("action".into());
    let states: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, (action, state))| {
            let mut out = Map::new();
            out.insert("#meta".into(), json!({ "index": i }));
            let given = fields(state);
            for (k, t) in &types {
                let encoded = match given.iter().find(|(f, _)| f == k) {
                    Some((_, v)) => t.encode(v),
                    None => empty(t),
                };
                out.insert(k.clone(), encoded);
            }
            out.insert("action".into(), Value::String(action.to_string()));
            Value::Object(out)
        })
        .collect();
    let mut var_types: Map<String, Value> = types
        .iter()
        .map(|(k, t)| (k.clone(), Value::String(t.name())))
        .collect();
    var_types.insert("action".into(), "Str".into());
    let mut doc = Map::new();
    doc.insert(
        "#meta".into(),
        json!({
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": format!("ftcheck {} {stem}", file.model),
            "description": format!(
                "{} property {} {} after {} steps",
                file.kind, file.property, file.verdict, file.trace.steps.len()
            ),
            "varTypes": var_types,
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
        let deliver = e.kind == StepKind::Deliver;
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
        let what = match (e.kind, &e.msg, &e.detail) {
            (StepKind::Deliver | StepKind::Drop, Some(m), _) => {
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
pub fn dot(file: &TraceFile, stem: &str) -> String {
    let t = &file.trace;
    let mut out = format!(
        "digraph trace {{\n  label={};\n  labelloc=t;\n  node [shape=box, fontname=\"monospace\"];\n",
        dot_quote(&format!(
            "{} — {} property {} {} after {} steps",
            stem,
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
