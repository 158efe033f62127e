//! `ftcheck check`: from a model name and raw arguments to a report, trace files and an exit
//! code.

use crate::catalog::{self, Catalog};
use crate::engine::{CheckOptions, Engine, Stats, StopReason};
use crate::error::{program, InputError};
use crate::runner::{Outcome, PropertyKind, Run, Verdict};
use crate::trace::{self, TraceFile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Exit code: every safety property holds and every reachability property was reached.
pub const EXIT_OK: i32 = 0;
/// Exit code: bad usage or input.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the search stopped early and nothing was violated.
pub const EXIT_INCOMPLETE: i32 = 3;
/// Exit code: a safety property is violated (as TLC).
pub const EXIT_SAFETY: i32 = 12;
/// Exit code: a liveness property is violated (as TLC).
pub const EXIT_LIVENESS: i32 = 13;
/// Exit code: a reachability property is unreached: the model may be vacuous.
pub const EXIT_UNREACHED: i32 = 14;

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    /// Model name.
    pub model: String,
    /// The parameters given (the others take their defaults).
    pub params: Vec<crate::catalog::Assignment>,
    /// Variant name.
    pub variant: Option<String>,
    /// Search options.
    pub options: CheckOptions,
    /// Where to write traces, if anywhere.
    pub trace_dir: Option<PathBuf>,
    /// Formats to export each trace to, beside its files in `trace_dir`.
    pub exports: Vec<crate::trace::export::Format>,
    /// Minimise the traces of a DFS or a simulation (a BFS's are shortest already).
    pub minimize: bool,
}

/// The result of a check, as shown (text) or printed (`--format json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckReport {
    /// Model name.
    pub model: String,
    /// Every parameter with its value.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Variant.
    pub variant: Option<String>,
    /// Search options.
    pub options: CheckOptions,
    /// Counters.
    pub stats: Stats,
    /// Generated states per second.
    pub states_per_sec: f64,
    /// Estimated probability of a fingerprint collision.
    pub collision_probability: f64,
    /// The search's structures per unique state, in bytes.
    pub bytes_per_state: f64,
    /// What stopped the search early.
    pub stopped: Option<String>,
    /// Whether that was a failure of this process's part of a distributed search (a lost peer,
    /// peers that did not connect), which only this process knows of. Not serialized.
    #[serde(skip)]
    pub worker_failed: bool,
    /// Per property.
    pub results: Vec<ResultRow>,
    /// The exit code.
    pub exit_code: i32,
    /// The trace of each decided property, as in the trace files.
    pub traces: Vec<TraceFile>,
    /// For a report merged from shards: which were there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
}

/// The shards a merged report combines.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Merged {
    /// How many shards the search was split into.
    pub count: u32,
    /// The shards whose reports were merged.
    pub present: Vec<u32>,
    /// The shards whose reports are missing.
    pub missing: Vec<u32>,
}

/// One property in a report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultRow {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: PropertyKind,
    /// Verdict.
    pub verdict: Outcome,
    /// Why incomplete or not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a liveness verdict `incomplete` whose fair run a model bound blocks: the bound.
    /// The search was exhaustive, so the exit code does not count it as incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// Length of the trace, for violated and reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_length: Option<usize>,
    /// With `--minimize`: the length of the trace the search found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimized_from: Option<usize>,
    /// Files written for the trace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_files: Vec<PathBuf>,
    /// In one shard's report: `holds` or `unreached` in this shard's part of a split search,
    /// which `ftcheck merge` combines; the shard's own verdict is then `incomplete`, as the
    /// other parts are not searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_verdict: Option<Outcome>,
}

/// The exit code of a report's rows: 12 if a safety property is violated, else 13 if a
/// liveness property is violated, else 14 if a reachability property is unreached, else 3 if
/// anything is incomplete, else 0. `not checked` does not change it, nor does a liveness
/// verdict `incomplete (bound: NAME)` (an exhaustive search of the bounded model).
pub fn exit_code(rows: &[ResultRow]) -> i32 {
    // A liveness run blocked by a model bound: the search was exhaustive, the bounded model
    // cannot tell; the verdict says so, the exit code does not fail on it.
    let bounded = |r: &ResultRow| r.verdict == Outcome::Incomplete && r.bound.is_some();
    let any = |kind: Option<PropertyKind>, verdict: Outcome| {
        rows.iter()
            .any(|r| r.verdict == verdict && kind.is_none_or(|k| r.kind == k) && !bounded(r))
    };
    if any(Some(PropertyKind::Safety), Outcome::Violated) {
        EXIT_SAFETY
    } else if any(Some(PropertyKind::Liveness), Outcome::Violated) {
        EXIT_LIVENESS
    } else if any(None, Outcome::Unreached) {
        EXIT_UNREACHED
    } else if any(None, Outcome::Incomplete) {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

/// Validates the request: its model, parameters and variant, the options together, and the
/// trace folder; the model, built.
///
/// Errors: as [`check`]'s.
pub fn validate(catalog: &Catalog, req: &CheckRequest) -> Result<catalog::Resolved, InputError> {
    let resolved = catalog.resolve(&req.model, &req.params, req.variant.as_deref())?;
    let (entry, model) = (&resolved.entry, &resolved.model);
    if req.options.symmetry && !model.has_symmetry() {
        return Err(InputError::Usage(format!(
            "model '{}' has no symmetry reduction; drop --symmetry",
            entry.name
        )));
    }
    if req.options.por {
        let o = &req.options;
        let refused = if !model.has_reduction() {
            Some(format!(
                "model '{}' declares no partial-order reduction; drop --por",
                entry.name
            ))
        } else if o.symmetry {
            Some("--por and --symmetry do not combine; use one".to_string())
        } else if o.engine != Engine::Bfs || o.shard.is_some() || o.cluster.is_some() {
            Some(
                "--por reduces the BFS in one process; drop --engine, --shard and --workers".into(),
            )
        } else {
            None
        };
        if let Some(why) = refused {
            return Err(InputError::Usage(why));
        }
    }
    let properties = model.properties().len();
    let predicates = if req.options.liveness && req.options.engine == Engine::Bfs {
        model.liveness_predicates()
    } else {
        0
    };
    if req.options.engine == Engine::Bfs && properties + predicates > crate::engine::bfs::MAX_BITS {
        return Err(InputError::Usage(format!(
            "model '{}' has {properties} properties{}; the bfs engine evaluates at most {} together: add --no-liveness, use --engine dfs, or split the properties over several models",
            entry.name,
            if predicates > 0 { format!(" and {predicates} liveness predicates") } else { String::new() },
            crate::engine::bfs::MAX_BITS
        )));
    }
    if req.options.threads == 0 {
        return Err(InputError::Usage("--threads must be at least 1".into()));
    }
    if req.options.max_memory.is_some() && req.options.engine != Engine::Bfs {
        return Err(InputError::Usage(
            "--max-memory bounds the bfs engine only; drop it or use --engine bfs".into(),
        ));
    }
    if req.options.shard.is_some() && req.options.engine != Engine::Bfs {
        return Err(InputError::Usage(
            "--shard splits the bfs engine's frontier; drop it or use --engine bfs".into(),
        ));
    }
    if req.options.cluster.is_some() && req.options.engine != Engine::Bfs {
        return Err(InputError::Usage(
            "--workers and --hosts distribute the bfs engine; drop them or use --engine bfs".into(),
        ));
    }
    if req.options.cluster.is_some() && req.options.shard.is_some() {
        return Err(InputError::Usage(
            "--shard splits a search without sharing seen states; drop it with --workers or --hosts".into(),
        ));
    }
    if let Some(dir) = &req.trace_dir {
        trace::ensure_writable_dir(dir)?;
    }
    Ok(resolved)
}

/// Validates the request, runs the check, writes trace files, and builds the report.
pub fn check(
    catalog: &Catalog,
    req: &CheckRequest,
    progress: &mut dyn FnMut(&Stats),
) -> Result<CheckReport, InputError> {
    let catalog::Resolved {
        entry,
        params,
        variant,
        model,
    } = validate(catalog, req)?;
    let mut run: Run = model.check(&req.options, progress);
    if let Some(why) = &run.unwritable {
        return Err(InputError::Usage(format!(
            "model '{}': a state of a trace cannot be written as JSON ({why}), so its traces cannot be recorded or replayed; make the state's types serialise to JSON (a map's keys must be strings or numbers)",
            entry.name
        )));
    }
    let mut minimized_from: BTreeMap<String, usize> = BTreeMap::new();
    if req.minimize && req.options.engine != Engine::Bfs {
        for r in &mut run.results {
            let Some(found) = &r.trace else { continue };
            if let Some(shorter) = model.minimize(found, &r.property.name) {
                minimized_from.insert(r.property.name.clone(), found.steps.len());
                r.trace = Some(shorter);
            }
        }
    }
    let params_json: BTreeMap<String, serde_json::Value> = params
        .0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::to_value(v).expect("a value serialises"),
            )
        })
        .collect();
    let traces: Vec<TraceFile> = run
        .results
        .iter()
        .filter_map(|r| {
            let t = r.trace.clone()?;
            Some(TraceFile {
                format: trace::FORMAT.into(),
                version: trace::VERSION,
                model: entry.name.into(),
                params: params_json.clone(),
                variant: variant.clone(),
                property: r.property.name.clone(),
                kind: r.property.kind,
                verdict: r.verdict.outcome(),
                engine: format!("{:?}", req.options.engine).to_lowercase(),
                symmetry: req.options.symmetry,
                por: req.options.por,
                trace: t,
            })
        })
        .collect();
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    if let Some(dir) = &req.trace_dir {
        for t in &traces {
            files.insert(
                t.property.clone(),
                crate::trace::export::write(catalog, t, dir, &req.exports)?,
            );
        }
    }
    // One shard of a split search covers its part only: nothing is known to hold everywhere.
    let part = req
        .options
        .shard
        .filter(|_| run.stats.split.is_some())
        .map(|s| {
            format!(
                "shard {s} searched its part only; {} merge the shards' reports",
                program()
            )
        });
    let results: Vec<ResultRow> = run
        .results
        .iter()
        .map(|r| {
            let mut row = ResultRow {
                name: r.property.name.clone(),
                kind: r.property.kind,
                verdict: r.verdict.outcome(),
                reason: match &r.verdict {
                    Verdict::Incomplete { reason } | Verdict::NotChecked { reason } => {
                        Some(reason.clone())
                    }
                    Verdict::Bounded { bound } => Some(format!("bound: {bound}")),
                    _ => None,
                },
                bound: match &r.verdict {
                    Verdict::Bounded { bound } => Some(bound.clone()),
                    _ => None,
                },
                trace_length: r.trace.as_ref().map(|t| t.steps.len()),
                minimized_from: minimized_from.get(&r.property.name).copied(),
                trace_files: files.remove(&r.property.name).unwrap_or_default(),
                part_verdict: None,
            };
            if let (Some(why), Verdict::Holds | Verdict::Unreached) = (&part, &r.verdict) {
                row.part_verdict = Some(std::mem::replace(&mut row.verdict, Outcome::Incomplete));
                row.reason = Some(why.clone());
            }
            row
        })
        .collect();
    Ok(CheckReport {
        model: entry.name.into(),
        params: params_json,
        variant,
        options: req.options.clone(),
        states_per_sec: run.stats.states_per_sec(),
        collision_probability: run.stats.collision_probability(),
        bytes_per_state: run.stats.bytes_per_state(),
        stats: run.stats,
        worker_failed: matches!(run.stopped, Some(StopReason::WorkerFailed(_))),
        stopped: run.stopped.map(|s| s.to_string()),
        exit_code: exit_code(&results),
        results,
        traces,
        merged: None,
    })
}

/// A progress line in the manner of TLC's.
pub fn progress_line(s: &Stats) -> String {
    format!(
        "Progress({}): {} states generated ({:.0} s/sec), {} distinct states found, {} states left on queue. [{:.0}s]",
        s.max_depth,
        s.generated_states,
        s.states_per_sec(),
        s.unique_states,
        s.queue,
        s.elapsed_secs
    )
}

fn params_text(params: &BTreeMap<String, serde_json::Value>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", trace::param_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A trace as numbered steps.
pub fn trace_text(t: &TraceFile) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} '{}' in {} steps:",
        if t.kind == PropertyKind::Reachability {
            "Example:"
        } else if t.trace.bound.is_some() {
            "A run of the bounded model (not a counterexample of the protocol):"
        } else {
            "Counterexample:"
        },
        t.kind,
        t.property,
        t.trace.steps.len()
    );
    let _ = writeln!(
        out,
        "  0  initial state{}",
        crate::trace::initial_summary(&t.trace.init_state)
    );
    for s in &t.trace.steps {
        if t.trace.loop_start == Some(s.n - 1) {
            let _ = writeln!(out, "     -- loop: the steps below repeat forever --");
        }
        let _ = writeln!(out, "{:>3}  {}", s.n, trace::event_text(&s.event));
        for c in &s.changes {
            let _ = writeln!(out, "       {}: {}", c.lane, c.state);
        }
    }
    if let Some(b) = &t.trace.bound {
        let _ = writeln!(
            out,
            "     -- '{}' does not hold here, but only because bound {b} is spent (it disables a fair step): the bounded model cannot tell; raise {b} --",
            t.property
        );
    } else if t.kind == PropertyKind::Liveness {
        let _ = match t.trace.loop_start {
            Some(k) => writeln!(
                out,
                "     -- back to state {k}: the loop repeats forever, fairly, and '{}' never holds --",
                t.property
            ),
            None => writeln!(
                out,
                "     -- the run stops here: no step is forced by fairness, and '{}' does not hold --",
                t.property
            ),
        };
    }
    out
}

/// The report as text: the properties, the statistics, then each trace.
pub fn render_text(r: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}){} — engine {}{}",
        r.model,
        params_text(&r.params),
        r.variant
            .as_deref()
            .map(|v| format!(", variant {v}"))
            .unwrap_or_default(),
        format!("{:?}", r.options.engine).to_lowercase(),
        if r.options.symmetry { ", symmetry" } else { "" }
    );
    if let (Some(shard), split) = (r.options.shard, &r.stats.split) {
        let _ = writeln!(
            out,
            "  shard {shard}: {}; verdicts cover this part only: combine the shards' JSON reports with {} merge",
            match split {
                Some(s) => format!(
                    "split at depth {} ({} states, {} in this part)",
                    s.depth, s.level_states, s.part_states
                ),
                None => "no level was large enough to split, so this shard searched everything".into(),
            },
            program()
        );
    }
    if let Some(m) = &r.merged {
        let names = |v: &[u32]| {
            v.iter()
                .map(|i| format!("{i}/{}", m.count))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  merged from shards {}{}; unique states add each shard's states beyond the split: an upper bound",
            names(&m.present),
            if m.missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", names(&m.missing))
            }
        );
    }
    let width = r.results.iter().map(|x| x.name.len()).max().unwrap_or(0);
    for x in &r.results {
        let mut verdict = x.verdict.to_string();
        if let Some(reason) = &x.reason {
            verdict = format!("{verdict} ({reason})");
        }
        if let Some(n) = x.trace_length {
            verdict = format!("{verdict} in {n} steps");
        }
        if let Some(m) = x.minimized_from {
            verdict = format!("{verdict} (minimised from {m})");
        }
        let _ = writeln!(
            out,
            "  {:<width$}  {:<12}  {verdict}",
            x.name,
            x.kind.to_string()
        );
    }
    let s = &r.stats;
    let _ = writeln!(
        out,
        "states: {} unique, {} generated, max depth {}, {:.3} s, {:.0} states/s{}",
        s.unique_states,
        s.generated_states,
        s.max_depth,
        s.elapsed_secs,
        r.states_per_sec,
        r.stopped
            .as_deref()
            .map(|b| format!("; stopped by {b}"))
            .unwrap_or_default()
    );
    if r.options.por {
        let _ = writeln!(
            out,
            "partial-order reduction: {} of the {} states expanded by a persistent set only; a trace may be longer than the shortest",
            s.reduced_states, s.unique_states
        );
    }
    if r.options.engine == Engine::Bfs {
        let _ = writeln!(
            out,
            "fingerprint collision probability: {:.1e} (optimistic, as TLC)",
            r.collision_probability
        );
        let _ = writeln!(
            out,
            "memory: {:.1} MB in the search's structures, {:.0} bytes per state{}",
            s.memory_bytes as f64 / 1e6,
            s.bytes_per_state(),
            if s.graph_edges > 0 {
                format!(
                    " (with the state graph: {} edges); liveness analysis {:.3} s",
                    s.graph_edges, s.liveness_secs
                )
            } else {
                String::new()
            }
        );
    }
    for t in &r.traces {
        out.push('\n');
        out.push_str(&trace_text(t));
        if let Some(row) = r.results.iter().find(|x| x.name == t.property) {
            for f in &row.trace_files {
                let _ = writeln!(out, "  written: {}", f.display());
            }
        }
    }
    out
}

/// The largest report `merge` reads.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// A row with a shard's verdict on its own part in place of its `incomplete`.
fn part_row(row: &ResultRow) -> ResultRow {
    match &row.part_verdict {
        Some(v) => ResultRow {
            verdict: *v,
            reason: None,
            bound: None,
            part_verdict: None,
            ..row.clone()
        },
        None => row.clone(),
    }
}

/// Checks a shard's report against its model, as `check` would have written it: the model
/// and its properties, each verdict (and part verdict) one its kind can have, a trace for
/// each violated or reached property and for no other, of the length the row says, that
/// replays to the same verdict; and counts that fit together.
fn validate_shard(
    catalog: &Catalog,
    r: &CheckReport,
    path: &std::path::Path,
) -> Result<(), String> {
    let model = trace::resolve_recorded(catalog, &r.model, &r.params, r.variant.as_deref())
        .map_err(|e| e.to_string())?;
    let properties = model.properties();
    if properties.len() != r.results.len()
        || properties
            .iter()
            .zip(&r.results)
            .any(|(p, x)| p.name != x.name || p.kind != x.kind)
    {
        return Err(format!(
            "its properties are not those of '{}' (names, kinds and order)",
            r.model
        ));
    }
    let mut decisive = 0;
    for x in &r.results {
        if !x.verdict.fits(x.kind) {
            let valid: Vec<&str> = Outcome::ALL
                .into_iter()
                .filter(|o| o.fits(x.kind))
                .map(Outcome::name)
                .collect();
            return Err(format!(
                "property '{}' has verdict '{}', not one of {}",
                x.name,
                x.verdict,
                valid.join(", ")
            ));
        }
        if let Some(v) = &x.part_verdict {
            // What a part can establish: a safety or liveness property holds there, a
            // reachability property is unreached there.
            let part = if x.kind == PropertyKind::Reachability {
                Outcome::Unreached
            } else {
                Outcome::Holds
            };
            if x.verdict != Outcome::Incomplete || *v != part {
                return Err(format!(
                    "property '{}' has part verdict '{v}' beside '{}'",
                    x.name, x.verdict
                ));
            }
        }
        let traces: Vec<&TraceFile> = r.traces.iter().filter(|t| t.property == x.name).collect();
        if !x.verdict.has_trace() {
            if !traces.is_empty() || x.trace_length.is_some() {
                return Err(format!(
                    "property '{}' is {}, yet has a trace",
                    x.name, x.verdict
                ));
            }
            continue;
        }
        decisive += 1;
        let [t] = traces[..] else {
            return Err(format!(
                "property '{}' is {} with {} traces, not one",
                x.name,
                x.verdict,
                traces.len()
            ));
        };
        if x.trace_length != Some(t.trace.steps.len()) {
            return Err(format!(
                "property '{}' says its trace has {} steps, but it has {}",
                x.name,
                x.trace_length.map_or("no".into(), |n| n.to_string()),
                t.trace.steps.len()
            ));
        }
        if (&t.model, &t.params, &t.variant, &t.verdict)
            != (&r.model, &r.params, &r.variant, &x.verdict)
        {
            return Err(format!(
                "the trace of '{}' is of another model, configuration or verdict than its row",
                x.name
            ));
        }
        trace::replay_file(catalog, t, path)
            .map_err(|e| format!("the trace of '{}' does not replay ({e})", x.name))?;
    }
    if r.traces.len() != decisive {
        return Err("it carries traces of properties that are not violated or reached".into());
    }
    let s = &r.stats;
    if let Some(split) = &s.split {
        if split.part_states > split.level_states
            || split.level_states > split.prefix_states
            || split.prefix_states > s.unique_states
        {
            return Err(
                "its counts do not fit together (part <= split level <= prefix <= unique states)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// Combines the JSON reports of the shards of one sharded check (`check --shard I/N --format
/// json`): a property is violated or reached if any shard says so, with the shortest trace
/// among the shards (each shard's BFS finds the shortest within its part, and every state
/// beyond the split is in some part); it holds or is unreached only if every shard is present,
/// finished, and says so; otherwise it is incomplete. The merged counts add the shards' states
/// beyond the split to the shared prefix once: an upper bound, as parts can reach the same
/// states.
pub fn merge(catalog: &Catalog, files: &[PathBuf]) -> Result<CheckReport, InputError> {
    let mut reports: Vec<(PathBuf, CheckReport)> = Vec::new();
    for path in files {
        let bad = |problem: String| InputError::File {
            path: path.clone(),
            problem,
        };
        let text = crate::error::read_limited(path, MAX_REPORT_BYTES)
            .map_err(|e| bad(format!("cannot be read ({e}); give a shard's JSON report")))?;
        let report: CheckReport = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "is not a check report ({e}); write each shard's with `{} check ... --shard I/N --format json`",
                program()
            ))
        })?;
        if report.options.shard.is_none() || report.merged.is_some() {
            return Err(bad(
                "is not a shard's report; run the check with --shard I/N".into(),
            ));
        }
        validate_shard(catalog, &report, path).map_err(|problem| {
            bad(format!(
                "{problem}; give the report exactly as `{} check ... --shard I/N --format json` wrote it",
                program()
            ))
        })?;
        reports.push((path.clone(), report));
    }
    let (first_path, first) = &reports[0];
    let count = first.options.shard.map_or(1, |s| s.count);
    let same = |r: &CheckReport| {
        let (a, b) = (&r.options, &first.options);
        r.model == first.model
            && r.params == first.params
            && r.variant == first.variant
            && (a.engine, a.symmetry, a.max_states, a.max_depth, a.liveness)
                == (b.engine, b.symmetry, b.max_states, b.max_depth, b.liveness)
            && a.shard.map(|s| s.count) == Some(count)
            && r.results
                .iter()
                .map(|x| &x.name)
                .eq(first.results.iter().map(|x| &x.name))
    };
    let mut present: Vec<u32> = Vec::new();
    for (path, r) in &reports {
        if !same(r) {
            return Err(InputError::File {
                path: path.clone(),
                problem: format!(
                    "is a shard of another check than {} (model, parameters, variant, bounds and shard count must match)",
                    first_path.display()
                ),
            });
        }
        let at = |r: &CheckReport| {
            r.stats
                .split
                .as_ref()
                .map(|s| (s.depth, s.prefix_states, s.level_states))
        };
        if at(r) != at(first) {
            return Err(InputError::File {
                path: path.clone(),
                problem: format!(
                    "splits the search elsewhere than {} (every shard of one check splits at the same level)",
                    first_path.display()
                ),
            });
        }
        let index = r.options.shard.map_or(1, |s| s.index);
        if present.contains(&index) {
            return Err(InputError::File {
                path: path.clone(),
                problem: format!("repeats shard {index}/{count}; give each shard's report once"),
            });
        }
        present.push(index);
    }
    present.sort_unstable();
    let missing: Vec<u32> = (1..=count).filter(|i| !present.contains(i)).collect();
    let missing_text = (!missing.is_empty()).then(|| {
        let names: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
        format!("shards missing: {}", names.join(", "))
    });

    let mut results = Vec::new();
    let mut traces = Vec::new();
    for (i, row) in first.results.iter().enumerate() {
        // A shard's verdict on its own part (holds or unreached), or its verdict.
        let row = &part_row(row);
        let rows: Vec<(&CheckReport, ResultRow)> = reports
            .iter()
            .map(|(_, r)| (r, part_row(&r.results[i])))
            .collect();
        let shortest = rows
            .iter()
            .filter(|(_, x)| x.verdict.has_trace())
            .min_by_key(|(r, x)| (x.trace_length, r.options.shard.map(|s| s.index)));
        let merged_row = if let Some((r, x)) = shortest {
            traces.extend(r.traces.iter().filter(|t| t.property == x.name).cloned());
            x.clone()
        } else if rows.iter().all(|(_, x)| x.verdict == Outcome::NotChecked) {
            row.clone()
        } else if let Some(reason) = &missing_text {
            ResultRow {
                verdict: Outcome::Incomplete,
                reason: Some(reason.clone()),
                bound: None,
                trace_length: None,
                trace_files: Vec::new(),
                ..row.clone()
            }
        } else if let Some((r, x)) = rows.iter().find(|(_, x)| x.verdict != row.verdict) {
            // Shards disagree without a decisive verdict: one is incomplete or not checked.
            let odd = if matches!(row.verdict, Outcome::Holds | Outcome::Unreached) {
                x
            } else {
                row
            };
            ResultRow {
                verdict: odd.verdict,
                reason: Some(format!(
                    "{} in shard {}",
                    odd.reason.as_deref().unwrap_or("not decided"),
                    r.options.shard.map_or(String::new(), |s| s.to_string())
                )),
                bound: odd.bound.clone(),
                trace_length: None,
                trace_files: Vec::new(),
                ..row.clone()
            }
        } else {
            row.clone()
        };
        results.push(merged_row);
    }

    // Counts: the prefix before the split once, then each shard's own states.
    let mut stats = first.stats.clone();
    let prefix = |r: &CheckReport| r.stats.split.as_ref().map_or(0, |s| s.prefix_states);
    let all: Vec<&CheckReport> = reports.iter().map(|(_, r)| r).collect();
    let too_large = || {
        InputError::Usage(format!(
            "the shards' state counts add up beyond 2^64; give reports {} check wrote",
            program()
        ))
    };
    stats.unique_states = all
        .iter()
        .try_fold(prefix(first), |sum, r| {
            sum.checked_add(r.stats.unique_states - prefix(r))
        })
        .ok_or_else(too_large)?;
    stats.generated_states = all
        .iter()
        .try_fold(0usize, |sum, r| sum.checked_add(r.stats.generated_states))
        .ok_or_else(too_large)?;
    stats.max_depth = all.iter().map(|r| r.stats.max_depth).max().unwrap_or(0);
    stats.elapsed_secs = all.iter().map(|r| r.stats.elapsed_secs).fold(0.0, f64::max);
    stats.memory_bytes = all.iter().map(|r| r.stats.memory_bytes).max().unwrap_or(0);
    stats.queue = all
        .iter()
        .try_fold(0usize, |sum, r| sum.checked_add(r.stats.queue))
        .ok_or_else(too_large)?;
    let stopped = all.iter().find_map(|r| r.stopped.clone()).or(missing_text);
    Ok(CheckReport {
        model: first.model.clone(),
        params: first.params.clone(),
        variant: first.variant.clone(),
        options: CheckOptions {
            shard: None,
            ..first.options.clone()
        },
        states_per_sec: stats.states_per_sec(),
        collision_probability: stats.collision_probability(),
        bytes_per_state: stats.bytes_per_state(),
        stats,
        stopped,
        worker_failed: false,
        exit_code: exit_code(&results),
        results,
        traces,
        merged: Some(Merged {
            count,
            present,
            missing,
        }),
    })
}
