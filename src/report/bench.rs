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
use crate::check;
use crate::cli::workers::{self, LocalWorkers};
use crate::engine::cluster::Cluster;
use crate::engine::Engine;
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
    /// Distinct states without reduction / with it, for a case with symmetry or partial-order
    /// reduction whose unreduced count the manifest pins.
    pub reduction_factor: Option<f64>,
    /// Whether verdicts and counts matched the manifest.
    pub matches_manifest: bool,
    /// Each process's peak resident memory in bytes, process 0 first, for a distributed
    /// search (`bench --workers N`: N entries; 0 where the system does not report it); empty
    /// otherwise.
    #[serde(default)]
    pub peak_resident_per_process: Vec<u64>,
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
            reduction_factor: o
                .unreduced_states
                .map(|n| n as f64 / o.unique_states.max(1) as f64),
            matches_manifest: o.passed(),
            // Workers are in order, a process's together; each reports its process's peak.
            peak_resident_per_process: o
                .stats
                .workers
                .chunk_by(|a, b| a.process == b.process)
                .map(|process| process[0].peak_resident_bytes)
                .collect(),
        }
    }

    /// The row's cells; with `distributed`, also its processes and their peak memories.
    fn cells(&self, distributed: bool) -> Vec<String> {
        let mib = |b: u64| format!("{:.0}", b as f64 / (1u64 << 20) as f64);
        let mut cells = vec![
            self.case.clone(),
            self.unique_states.to_string(),
            self.generated_states.to_string(),
            self.max_depth.to_string(),
            self.threads.to_string(),
            format!("{:.2}", self.seconds),
            format!("{:.0}", self.states_per_sec),
            format!("{:.0}", self.states_per_sec / self.threads as f64),
            self.peak_resident_bytes.map(mib).unwrap_or_default(),
            format!("{:.0}", self.bytes_per_state),
            self.reduction_factor
                .map(|f| format!("{f:.2}"))
                .unwrap_or_default(),
            if self.matches_manifest { "yes" } else { "NO" }.into(),
        ];
        if distributed {
            let processes = self.peak_resident_per_process.len().max(1);
            cells.insert(PROCESSES_AT, processes.to_string());
            let per_process: Vec<String> = self
                .peak_resident_per_process
                .iter()
                .map(|&b| mib(b))
                .collect();
            cells.insert(PER_PROCESS_AT, per_process.join(" / "));
        }
        cells
    }
}

/// Where a table with a distributed row has its column of processes (after "threads"), and
/// then its column of each process's peak memory (after "peak RSS").
const PROCESSES_AT: usize = 5;
const PER_PROCESS_AT: usize = 10;

/// The columns; with `distributed` (some row is a distributed search), also the processes
/// and each one's peak memory.
fn header(distributed: bool) -> Vec<&'static str> {
    let mut h = HEADER.to_vec();
    if distributed {
        h.insert(PROCESSES_AT, "processes");
        h.insert(PER_PROCESS_AT, "peak RSS per process (MiB)");
    }
    h
}

/// Whether some row is a distributed search.
fn distributed(rows: &[Row]) -> bool {
    rows.iter().any(|r| !r.peak_resident_per_process.is_empty())
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
    "reduction factor",
    "matches manifest",
];

/// The table in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let d = distributed(rows);
    let h = header(d);
    let mut out = format!("| {} |\n", h.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(h.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.cells(d).join(" | ")));
    }
    out
}

/// The table as CSV (no field contains a comma or a quote).
pub fn csv(rows: &[Row]) -> String {
    let d = distributed(rows);
    let mut out = header(d).join(",") + "\n";
    for r in rows {
        out.push_str(&(r.cells(d).join(",") + "\n"));
    }
    out
}

/// Runs every selected `bench` case, each in a child process of this executable, and returns
/// their rows in order.
/// With `workers`, each case is a distributed search of that many processes on this machine
/// (`check --workers N`), and only the cases of the breadth-first search run.
pub fn run(
    path: &Path,
    filter: Option<String>,
    threads: Option<usize>,
    workers: Option<u16>,
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
    let mut cases = suite::selected(path, &selection)?;
    if workers.is_some() {
        let all = cases.len();
        cases.retain(|(_, _, req)| req.options.engine == Engine::Bfs && !req.options.por);
        if cases.len() < all && !cases.is_empty() {
            eprintln!(
                "{}: --workers: {} of the {all} cases that match are not breadth-first searches in one process (random walks, partial-order reduction), and are left out",
                crate::error::program(),
                all - cases.len()
            );
        }
        if cases.is_empty() {
            return Err(InputError::Usage(format!(
                "--workers: no case of {} that matches runs the breadth-first search; \
                 give a --filter that selects one",
                path.display()
            )));
        }
    }
    for (file, id, _) in cases {
        if crate::engine::interrupted() {
            // Ctrl-C: the case that was running is reported; no other starts.
            break;
        }
        let problem = |what: String| InputError::File {
            path: file.clone(),
            problem: format!("case {id}: {what}"),
        };
        let mut child = std::process::Command::new(&exe);
        workers::stop_with_parent(&mut child)
            .arg("bench")
            .arg(&file)
            .args(["--case", &id, "--format", "json"]);
        if let Some(t) = threads {
            child.args(["--threads", &t.to_string()]);
        }
        if let Some(n) = workers {
            child.args(["--workers", &n.to_string()]);
        }
        let (status, stdout) =
            run_child(&mut child).map_err(|e| problem(format!("cannot run ({e})")))?;
        if status.code() == Some(check::EXIT_USAGE) && stdout.is_empty() {
            // The case's input was bad, and the child said so.
            return Err(InputError::Reported);
        }
        let mut got: Vec<Row> = serde_json::from_slice(&stdout)
            .map_err(|e| problem(format!("the child process printed no table ({e})")))?;
        rows.append(&mut got);
    }
    Ok(rows)
}

/// Runs a case's child process: its exit status and standard output (its standard error is
/// this process's). The child has a process group of its
/// own, so a Ctrl-C at the terminal reaches this process alone; when it is interrupted (Ctrl-C,
/// or SIGTERM sent to it alone), it passes one SIGTERM on to the child, which stops its case
/// and reports it as a first Ctrl-C would. A second Ctrl-C ends this process, and the child
/// with it (`stop_with_parent`).
fn run_child(
    child: &mut std::process::Command,
) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    #[cfg(target_os = "linux")]
    std::os::unix::process::CommandExt::process_group(child, 0);
    let mut running = child
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let mut stdout = running.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let mut passed_on = false;
    let status = loop {
        if let Some(status) = running.try_wait()? {
            break status;
        }
        if crate::engine::interrupted() && !passed_on {
            passed_on = true;
            #[cfg(target_os = "linux")]
            // SAFETY: kill has no memory effects; the child is ours and not yet reaped.
            unsafe {
                libc::kill(running.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stdout = reader
        .join()
        .map_err(|_| std::io::Error::other("the child's output could not be read"))??;
    Ok((status, stdout))
}

/// Runs the one case `id` of `path` in this process: alone, as process 0 of a distributed
/// search that starts `workers − 1` more processes (`Distributed::Start`), or as a process of
/// one that process 0 started (`Distributed::Join`).
pub fn run_here(
    catalog: &Catalog,
    path: &Path,
    id: &str,
    threads: Option<usize>,
    distributed: Option<Distributed>,
) -> Result<Vec<Row>, InputError> {
    let mut selection = Selection {
        exact: Some(id.to_string()),
        threads,
        ..Selection::default()
    };
    let mut local = None;
    match distributed {
        Some(Distributed::Start(n)) => {
            // The case is checked as a distributed search before the other processes start:
            // they would wait for process 0 otherwise.
            for (file, id, mut req) in suite::selected(path, &selection)? {
                req.options.cluster = Some(Cluster {
                    process: 0,
                    addresses: Vec::new(),
                });
                check::validate(catalog, &req).map_err(|e| InputError::File {
                    path: file,
                    problem: format!("case {id}: {e}"),
                })?;
            }
            let started = LocalWorkers::start(n.into())?;
            selection.cluster = Some(started.cluster.clone());
            local = Some(started);
        }
        Some(Distributed::Join(cluster)) => selection.cluster = Some(cluster),
        None => {}
    }
    let outcomes = suite::run(catalog, path, &selection, &mut |o| {
        if selection.cluster.as_ref().is_none_or(|c| c.process == 0) {
            eprintln!("{}", suite::table_line(o));
        }
    });
    drop(local);
    Ok(outcomes?.iter().map(Row::of).collect())
}

/// How a case of `bench --workers N` runs in its process.
pub enum Distributed {
    /// As process 0, starting this many processes in all.
    Start(u16),
    /// As a process that process 0 started.
    Join(Cluster),
}
