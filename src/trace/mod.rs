//! Counterexample files: `NAME.trace.json` (versioned, replayable) and `NAME.mmd` (Mermaid
//! `sequenceDiagram`), written atomically; and `replay`, which rebuilds the model from a trace
//! file and re-executes it.
//!
//! # The trace format, version 1
//! A JSON object with:
//! - `format`: `"ftcheck-trace"`, `version`: `1`;
//! - `model`, `params` (every parameter with its value), `variant` (or `null`);
//! - `property`, `kind` (`safety` | `reachability` | `liveness`), `verdict` (`violated` |
//!   `reached` | `incomplete` for a run blocked by a bound);
//! - `engine`, `symmetry`, `por` (only when on): how it was found;
//! - `lanes`: the actors (lanes of the sequence diagram);
//! - `init_index` (which of the model's initial states) and `init_state`;
//! - `steps`: for each step `n` (from 1), `action_index` (the index of the action among the
//!   model's enabled actions, in their deterministic order), `action` (its `Debug` text),
//!   `event` (`kind`: deliver, drop, timeout, crash, recover, choose or step; `from`, `to`,
//!   `msg`, `detail`), `changes` (lanes whose local state changed, with the new local state) and
//!   `state` (the full resulting state);
//! - `bound`, for a liveness counterexample that stops or loops where a bound of the model
//!   alone disables a fair action (its verdict is then `incomplete`): the bound's parameter;
//! - `loop_start`, for a liveness counterexample that loops: the state (0: the initial state)
//!   that the last step returns to; the steps after it repeat forever. A liveness
//!   counterexample without it stops in its last state, where no fairly scheduled action is
//!   enabled.
//!
//! Replay re-executes each `action_index`, checks the action's text and the resulting state
//! against the file, and re-evaluates the property at the last state; for a liveness
//! counterexample it checks that the loop closes, that the property's condition never holds
//! from its obligation on, and that the loop is fair (or that nothing fair is enabled at the
//! last state).

pub mod export;
mod html;

use crate::catalog::{Assignment, Catalog, Given};
use crate::describe::StepKind;
use crate::error::{program, InputError};
use crate::runner::{Outcome, PropertyKind, Trace, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `format` field of a trace file.
pub const FORMAT: &str = "ftcheck-trace";
/// The current version of the trace format.
pub const VERSION: u32 = 1;

/// A trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// Model name.
    pub model: String,
    /// Every parameter with its value.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Variant, if any.
    pub variant: Option<String>,
    /// The property the trace decides.
    pub property: String,
    /// Its kind.
    pub kind: PropertyKind,
    /// `violated` or `reached`.
    pub verdict: Outcome,
    /// The engine that found it.
    pub engine: String,
    /// Whether symmetry reduction was on.
    pub symmetry: bool,
    /// Whether partial-order reduction was on (then the trace may not be a shortest one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub por: bool,
    /// The trace.
    #[serde(flatten)]
    pub trace: Trace,
}

impl TraceFile {
    /// The file stem: `model[-variant][-name=value...]-property`, naming each parameter that
    /// differs from its default, so runs of other configurations do not overwrite each other.
    /// The defaults are those of the model in `catalog` (none for a model it does not know).
    pub fn stem(&self, catalog: &Catalog) -> String {
        let defaults: BTreeMap<String, serde_json::Value> = catalog
            .find(&self.model)
            .map(|e| {
                e.params
                    .iter()
                    .map(|p| {
                        let v = serde_json::to_value(p.default).expect("a value serialises");
                        (p.name.to_string(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut parts = vec![self.model.clone()];
        parts.extend(self.variant.clone());
        for (k, v) in &self.params {
            if defaults.get(k) != Some(v) {
                parts.push(format!("{k}={}", param_text(v)));
            }
        }
        parts.push(self.property.clone());
        file_stem_of(&parts)
    }
}

/// The longest file stem written; a longer one keeps its first characters and a hash of the
/// whole, so that two long names stay apart (file systems allow 255 bytes).
const MAX_STEM: usize = 200;

/// A file stem from name parts joined by `-`, safe on every file system: characters other
/// than ASCII letters, digits and `-_.=+,@` become `_` (a property named `value chosen` or
/// `a/b` by a user's model), a leading `.` gets a `_` before it, and a stem over 200 bytes is
/// cut and ends in a hash of the whole.
///
/// ```
/// use ftcheck::trace::file_stem_of;
/// assert_eq!(file_stem_of(&["raft".into(), "value chosen/ok?".into()]), "raft-value_chosen_ok_");
/// assert_eq!(file_stem_of(&[".hidden".into()]), "_.hidden");
/// let long = file_stem_of(&["m".into(), "p".repeat(300)]);
/// assert!(long.len() <= 200 && long != file_stem_of(&["m".into(), "p".repeat(301)]));
/// ```
pub fn file_stem_of(parts: &[String]) -> String {
    let whole = parts.join("-");
    let mut stem: String = whole
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=+,@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') || stem.is_empty() {
        stem.insert(0, '_');
    }
    if stem.len() > MAX_STEM {
        let hash = format!("{:016x}", fxhash::hash64(whole.as_bytes()));
        stem.truncate(MAX_STEM - hash.len() - 1);
        stem = format!("{stem}-{hash}");
    }
    stem
}

/// The initial state's short, non-empty top-level fields (`: faulty = ["P"]`), which tell a
/// model's initial states apart (who is faulty, the client's value); empty for other states.
pub fn initial_summary(state: &serde_json::Value) -> String {
    use serde_json::Value;
    let Value::Object(fields) = state else {
        return String::new();
    };
    let shown: Vec<String> = fields
        .iter()
        .filter(|(_, v)| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Number(n) => n.as_u64() != Some(0),
            _ => true,
        })
        .map(|(k, v)| format!("{k} = {v}"))
        .filter(|f| f.len() <= 48)
        .collect();
    if shown.is_empty() {
        String::new()
    } else {
        format!(": {}", shown.join(", "))
    }
}

/// The largest trace file `load` reads (the largest saved trace is well under 1 MiB).
pub const MAX_TRACE_BYTES: u64 = 64 << 20;

/// The engines a trace file may name.
const ENGINES: [&str; 4] = ["bfs", "dfs", "simulation", "swarm"];

impl TraceFile {
    /// Checks the fields that need no model: the verdict fits the kind, a loop only in a
    /// liveness counterexample and starting at a state before the last, steps numbered 1, 2,
    /// ..., a known engine. The rest (lanes, actions, events, changes, states, the property and
    /// its kind) is checked against the model by [`replay_file`].
    pub fn validate(&self) -> Result<(), String> {
        let expected = match (self.kind, &self.trace.bound) {
            (PropertyKind::Liveness, Some(_)) => Outcome::Incomplete,
            (PropertyKind::Liveness, None) | (PropertyKind::Safety, None) => Outcome::Violated,
            (PropertyKind::Reachability, None) => Outcome::Reached,
            (kind, Some(_)) => {
                return Err(format!(
                    "\"bound\" is set, but only a liveness counterexample is blocked by a bound, not a {kind} trace"
                ))
            }
        };
        if self.verdict != expected {
            return Err(format!(
                "\"verdict\" is \"{}\", but a {} trace is \"{expected}\"",
                self.verdict, self.kind
            ));
        }
        let steps = self.trace.steps.len();
        match (self.kind, self.trace.loop_start) {
            (PropertyKind::Liveness, Some(k)) if k >= steps => {
                return Err(format!(
                    "\"loop_start\" {k} is not a state before the last (the trace has {steps} steps)"
                ))
            }
            (PropertyKind::Liveness, _) | (_, None) => {}
            (kind, Some(_)) => {
                return Err(format!(
                    "\"loop_start\" is set, but a {kind} trace does not loop (only a liveness counterexample does)"
                ))
            }
        }
        if let Some((i, s)) = self
            .trace
            .steps
            .iter()
            .enumerate()
            .find(|(i, s)| s.n != i + 1)
        {
            return Err(format!("step {} is numbered {}", i + 1, s.n));
        }
        if !ENGINES.contains(&self.engine.as_str()) {
            return Err(format!(
                "\"engine\" is \"{}\", not one of {}",
                self.engine,
                ENGINES.join(", ")
            ));
        }
        Ok(())
    }
}

/// A step's event as the text report, the HTML page and the summary show it:
/// `deliver  S1 -> S2: Vote`, `timeout  S1: election`, or a plain model's action.
pub fn event_text(e: &crate::describe::Event) -> String {
    event_text_padded(e, 8)
}

/// [`event_text`] with the kind padded to `width` (0: not padded, as a page shows it).
pub fn event_text_padded(e: &crate::describe::Event, width: usize) -> String {
    match e.kind {
        StepKind::Deliver | StepKind::Drop => format!(
            "{:<width$} {} -> {}: {}",
            e.kind,
            e.from.as_deref().unwrap_or("?"),
            e.to.as_deref().unwrap_or("?"),
            e.msg.as_deref().unwrap_or("")
        ),
        StepKind::Step => e.detail.clone().unwrap_or_default(),
        k => format!(
            "{:<width$} {}{}",
            k,
            e.from.as_deref().unwrap_or(""),
            e.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
    }
}

/// The model a file (trace or report) records: its name, every parameter as a JSON value,
/// its variant.
pub fn resolve_recorded(
    catalog: &Catalog,
    model: &str,
    params: &BTreeMap<String, serde_json::Value>,
    variant: Option<&str>,
) -> Result<Box<dyn crate::runner::Checkable>, InputError> {
    let given: Vec<Assignment> = params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::Bool(b) => Given::Bool(*b),
                serde_json::Value::Number(n) => n
                    .as_i64()
                    .map_or_else(|| Given::Text(n.to_string()), Given::Int),
                other => Given::Text(param_text(other)),
            };
            Assignment::new(k.as_str(), value)
        })
        .collect();
    Ok(catalog.resolve(model, &given, variant)?.model)
}

/// A parameter value as written on the command line (a name without JSON quotes).
pub fn param_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Escapes text for a Mermaid message or note: `#` `;` and the word `end` break diagrams.
///
/// ```
/// assert_eq!(ftcheck::trace::mermaid_escape("x;#end"), "x#59;#35;(end)");
/// ```
pub fn mermaid_escape(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| match c {
            '#' => "#35;".to_string(),
            ';' => "#59;".to_string(),
            c => c.to_string(),
        })
        .collect();
    // `end` as a word ends a block; `(end)` does not.
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.eq_ignore_ascii_case("end") {
            out.push('(');
            out.push_str(word);
            out.push(')');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out.replace('\n', " ")
}

/// The trace as a Mermaid `sequenceDiagram`: a lane per actor, an arrow per delivered (or
/// dropped) message, notes for timeouts, crashes, recoveries, choices and state changes, and a
/// final note naming the property.
pub fn mermaid(file: &TraceFile) -> String {
    let t = &file.trace;
    let alias = |lane: &str| {
        t.lanes
            .iter()
            .position(|l| l == lane)
            .map(|i| format!("A{i}"))
            .unwrap_or_else(|| "A0".into())
    };
    let mut out = String::from("sequenceDiagram\n");
    for (i, lane) in t.lanes.iter().enumerate() {
        out.push_str(&format!(
            "    participant A{i} as {}\n",
            mermaid_escape(lane)
        ));
    }
    let all = if t.lanes.len() > 1 {
        format!("A0,A{}", t.lanes.len() - 1)
    } else {
        "A0".into()
    };
    let title = match &file.variant {
        Some(v) => format!("{} (variant {v})", file.model),
        None => file.model.clone(),
    };
    out.push_str(&format!(
        "    Note over {all}: {}\n",
        mermaid_escape(&format!(
            "{title}: initial state{}",
            initial_summary(&t.init_state)
        ))
    ));
    for step in &t.steps {
        if t.loop_start == Some(step.n - 1) {
            out.push_str("    loop repeats forever\n");
        }
        let e = &step.event;
        let from = e.from.as_deref().map(alias).unwrap_or_else(|| "A0".into());
        let n = step.n;
        match e.kind {
            StepKind::Deliver | StepKind::Drop => {
                let to = e.to.as_deref().map(alias).unwrap_or_else(|| "A0".into());
                let arrow = if e.kind == StepKind::Drop {
                    "--x"
                } else {
                    "->>"
                };
                let suffix = if e.kind == StepKind::Drop {
                    " [dropped]"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    {from}{arrow}{to}: {}\n",
                    mermaid_escape(&format!("{n}. {}{suffix}", e.msg.as_deref().unwrap_or("")))
                ));
            }
            kind => {
                let what = match (kind, &e.detail) {
                    (StepKind::Step, Some(d)) => d.clone(),
                    (k, Some(d)) => format!("{k} {d}"),
                    (k, None) => k.to_string(),
                };
                out.push_str(&format!(
                    "    Note over {from}: {}\n",
                    mermaid_escape(&format!("{n}. {what}"))
                ));
            }
        }
        for c in &step.changes {
            out.push_str(&format!(
                "    Note right of {}: {}\n",
                alias(&c.lane),
                mermaid_escape(&c.state)
            ));
        }
    }
    if t.loop_start.is_some() {
        out.push_str("    end\n");
    }
    let mut ending = match (file.kind, t.loop_start) {
        (PropertyKind::Liveness, Some(k)) => format!(", looping back to state {k}"),
        (PropertyKind::Liveness, None) => ", stopping: no step is forced".into(),
        _ => String::new(),
    };
    if let Some(b) = &t.bound {
        ending.push_str(&format!(", only because bound {b} is spent"));
    }
    out.push_str(&format!(
        "    Note over {all}: {}\n",
        mermaid_escape(&format!(
            "{} property {} {} after {} steps{ending}",
            file.kind,
            file.property,
            file.verdict,
            t.steps.len()
        ))
    ));
    out
}

/// Checks that `dir` exists (creating it) and is writable, before a search starts.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), InputError> {
    let problem = |e: std::io::Error| InputError::File {
        path: dir.to_path_buf(),
        problem: format!("cannot write traces here ({e}); give a writable --trace-dir"),
    };
    std::fs::create_dir_all(dir).map_err(problem)?;
    tempfile::NamedTempFile::new_in(dir).map_err(problem)?;
    Ok(())
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, renamed, so
/// no partial file is ever left. `option` names where the path came from (`--output`), for
/// the error.
pub fn write_atomic(path: &Path, contents: &str, option: &str) -> Result<(), InputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let problem = |e: std::io::Error| InputError::File {
        path: path.to_path_buf(),
        problem: format!("cannot write ({e}); give a writable path with {option}"),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(problem)?;
    // A temporary file is private (0600); what we write is for sharing, as `>` would make it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(problem)?;
    }
    tmp.write_all(contents.as_bytes()).map_err(problem)?;
    tmp.persist(path).map_err(|e| problem(e.error))?;
    Ok(())
}

/// Reads a trace file (at most [`MAX_TRACE_BYTES`]) and checks what needs no model
/// ([`TraceFile::validate`]); [`load_checked`] also replays it.
pub fn load(path: &Path) -> Result<TraceFile, InputError> {
    let bad = |problem: String| InputError::File {
        path: path.to_path_buf(),
        problem,
    };
    let text = crate::error::read_limited(path, MAX_TRACE_BYTES).map_err(|e| {
        bad(format!(
            "cannot read ({e}); give the path of a .trace.json file"
        ))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not JSON ({e}); give a .trace.json file written by {} check --trace-dir",
            program()
        ))
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(bad(format!(
            "not an ftcheck trace (its \"format\" is not \"{FORMAT}\"); give a .trace.json file written by ftcheck"
        )));
    }
    if value.get("version").and_then(|v| v.as_u64()) != Some(VERSION as u64) {
        return Err(bad(format!(
            "trace format version {} is not supported; this ftcheck reads version {VERSION}",
            value
                .get("version")
                .map(|v| v.to_string())
                .unwrap_or("?".into())
        )));
    }
    let file: TraceFile = serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "malformed trace ({e}); re-create it with {} check --trace-dir",
            program()
        ))
    })?;
    file.validate().map_err(|problem| {
        bad(format!(
            "malformed trace: {problem}; re-create it with {} check --trace-dir",
            program()
        ))
    })?;
    Ok(file)
}

/// Reads a trace file and replays it: every field checked against the model before the
/// file is used (as `export` does).
pub fn load_checked(catalog: &Catalog, path: &Path) -> Result<TraceFile, ReplayError> {
    let file = load(path)?;
    replay_file(catalog, &file, path)?;
    Ok(file)
}

/// The outcome of a replay.
#[derive(Debug, Serialize)]
pub struct Replayed {
    /// Model name.
    pub model: String,
    /// Property.
    pub property: String,
    /// Steps re-executed.
    pub steps: usize,
    /// The verdict confirmed at the last state (or on the lasso).
    pub verdict: Verdict,
    /// Where the verdict was confirmed: `at the last state`, `on the loop back to state K`,
    /// or `by stopping in the last state` (a liveness counterexample without a loop).
    pub confirmed: String,
}

impl From<ReplayError> for InputError {
    /// Every failed replay is bad input (exit 2): the file, and why it does not replay.
    fn from(e: ReplayError) -> InputError {
        match e {
            ReplayError::Input(e) => e,
            ReplayError::Diverges { path, divergence } => InputError::File {
                path,
                problem: format!("trace diverges at {divergence}"),
            },
            e @ ReplayError::VerdictDiffers { .. } => InputError::Usage(e.to_string()),
        }
    }
}

/// Why a replay failed: bad input, or a trace that does not apply (both exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file or its model, parameters or variant are wrong.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The trace does not apply to the model.
    #[error("{path}: trace diverges at {divergence}")]
    Diverges {
        /// The file.
        path: PathBuf,
        /// Where and how.
        divergence: crate::runner::Divergence,
    },
    /// It applies, but the property's verdict at the end is not the recorded one.
    #[error("{path}: replayed {steps} steps, but property '{property}' {got} at the last state (the trace says {expected})")]
    VerdictDiffers {
        /// The file.
        path: PathBuf,
        /// Steps.
        steps: usize,
        /// Property.
        property: String,
        /// Verdict found.
        got: String,
        /// Verdict recorded.
        expected: String,
    },
}

/// Rebuilds the model named in the file and re-executes the trace.
pub fn replay(catalog: &Catalog, path: &Path) -> Result<Replayed, ReplayError> {
    replay_file(catalog, &load(path)?, path)
}

/// Rebuilds the model named in `file` (read from `path`) and re-executes the trace: the
/// property and its kind, the lanes, and every step's action, event, changes and state must
/// be the model's, and the verdict must be confirmed at the end.
pub fn replay_file(
    catalog: &Catalog,
    file: &TraceFile,
    path: &Path,
) -> Result<Replayed, ReplayError> {
    let bad = |problem: String| InputError::File {
        path: path.to_path_buf(),
        problem,
    };
    file.validate()
        .map_err(|problem| bad(format!("malformed trace: {problem}")))?;
    let model = resolve_recorded(catalog, &file.model, &file.params, file.variant.as_deref())
        .map_err(|e| bad(format!("{e}")))?;
    match model.properties().iter().find(|p| p.name == file.property) {
        None => {
            return Err(bad(format!(
                "model '{}' has no property '{}'; is this a trace of another model?",
                file.model, file.property
            ))
            .into())
        }
        Some(p) if p.kind != file.kind => {
            return Err(bad(format!(
                "\"kind\" is {}, but property '{}' of '{}' is a {} property; re-create the trace with {} check --trace-dir",
                file.kind, file.property, file.model, p.kind, program()
            ))
            .into())
        }
        Some(_) => {}
    }
    let verdict = model
        .replay(&file.trace, &file.property)
        .map_err(|divergence| ReplayError::Diverges {
            path: path.to_path_buf(),
            divergence,
        })?;
    if verdict.outcome() != file.verdict {
        return Err(ReplayError::VerdictDiffers {
            path: path.to_path_buf(),
            steps: file.trace.steps.len(),
            property: file.property.clone(),
            got: verdict.name().into(),
            expected: file.verdict.name().into(),
        });
    }
    let confirmed = match (file.kind, file.trace.loop_start) {
        (PropertyKind::Liveness, Some(k)) => format!("on the loop back to state {k}"),
        (PropertyKind::Liveness, None) => "by stopping in the last state".into(),
        _ => "at the last state".into(),
    };
    Ok(Replayed {
        model: file.model.clone(),
        property: file.property.clone(),
        steps: file.trace.steps.len(),
        verdict,
        confirmed,
    })
}
