//! `ftcheck bench`: the benchmark table. Runs the suite's cases marked `bench = true` (each
//! still checked against its manifest) and prints, per configuration, the distinct and generated
//! states, depth, threads, time, states per second (and per thread), peak resident memory, the search's bytes per state,
//! and, for a symmetry case, the reduction factor against the same configuration's pinned count
//! without symmetry. A case with `seeds = N` (random walks) gives a row per seed: with
//! `stop_on_violation`, its seconds are the time to the first counterexample.
//!
//! Each case runs in a process of its own (this executable, `bench FILE --case ID`), so that
//! its peak resident memory is its own: an allocator keeps freed memory, and a process's peak
//! never comes down.

use crate::catalog::Catalog;
use crate::error::InputError;
use crate::suite::{self, CaseOutcome, Selection};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// `file/case`.
    pub case: String,
    /// Distinct states.
    pub unique_states: usize,
    /// Generated states.
    pub generated_states: usize,
    /// Deepest state, in steps.
    pub max_depth: usize,
    /// Threads of the search.
    pub threads: usize,
    /// Seconds, the whole check (search and liveness analysis).
    pub seconds: f64,
    /// Generated states per second of the search.
    pub states_per_sec: f64,
    /// The process's peak resident memory during the case, in bytes (Linux).
    pub peak_resident_bytes: Option<u64>,
    /// The search's own structures per distinct state, in bytes.
    pub bytes_per_state: f64,
    /// Distinct states without symmetry / with it, for a symmetry case whose unreduced count
    /// the manifest pins.
    pub symmetry_factor: Option<f64>,
    /// Whether verdicts and counts matched the manifest.
    pub matches_manifest: bool,
}

impl Row {
    /// The row of a suite outcome.
    pub fn of(o: &CaseOutcome) -> Row {
        Row {
            case: o.id.clone(),
            unique_states: o.unique_states,
            generated_states: o.stats.generated_states,
            max_depth: o.stats.max_depth,
            threads: o.stats.threads.max(1),
            seconds: o.elapsed.as_secs_f64(),
            states_per_sec: o.stats.states_per_sec(),
            peak_resident_bytes: o.peak_resident,
            bytes_per_state: o.stats.bytes_per_state(),
            symmetry_factor: o
                .unreduced_states
                .map(|n| n as f64 / o.unique_states.max(1) as f64),
            matches_manifest: o.passed(),
        }
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.case.clone(),
            self.unique_states.to_string(),
            self.generated_states.to_string(),
            self.max_depth.to_string(),
            self.threads.to_string(),
            format!("{:.2}", self.seconds),
            format!("{:.0}", self.states_per_sec),
            format!("{:.0}", self.states_per_sec / self.threads as f64),
            self.peak_resident_bytes
                .map(|b| format!("{:.0}", b as f64 / (1u64 << 20) as f64))
                .unwrap_or_default(),
            format!("{:.0}", self.bytes_per_state),
            self.symmetry_factor
                .map(|f| format!("{f:.2}"))
                .unwrap_or_default(),
            if self.matches_manifest { "yes" } else { "NO" }.into(),
        ]
    }
}

const HEADER: [&str; 12] = [
    "case",
    "distinct states",
    "generated",
    "depth",
    "threads",
    "seconds",
    "states/s",
    "states/s per thread",
    "peak RSS (MiB)",
    "bytes/state",
    "symmetry factor",
    "matches manifest",
];

/// The table in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADER.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.cells().join(" | ")));
    }
    out
}

/// The table as CSV (no field contains a comma or a quote).
pub fn csv(rows: &[Row]) -> String {
    let mut out = HEADER.join(",") + "\n";
    for r in rows {
        out.push_str(&(r.cells().join(",") + "\n"));
    }
    out
}

/// Runs every selected `bench` case, each in a child process of this executable, and returns
/// their rows in order.
pub fn run(
    path: &Path,
    filter: Option<String>,
    threads: Option<usize>,
) -> Result<Vec<Row>, InputError> {
    let selection = Selection {
        filter,
        bench_only: true,
        ..Selection::default()
    };
    let exe = std::env::current_exe().map_err(|e| {
        InputError::Usage(format!(
            "cannot find this executable to run the cases ({e}); run {} from its build folder",
            crate::error::program()
        ))
    })?;
    let mut rows = Vec::new();
    for (file, id) in suite::selected(path, &selection)? {
        let problem = |what: String| InputError::File {
            path: file.clone(),
            problem: format!("case {id}: {what}"),
        };
        let mut child = std::process::Command::new(&exe);
        child
            .arg("bench")
            .arg(&file)
            .args(["--case", &id, "--format", "json"]);
        if let Some(t) = threads {
            child.args(["--threads", &t.to_string()]);
        }
        let out = child
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| problem(format!("cannot run ({e})")))?;
        let mut got: Vec<Row> = serde_json::from_slice(&out.stdout)
            .map_err(|e| problem(format!("the child process printed no table ({e})")))?;
        rows.append(&mut got);
    }
    Ok(rows)
}

/// Runs the one case `id` of `path` in this process.
pub fn run_here(
    catalog: &Catalog,
    path: &Path,
    id: &str,
    threads: Option<usize>,
) -> Result<Vec<Row>, InputError> {
    let selection = Selection {
        exact: Some(id.to_string()),
        threads,
        ..Selection::default()
    };
    let outcomes = suite::run(catalog, path, &selection, &mut |o| {
        eprintln!("{}", suite::table_line(o));
    })?;
    Ok(outcomes.iter().map(Row::of).collect())
}
