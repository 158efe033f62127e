//! The verification suite: TOML manifests of check cases with their expected verdicts, state
//! counts and trace lengths (`checks/*.toml`), run by `ftcheck suite` and by `cargo test`.
//!
//! # Manifest format
//! ```toml
//! model = "two-phase-commit"          # every case of the file checks this model
//!
//! [[case]]
//! name = "default"                    # unique within the file
//! quick = true                        # run by `cargo test` (default false: `ftcheck suite` only)
//! bench = true                        # a row of `ftcheck bench`'s table (default false)
//! params = { participants = 3 }       # optional; missing parameters take their defaults
//! variant = "no-vote-log"             # optional
//! engine = "bfs"                      # optional: bfs (default), dfs, simulation, swarm
//! seed = 3                            # optional: the walks' seed (simulation, swarm; default 0)
//! seeds = 10                          # optional: run once per seed, seed..seed+9, as FILE/CASE/seed-S
//! stop_on_violation = true            # optional: stop at the first counterexample (--stop-on-violation)
//! symmetry = false                    # optional
//! por = false                         # optional: partial-order reduction (--por)
//! max_states = 100000                 # optional bounds: max_states, max_depth, timeout_secs
//! max_memory = "4G"                   # optional: stop (incomplete) before memory could exceed it
//! liveness = false                    # optional: skip liveness (default true)
//! unique_states = 1234                # optional: the exact number of distinct states
//! expect = { atomicity = "holds", commit-reached = "reached", termination = "not-checked" }
//! trace_lengths = { commit-reached = 9 } # optional: exact lengths of the shortest traces
//! ```
//! `expect` must name every property of the model, each with `holds`, `violated`, `reached`,
//! `unreached`, `incomplete` or `not-checked`, or alternatives such as `reached|incomplete` (for
//! random walks that stop at a violation, which may or may not have reached a state first).

use crate::catalog::{Assignment, Catalog, Given};
use crate::check::{self, CheckRequest};
use crate::engine::cluster::Cluster;
use crate::engine::{CheckOptions, Engine};
use crate::error::InputError;
use crate::runner::{Outcome, PropertyKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A manifest file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The model of every case.
    pub model: String,
    /// The cases.
    #[serde(rename = "case", default)]
    pub cases: Vec<Case>,
}

/// A check case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Name, unique within the manifest.
    pub name: String,
    /// Run under `cargo test`.
    #[serde(default)]
    pub quick: bool,
    /// A row of `ftcheck bench`'s table.
    #[serde(default)]
    pub bench: bool,
    /// Parameters.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Variant.
    pub variant: Option<String>,
    /// Engine.
    pub engine: Option<Engine>,
    /// The walks' seed (simulation, swarm).
    pub seed: Option<u64>,
    /// Run the case once per seed, from `seed` (or 0) on: each its own case,
    /// `FILE/CASE/seed-S` (simulation, swarm).
    pub seeds: Option<u64>,
    /// Stop at the first counterexample to a safety property.
    #[serde(default)]
    pub stop_on_violation: bool,
    /// Symmetry reduction.
    #[serde(default)]
    pub symmetry: bool,
    /// Partial-order reduction.
    #[serde(default)]
    pub por: bool,
    /// Bound on unique states.
    pub max_states: Option<usize>,
    /// Bound on depth.
    pub max_depth: Option<usize>,
    /// Time bound.
    pub timeout_secs: Option<u64>,
    /// Memory bound, as `--max-memory` takes it (`"4G"`).
    pub max_memory: Option<String>,
    /// Threads.
    pub threads: Option<usize>,
    /// Check liveness (default true); false for a case whose state graph is too large to
    /// store, its liveness properties then `not-checked`.
    #[serde(default = "yes")]
    pub liveness: bool,
    /// The exact number of distinct states.
    pub unique_states: Option<usize>,
    /// The expected verdict of every property.
    pub expect: BTreeMap<String, String>,
    /// Expected trace lengths.
    #[serde(default)]
    pub trace_lengths: BTreeMap<String, usize>,
    /// Minimise the traces (`check --minimize`; dfs and simulation).
    #[serde(default)]
    pub minimize: bool,
}

fn yes() -> bool {
    true
}

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    /// `file-stem/case-name`.
    pub id: String,
    /// Model.
    pub model: String,
    /// What differs from the manifest (empty: passed).
    pub problems: Vec<String>,
    /// Unique states found.
    pub unique_states: usize,
    /// Seconds.
    pub elapsed: Duration,
    /// The verdicts, `name=verdict`.
    pub verdicts: Vec<String>,
    /// The process's peak resident memory after the case (Linux), if known: the case's own in a
    /// process that ran only it.
    pub peak_resident: Option<u64>,
    /// The search's counters.
    pub stats: crate::engine::Stats,
    /// Whether the case ran with symmetry reduction.
    pub symmetry: bool,
    /// For a case with symmetry or partial-order reduction: the distinct states of the same
    /// configuration without either, when its manifest pins them.
    pub unreduced_states: Option<usize>,
    /// The counterexamples (and witnesses) of properties whose verdict or trace length is
    /// not the manifest's.
    pub unexpected: Vec<crate::trace::TraceFile>,
}

impl CaseOutcome {
    /// Whether everything matched.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The most seeds a case runs (`seeds`).
pub const MAX_SEEDS: u64 = 10_000;

/// The largest manifest `load` reads.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Reads a manifest.
pub fn load(path: &Path) -> Result<Manifest, InputError> {
    let bad = |problem: String| InputError::File {
        path: path.to_path_buf(),
        problem,
    };
    let text = crate::error::read_limited(path, MAX_MANIFEST_BYTES).map_err(|e| {
        bad(format!(
            "cannot read manifest ({e}); give a checks/*.toml file or folder"
        ))
    })?;
    let m: Manifest = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, column) = crate::error::line_column(&text, span.start);
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        bad(format!(
            "malformed manifest{at}: {}; see the format in `{} suite --help`",
            e.message().trim_end().replace('\n', "; "),
            crate::error::program()
        ))
    })?;
    if m.cases.is_empty() {
        return Err(bad(
            "has no cases; add a [[case]] table, or leave the file out".into(),
        ));
    }
    for (i, c) in m.cases.iter().enumerate() {
        if m.cases[..i].iter().any(|d| d.name == c.name) {
            return Err(bad(format!(
                "case '{}' appears twice; give each case of a manifest its own name",
                c.name
            )));
        }
        let walks = matches!(c.engine, Some(Engine::Simulation | Engine::Swarm));
        if (c.seed.is_some() || c.seeds.is_some()) && !walks {
            return Err(bad(format!(
                "case '{}': seed and seeds are for random walks; add engine = \"simulation\" or \"swarm\", or leave them out",
                c.name
            )));
        }
        if c.seeds.is_some_and(|n| n == 0 || n > MAX_SEEDS) {
            return Err(bad(format!(
                "case '{}': seeds = {} is out of range; give 1 to {MAX_SEEDS}, or leave it out",
                c.name,
                c.seeds.unwrap_or(0)
            )));
        }
        if !walks && c.expect.values().any(|v| v.contains('|')) {
            return Err(bad(format!(
                "case '{}': alternative verdicts (a|b) are for random walks, whose seeds decide differently; expect one verdict, or add engine = \"simulation\"",
                c.name
            )));
        }
        for (p, v) in &c.expect {
            if v.split('|').any(|alt| Outcome::named(alt).is_none()) {
                return Err(bad(format!(
                    "case '{}': property {p} expects '{v}'; write one of {} (or alternatives: reached|incomplete)",
                    c.name,
                    Outcome::ALL.map(Outcome::name).join(", ")
                )));
            }
        }
    }
    Ok(m)
}

/// The manifests in `path`: the file itself, or every `*.toml` in the folder, sorted.
pub fn manifests(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| InputError::File {
        path: path.to_path_buf(),
        problem: if path.exists() {
            format!("cannot read the suite folder ({e}); give the checks/ folder or a manifest")
        } else {
            "no such file or folder; give the checks/ folder or a manifest (a .toml file)".into()
        },
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(InputError::File {
            path: path.to_path_buf(),
            problem: "no *.toml manifests here; give the checks/ folder".into(),
        });
    }
    Ok(files)
}

/// A case's parameter as given: TOML's integers and booleans typed, anything else as words
/// (which the parameter's kind then refuses by name).
fn toml_param(k: &str, v: &toml::Value) -> Assignment {
    let value = match v {
        toml::Value::Integer(i) => Given::Int(*i),
        toml::Value::Boolean(b) => Given::Bool(*b),
        toml::Value::String(s) => Given::Text(s.clone()),
        other => Given::Text(other.to_string()),
    };
    Assignment::new(k, value)
}

/// The check request a case describes.
pub fn request(manifest: &Manifest, case: &Case, id: &str) -> Result<CheckRequest, InputError> {
    let max_memory = match &case.max_memory {
        Some(text) => {
            Some(
                crate::engine::parse_size(text).map_err(|problem| InputError::File {
                    path: PathBuf::from(id),
                    problem: format!("max_memory {problem}"),
                })?,
            )
        }
        None => None,
    };
    Ok(CheckRequest {
        model: manifest.model.clone(),
        params: case.params.iter().map(|(k, v)| toml_param(k, v)).collect(),
        variant: case.variant.clone(),
        options: CheckOptions {
            engine: case.engine.unwrap_or(Engine::Bfs),
            threads: case.threads.unwrap_or(1),
            symmetry: case.symmetry,
            por: case.por,
            max_states: case.max_states,
            max_depth: case.max_depth,
            timeout: case.timeout_secs.map(Duration::from_secs),
            max_memory,
            liveness: case.liveness,
            seed: case.seed.unwrap_or(0),
            stop_on_violation: case.stop_on_violation,
            ..CheckOptions::default()
        },
        trace_dir: None,
        exports: vec![],
        minimize: case.minimize,
    })
}

/// Runs one case and compares it with its expectations; with a `cluster`, as that process of
/// a distributed search (which checks no liveness: the case's liveness properties are then
/// expected `not-checked`, their trace lengths are not compared, and neither is the count of
/// states of a search that stopped before its end).
pub fn run_case(
    catalog: &Catalog,
    manifest: &Manifest,
    case: &Case,
    id: String,
    cluster: Option<&Cluster>,
) -> Result<CaseOutcome, InputError> {
    let mut request = request(manifest, case, &id)?;
    request.options.cluster = cluster.cloned();
    let distributed = cluster.is_some();
    let start = Instant::now();
    let report = check::check(catalog, &request, &mut |_| {}).map_err(|e| InputError::File {
        path: PathBuf::from(&id),
        problem: format!("{e}"),
    })?;
    let mut problems = Vec::new();
    let mut unexpected = Vec::new();
    for r in &report.results {
        let before = problems.len();
        let not_checked = distributed && r.kind == PropertyKind::Liveness;
        // A verdict the property's kind never has is a mistake of the manifest, even as an
        // alternative that another verdict makes moot.
        let misfits: Vec<&str> = case
            .expect
            .get(&r.name)
            .into_iter()
            .flat_map(|e| e.split('|'))
            .filter(|alt| Outcome::named(alt).is_some_and(|o| !o.fits(r.kind)))
            .collect();
        if !misfits.is_empty() {
            problems.push(format!(
                "property {} is a {} property, which is never {}; fix the manifest",
                r.name,
                r.kind,
                misfits.join(" or ")
            ));
        }
        match case.expect.get(&r.name).map(String::as_str) {
            Some(_) if not_checked && r.verdict != Outcome::NotChecked => problems.push(format!(
                "property {}: expected not-checked (a distributed search), got {}",
                r.name, r.verdict
            )),
            _ if not_checked => {}
            None => problems.push(format!(
                "property {} is {} but the manifest does not list it",
                r.name, r.verdict
            )),
            Some(e)
                if !e
                    .split('|')
                    .any(|alt| Outcome::named(alt) == Some(r.verdict)) =>
            {
                problems.push(format!(
                    "property {}: expected {e}, got {}",
                    r.name, r.verdict
                ))
            }
            _ => {}
        }
        if let Some(&n) = case.trace_lengths.get(&r.name) {
            if r.trace_length != Some(n) && !not_checked {
                problems.push(format!(
                    "property {}: expected a trace of {n} steps, got {}",
                    r.name,
                    r.trace_length
                        .map(|l| l.to_string())
                        .unwrap_or("none".into())
                ));
            }
        }
        if problems.len() > before {
            unexpected.extend(
                report
                    .traces
                    .iter()
                    .filter(|t| t.property == r.name)
                    .cloned(),
            );
        }
    }
    for name in case.expect.keys().chain(case.trace_lengths.keys()) {
        if !report.results.iter().any(|r| &r.name == name) {
            problems.push(format!("the model has no property {name}"));
        }
    }
    // A distributed search stops only between levels (a state bound, a violation, every
    // property decided: it counts the whole level), and checks no liveness, where a case that
    // checks liveness searches the whole graph: the case's count is its count only if it ran
    // to its end, as a property that holds or is unreached shows.
    let comparable = !distributed
        || report
            .results
            .iter()
            .any(|r| matches!(r.verdict, Outcome::Holds | Outcome::Unreached));
    if let (Some(n), true) = (case.unique_states, comparable) {
        if n != report.stats.unique_states {
            problems.push(format!(
                "expected {n} unique states, got {}",
                report.stats.unique_states
            ));
        }
    }
    Ok(CaseOutcome {
        id,
        model: manifest.model.clone(),
        problems,
        unique_states: report.stats.unique_states,
        elapsed: start.elapsed(),
        peak_resident: crate::engine::peak_resident_bytes(),
        stats: report.stats.clone(),
        symmetry: case.symmetry,
        unreduced_states: None,
        unexpected,
        verdicts: report
            .results
            .iter()
            .map(|r| format!("{}={}", r.name, r.verdict))
            .collect(),
    })
}

/// Which cases to run.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only cases whose id (`file/case`) or model contains this text.
    pub filter: Option<String>,
    /// Only cases marked `quick`.
    pub quick_only: bool,
    /// Only cases marked `bench`.
    pub bench_only: bool,
    /// Only the case with exactly this id (`file/case`).
    pub exact: Option<String>,
    /// Run every case on this many threads, whatever its manifest says.
    pub threads: Option<usize>,
    /// Run every case as this process of a distributed search.
    pub cluster: Option<Cluster>,
}

impl Selection {
    fn wants(&self, manifest: &Manifest, case: &Case, id: &str) -> bool {
        (case.quick || !self.quick_only)
            && (case.bench || !self.bench_only)
            && self.exact.as_ref().is_none_or(|e| e == id)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| id.contains(f.as_str()) || manifest.model.contains(f.as_str()))
    }
}

/// The cases of a manifest with their ids, `file/case`: a case with `seeds = N` is N cases,
/// `file/case/seed-S`, each with its seed.
fn instances(file: &Path, manifest: &Manifest) -> Vec<(String, Case)> {
    let mut out = Vec::new();
    for case in &manifest.cases {
        let id = format!("{}/{}", stem(file), case.name);
        match case.seeds {
            None => out.push((id, case.clone())),
            Some(n) => {
                let first = case.seed.unwrap_or(0);
                for seed in first..first.saturating_add(n) {
                    let one = Case {
                        seed: Some(seed),
                        seeds: None,
                        ..case.clone()
                    };
                    out.push((format!("{id}/seed-{seed}"), one));
                }
            }
        }
    }
    out
}

/// The manifest file, id (`file/case`) and check request of every selected case, in order,
/// without running.
pub fn selected(
    path: &Path,
    selection: &Selection,
) -> Result<Vec<(PathBuf, String, CheckRequest)>, InputError> {
    let mut out = Vec::new();
    for file in manifests(path)? {
        let manifest = load(&file)?;
        for (id, case) in instances(&file, &manifest) {
            if selection.wants(&manifest, &case, &id) {
                let req = request(&manifest, &case, &id)?;
                out.push((file.clone(), id, req));
            }
        }
    }
    if out.is_empty() {
        return Err(nothing_matched(path, selection));
    }
    Ok(out)
}

/// The error for a selection that matches no case: a suite that ran nothing did not pass.
fn nothing_matched(path: &Path, selection: &Selection) -> InputError {
    let mut given = Vec::new();
    if let Some(f) = &selection.filter {
        given.push(format!("--filter '{f}'"));
    }
    if selection.quick_only {
        given.push("--quick".into());
    }
    if selection.bench_only {
        given.push("bench = true".into());
    }
    if let Some(e) = &selection.exact {
        given.push(format!("case '{e}'"));
    }
    InputError::Usage(format!(
        "no case in {} matches {}; nothing was run. Give a filter that names a case (FILE/CASE or a model)",
        path.display(),
        if given.is_empty() {
            "at all".to_string()
        } else {
            given.join(" and ")
        }
    ))
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Runs the selected cases of every manifest in `path`, calling `each` after each case.
pub fn run(
    catalog: &Catalog,
    path: &Path,
    selection: &Selection,
    each: &mut dyn FnMut(&CaseOutcome),
) -> Result<Vec<CaseOutcome>, InputError> {
    let mut outcomes = Vec::new();
    for file in manifests(path)? {
        let manifest = load(&file)?;
        for (id, case) in instances(&file, &manifest) {
            if !selection.wants(&manifest, &case, &id) {
                continue;
            }
            if crate::engine::interrupted() {
                // Ctrl-C: the case that was running is reported (incomplete); no other starts.
                return Ok(outcomes);
            }
            let case = &Case {
                threads: selection.threads.or(case.threads),
                ..case.clone()
            };
            let mut outcome = run_case(catalog, &manifest, case, id, selection.cluster.as_ref())?;
            // The same configuration without reduction, if the manifest pins its count.
            outcome.unreduced_states = manifest
                .cases
                .iter()
                .filter(|c| (case.symmetry || case.por) && !c.symmetry && !c.por)
                .filter(|c| c.params == case.params && c.variant == case.variant)
                .find_map(|c| c.unique_states);
            each(&outcome);
            outcomes.push(outcome);
        }
    }
    if outcomes.is_empty() {
        return Err(nothing_matched(path, selection));
    }
    Ok(outcomes)
}

/// One line per case: `PASS`/`FAIL`, id, unique states, seconds; problems indented below.
pub fn table_line(o: &CaseOutcome) -> String {
    let mut s = format!(
        "{}  {:<48} {:>10} states {:>8.2}s",
        if o.passed() { "PASS" } else { "FAIL" },
        o.id,
        o.unique_states,
        o.elapsed.as_secs_f64()
    );
    for p in &o.problems {
        s.push_str(&format!("\n      {p}"));
    }
    s
}

/// A Markdown summary for a CI job's summary page (GitHub's `$GITHUB_STEP_SUMMARY`, say): the
/// counts, a table of every case (result, states, time, verdicts), and for each failed case
/// its problems and a Mermaid sequence diagram of each unexpected counterexample.
pub fn summary(catalog: &Catalog, outcomes: &[CaseOutcome]) -> String {
    use std::fmt::Write;
    let failed: Vec<&CaseOutcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    let mut out = format!(
        "# {} suite: {} passed, {} failed\n\n",
        crate::error::program(),
        outcomes.len() - failed.len(),
        failed.len()
    );
    out.push_str("| result | case | unique states | time | verdicts |\n|---|---|--:|--:|---|\n");
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    for o in outcomes {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {:.2} s | {} |",
            if o.passed() { "pass" } else { "**FAIL**" },
            cell(&o.id),
            o.unique_states,
            o.elapsed.as_secs_f64(),
            cell(&o.verdicts.join(", "))
        );
    }
    for o in &failed {
        let _ = write!(out, "\n## FAIL `{}`\n\n", cell(&o.id));
        for p in &o.problems {
            let _ = writeln!(out, "- {}", cell(p));
        }
        for t in &o.unexpected {
            let mut command = format!("{} check {}", crate::error::program(), t.model);
            if let Some(v) = &t.variant {
                command.push_str(&format!(" --variant {v}"));
            }
            for (k, v) in &t.params {
                command.push_str(&format!(" -p {k}={}", crate::trace::param_text(v)));
            }
            command.push_str(&format!(" --engine {}", t.engine));
            if t.symmetry {
                command.push_str(" --symmetry");
            }
            if t.por {
                command.push_str(" --por");
            }
            let _ = write!(
                out,
                "\n{} property `{}` {} in {} steps; `{command} --trace-dir traces` writes it as `traces/{}.trace.json`:\n\n```mermaid\n{}```\n",
                t.kind,
                t.property,
                t.verdict,
                t.trace.steps.len(),
                t.stem(catalog),
                crate::trace::mermaid(t)
            );
        }
    }
    out
}

/// The outcomes as JUnit XML: a suite per model, a test case per check case.
pub fn junit(outcomes: &[CaseOutcome]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("ftcheck");
    let mut models: Vec<&str> = outcomes.iter().map(|o| o.model.as_str()).collect();
    models.dedup();
    for model in models {
        let mut suite = TestSuite::new(model);
        for o in outcomes.iter().filter(|o| o.model == model) {
            let status = if o.passed() {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(o.problems.join("; "));
                s.set_type("unexpected verdict or count");
                s
            };
            let mut case = TestCase::new(o.id.clone(), status);
            case.set_classname(model);
            case.set_time(o.elapsed);
            case.set_system_out(format!(
                "unique_states={} {}",
                o.unique_states,
                o.verdicts.join(" ")
            ));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("JUnit serialises")
}
