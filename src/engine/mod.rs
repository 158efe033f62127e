//! Running a search over any stateright [`Model`]: ftcheck's own breadth-first search and random
//! walks ([`simulation`]), and stateright's depth-first checker, behind the same interface.
//!
//! The BFS is ftcheck's own because stateright 0.31's BFS overwrites discoveries (its paths are
//! not shortest), ignores `symmetry()`, and keeps a full state plus an action-index path per queued
//! state. Here the visited set holds 64-bit fingerprints only, each discovered state gets a parent
//! link and the index of the action that reached it (8 bytes), and properties are evaluated when a
//! state is first discovered: BFS discovers states in order of depth, so the first state that
//! violates (or satisfies) a property ends a shortest trace, and it is never replaced.
//!
//! Every trace, from any engine, is rebuilt by re-executing the model from its initial state by
//! action indices ([`rebuild`]), and its last state is checked again before it is reported.
//!
//! With a [`Recorder`] (liveness properties to check), the BFS also stores the state graph
//! ([`Graph`]): per state its edges (target index, action index, fairness class: 12 bytes each)
//! and a bit per predicate, never the states themselves; it then explores every reachable state
//! rather than stopping once the other properties are decided. The liveness search (`src/liveness/`) searches it.

pub(crate) mod bfs;
pub mod cluster;
mod fptable;
mod search;
pub mod simulation;

pub use search::search;

use crate::protocol::Fairness;
use serde::Serialize;
use stateright::Model;
use std::hash::Hash;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Which search to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// ftcheck's breadth-first search: exhaustive, shortest traces, symmetry, fingerprints.
    Bfs,
    /// stateright's depth-first search (multi-threaded); traces re-executed and re-checked.
    Dfs,
    /// ftcheck's random walks, reproducible by `--seed`; never exhaustive, so never `holds`.
    Simulation,
    /// Random walks whose depth limits vary, from 1 to `--max-depth` (Spin's swarm).
    Swarm,
}

/// One of N parts of a sharded search (`--shard I/N`, I from 1), written `I/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Shard {
    /// Which part, from 1.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Shard {
    type Error = String;
    fn try_from(text: String) -> Result<Shard, String> {
        text.parse()
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `I/N` with 1 <= I <= N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("'{text}' is not a shard; write I/N with 1 <= I <= N, like 2/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Where a sharded search split the frontier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Split {
    /// The depth of the level that was split.
    pub depth: usize,
    /// States found before the split, the whole split level included: every shard finds
    /// them all.
    pub prefix_states: usize,
    /// States of the split level.
    pub level_states: usize,
    /// Of these, the states this shard went on from.
    pub part_states: usize,
}

/// How to search.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct CheckOptions {
    /// The search.
    pub engine: Engine,
    /// Worker threads.
    pub threads: usize,
    /// Reduce by the model's symmetry (its representative function).
    pub symmetry: bool,
    /// Reduce by the model's partial-order reduction, if it declares one (BFS, safety and
    /// reachability only: liveness is then not checked).
    #[serde(default)]
    pub por: bool,
    /// Stop after this many unique states.
    pub max_states: Option<usize>,
    /// Do not explore beyond this many steps from an initial state.
    pub max_depth: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Stop before the process's resident memory could exceed this many bytes (BFS).
    pub max_memory: Option<u64>,
    /// Seed of the simulation.
    pub seed: u64,
    /// Check liveness properties (BFS, with or without symmetry; stores the state graph).
    pub liveness: bool,
    /// Explore only this part of the frontier beyond the split depth (BFS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Stop at the first counterexample to a safety property, as TLC and Spin do by default;
    /// properties it leaves undecided are then `incomplete (stop-on-violation)`. BFS finishes
    /// the state it numbers (the trace is still a shortest one); the random walks finish every
    /// walk numbered below the one that found it (the same trace on any threads).
    #[serde(default)]
    pub stop_on_violation: bool,
    /// Search with the other worker processes of this cluster (BFS): see [`cluster`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<cluster::Cluster>,
    /// How often the progress callback is called.
    #[serde(skip, default = "default_progress_every")]
    pub progress_every: Duration,
}

fn default_progress_every() -> Duration {
    Duration::from_secs(5)
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            engine: Engine::Bfs,
            threads: 1,
            symmetry: false,
            por: false,
            max_states: None,
            max_depth: None,
            timeout: None,
            max_memory: None,
            seed: 0,
            liveness: true,
            shard: None,
            stop_on_violation: false,
            cluster: None,
            progress_every: default_progress_every(),
        }
    }
}

/// Counters of a search, reported at the end and in progress lines.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Stats {
    /// Distinct states found (after symmetry reduction, if on).
    pub unique_states: usize,
    /// States generated, counting repeats.
    pub generated_states: usize,
    /// Threads that searched.
    pub threads: usize,
    /// Deepest state found, in steps from an initial state.
    pub max_depth: usize,
    /// States discovered but not yet expanded.
    pub queue: usize,
    /// Seconds since the search started.
    pub elapsed_secs: f64,
    /// Bytes held by the search's own structures at the end (visited set, parent links, and
    /// the state graph when liveness is checked); not the process's resident memory.
    pub memory_bytes: usize,
    /// States expanded by a persistent set only, under partial-order reduction (`--por`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reduced_states: usize,
    /// Edges of the stored state graph (0 when no liveness property is checked).
    pub graph_edges: usize,
    /// Seconds spent deciding liveness properties on the stored graph (after the search).
    pub liveness_secs: f64,
    /// Where a sharded search split the frontier (`None`: unsharded, or the search ended
    /// before a level was large enough to split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Each worker's share of a distributed search (empty for one process).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<cluster::WorkerStats>,
}

impl Stats {
    /// Generated states per second.
    pub fn states_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.generated_states as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// [`Stats::memory_bytes`] per unique state.
    pub fn bytes_per_state(&self) -> f64 {
        self.memory_bytes as f64 / self.unique_states.max(1) as f64
    }

    /// The probability that two distinct states shared a fingerprint, estimated as TLC does
    /// ("optimistic": n * (g - n) / 2^64 for n distinct and g generated states).
    pub fn collision_probability(&self) -> f64 {
        let n = self.unique_states as f64;
        let g = self.generated_states.max(self.unique_states) as f64;
        n * (g - n) / 2f64.powi(64)
    }
}

/// What stopped a search before it explored every reachable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "bound", content = "limit", rename_all = "kebab-case")]
pub enum StopReason {
    /// `--max-states`
    MaxStates(usize),
    /// `--max-depth`
    MaxDepth(usize),
    /// `--timeout`, in seconds
    Timeout(u64),
    /// `--max-memory`, in bytes
    MaxMemory(u64),
    /// A simulation is never exhaustive.
    Simulation,
    /// Ctrl-C (SIGINT) or SIGTERM: see [`interrupt`].
    Interrupted,
    /// `--stop-on-violation`: a safety property was violated.
    StopOnViolation,
    /// A worker of a distributed search failed or could not connect: why.
    WorkerFailed(String),
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every search of this process to stop as soon as it can, as a bound would stop it: its
/// report then says `incomplete (interrupted)` for every undecided property and keeps every
/// counterexample already found. The `ftcheck` command calls it on SIGINT and SIGTERM.
pub fn interrupt() {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::MaxStates(n) => write!(f, "max-states {n}"),
            StopReason::MaxDepth(n) => write!(f, "max-depth {n}"),
            StopReason::Timeout(s) => write!(f, "timeout {s}s"),
            StopReason::MaxMemory(b) => write!(f, "max-memory {}", size_text(*b)),
            StopReason::Simulation => write!(f, "simulation"),
            StopReason::Interrupted => write!(f, "interrupted"),
            StopReason::StopOnViolation => write!(f, "stop-on-violation"),
            StopReason::WorkerFailed(why) => write!(f, "{why}"),
        }
    }
}

/// A trace as found: which initial state, then the index of each action in `actions()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexPath {
    /// Index into `init_states()`.
    pub init: usize,
    /// Index into `actions()` at each step.
    pub actions: Vec<usize>,
}

/// The raw outcome of a search, before traces are rebuilt.
pub struct SearchOutcome {
    /// Counters.
    pub stats: Stats,
    /// `None` when the search was exhaustive (or stopped only because every property was
    /// decided).
    pub stopped: Option<StopReason>,
    /// For each property of `model.properties()`, in order: what the search found that decides
    /// it (violates an `Always`, satisfies a `Sometimes`), if anything. `Eventually` is never
    /// here. Traces are not re-checked here: the runner re-executes each one (it must, to show
    /// it) and re-checks its last state before reporting it.
    pub discoveries: Vec<Option<Discovery>>,
    /// The state graph, when a [`Recorder`] asked for it (BFS only).
    pub graph: Option<Graph>,
}

/// What to record, besides safety, for a liveness analysis: the fairness of each action and
/// the state predicates the analysis needs.
pub struct Recorder<M: Model> {
    /// The fairness of an action.
    pub fairness: fn(&M, &M::Action) -> Fairness,
    /// State predicates, evaluated once per state and stored as bits.
    pub predicates: Vec<fn(&M, &M::State) -> bool>,
}

/// The class of an edge whose action is unfair.
pub const UNFAIR: u32 = u32::MAX;

/// An edge of the state graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The state reached.
    pub to: u32,
    /// The index of the action in `actions()` at the source state.
    pub action: u32,
    /// The fairness class of the action ([`UNFAIR`] if none).
    pub class: u32,
}

/// The reachable state graph, compactly: states are indices in discovery order (so by depth),
/// edges are stored per state in one array, and no state is kept.
#[derive(Default)]
pub struct Graph {
    /// States discovered.
    pub nodes: usize,
    /// One bit per state: set when a bound stopped the search before all its successors were
    /// recorded, so nothing is known of where it leads.
    pub open: Vec<u64>,
    /// Edges of state `i`: `edges[offsets[i]..offsets[i + 1]]` (none for an open state).
    pub offsets: Vec<u32>,
    /// Every edge.
    pub edges: Vec<Edge>,
    /// The fairness of each class (an action: "deliver this message").
    pub classes: Vec<Fairness>,
    /// Parent of each state on a shortest path (`u32::MAX` for an initial state).
    pub parent: Vec<u32>,
    /// The action index from the parent (the initial-state index for an initial state).
    pub via: Vec<u32>,
    /// The initial states.
    pub initial: Vec<u32>,
    /// One bit per state for each of the recorder's predicates.
    pub bits: Vec<Vec<u64>>,
    /// Under symmetry reduction: each state's fingerprint (that of its representative), to
    /// tell which state of the graph a state of its orbit stands for; empty otherwise.
    pub fingerprints: Vec<u64>,
}

impl Graph {
    /// The edges of state `v` (none if it is open).
    pub fn out(&self, v: u32) -> &[Edge] {
        let v = v as usize;
        &self.edges[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    /// Whether the search stopped before recording all of `v`'s successors.
    pub fn is_open(&self, v: u32) -> bool {
        self.open[v as usize / 64] >> (v % 64) & 1 == 1
    }

    pub(crate) fn set_open(&mut self, v: u32) {
        let word = v as usize / 64;
        if word >= self.open.len() {
            self.open.resize(word + 1, 0);
        }
        self.open[word] |= 1 << (v % 64);
    }

    /// Whether predicate `p` holds at state `v`.
    pub fn holds(&self, p: usize, v: u32) -> bool {
        self.bits[p][v as usize / 64] >> (v % 64) & 1 == 1
    }

    /// The shortest path from an initial state to `v`.
    pub fn path_to(&self, v: u32) -> IndexPath {
        path_to(&self.parent, &self.via, v)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.offsets.capacity() * 4
            + self.edges.capacity() * std::mem::size_of::<Edge>()
            + self.classes.capacity()
            + self.open.capacity() * 8
            + self.initial.capacity() * 4
            + self.bits.iter().map(|b| b.capacity() * 8).sum::<usize>()
            + self.fingerprints.capacity() * 8
    }
}

/// A search's claim that a property is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// The trace, as action indices.
    Trace(IndexPath),
    /// The checker reported a trace that does not follow from the model.
    Unconfirmed,
}

/// A byte count as `--max-memory` takes it: `512M`, `4G`, `1.5G` (powers of 1024), or bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let scale: u64 = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "'{text}' has an unknown unit; write a size like 512M or 4G"
            ))
        }
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok((n * scale as f64) as u64),
        _ => Err(format!(
            "'{text}' is not a size; write a size like 512M or 4G"
        )),
    }
}

/// A byte count for people: `512 MiB`, `4.0 GiB`.
pub fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.0} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{bytes} B")
    }
}

/// A memory figure of this process from Linux's `/proc/self/status` (`VmRSS:`, `VmHWM:`), in
/// bytes, if the system reports it.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// This process's resident memory (`VmRSS`), if the system reports it.
pub fn resident_bytes() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// This process's peak resident memory (`VmHWM`), if the system reports it: a case's own peak
/// only in a process that ran nothing else (as `ftcheck bench` runs each case).
pub fn peak_resident_bytes() -> Option<u64> {
    proc_status_bytes("VmHWM:")
}

/// The fingerprint of a state: 64 bits of a fixed-seed hash, the same in every run.
pub fn fingerprint<T: Hash>(value: &T) -> u64 {
    ahash::RandomState::with_seeds(0x5851_f42d_4c95_7f2d, 0x1405_7b7e_f767_814f, 7, 11)
        .hash_one(value)
}

/// A model's representative function (symmetry reduction): equal for states that differ only
/// by a permutation of interchangeable processes.
pub type Representative<M> = fn(&<M as Model>::State) -> <M as Model>::State;

/// A model's partial-order reduction (`--por`): see [`crate::protocol::Reduction`].
pub use crate::protocol::Reduction;

/// A state's fingerprint: of its representative under symmetry, else of the state.
pub(crate) fn fingerprint_of<M: Model>(symmetry: Option<Representative<M>>, s: &M::State) -> u64
where
    M::State: Hash,
{
    match symmetry {
        Some(rep) => fingerprint(&rep(s)),
        None => fingerprint(s),
    }
}

/// The properties `properties` a search decides state by state (every one but `Eventually`),
/// and of those the `Always` ones whose violation stops it under `--stop-on-violation` (none
/// without it): bit masks by property index.
pub(crate) fn decision_masks<M: Model>(
    properties: &[stateright::Property<M>],
    stop_on_violation: bool,
) -> (u64, u64) {
    let mask = |keep: &dyn Fn(&stateright::Expectation) -> bool| {
        properties
            .iter()
            .enumerate()
            .filter(|(_, p)| keep(&p.expectation))
            .fold(0u64, |m, (i, _)| m | 1 << i)
    };
    let decidable = mask(&|e| *e != stateright::Expectation::Eventually);
    let stops = if stop_on_violation {
        mask(&|e| *e == stateright::Expectation::Always)
    } else {
        0
    };
    (decidable, stops)
}

/// Whether state `s` decides safety or reachability property `p`: violates an `Always`, or
/// satisfies a `Sometimes`. (Not for `Eventually`, which no single state decides.)
pub(crate) fn decides<M: Model>(p: &stateright::Property<M>, model: &M, s: &M::State) -> bool {
    (p.condition)(model, s) == (p.expectation == stateright::Expectation::Sometimes)
}

/// The parent of an initial state.
pub const ROOT: u32 = u32::MAX;

/// The path to state `v` by parent links and the action index (or, for an initial state, the
/// initial-state index) that reached each state.
pub fn path_to(parent: &[u32], via: &[u32], mut v: u32) -> IndexPath {
    let mut actions = Vec::new();
    while parent[v as usize] != ROOT {
        actions.push(via[v as usize] as usize);
        v = parent[v as usize];
    }
    actions.reverse();
    IndexPath {
        init: via[v as usize] as usize,
        actions,
    }
}

/// Re-executes an index path from its initial state: the states and actions of every step, or
/// the number of the first step (1-based; 0 for the initial state) that does not apply.
#[allow(clippy::type_complexity)]
pub fn rebuild<M: Model>(
    model: &M,
    path: &IndexPath,
) -> Result<(M::State, Vec<(M::Action, M::State)>), usize>
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut inits = model.init_states();
    if path.init >= inits.len() {
        return Err(0);
    }
    let init = inits.swap_remove(path.init);
    let mut state = init.clone();
    let mut steps = Vec::with_capacity(path.actions.len());
    let mut actions = Vec::new();
    for (n, &index) in path.actions.iter().enumerate() {
        actions.clear();
        model.actions(&state, &mut actions);
        let action = actions.get(index).cloned().ok_or(n + 1)?;
        let next = model.next_state(&state, action.clone()).ok_or(n + 1)?;
        steps.push((action, next.clone()));
        state = next;
    }
    Ok((init, steps))
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
