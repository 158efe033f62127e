//! ftcheck's random-walk engine (`--engine simulation`): walks from an initial state, each step
//! an enabled action chosen at random, for bugs beyond the reach of an exhaustive search. It
//! replaced stateright's simulation checker (issue 20), whose paths could not be rebuilt on
//! models whose `next_state` returns `None` (every raft property came back `incomplete`), whose
//! runs were not reproducible under `--timeout` or threads, and whose "unique" count was the
//! count of states generated.
//!
//! - **Walks.** Walks are numbered 0, 1, 2, …; walk `w` draws every choice (its initial state,
//!   its actions, its depth limit) from a ChaCha8 generator seeded by `(seed, w)` alone. A step
//!   takes an action chosen uniformly among those whose `next_state` is another state within
//!   the model's boundary (the others are no steps: a walk does not stutter); a walk ends in a
//!   state with none, or at its depth limit: `--max-depth`, else [`DEFAULT_WALK_DEPTH`] (TLC's
//!   simulation's default). With limit 0 there is one walk per initial state.
//! - **Swarm** (`--engine swarm`): each walk draws its depth limit between 1 and that limit, as Spin's
//!   swarm verification varies its searches: short walks reach shallow states often, long ones
//!   deep states at all.
//! - **Reproducible.** The trace reported for a property is the one of the lowest-numbered walk
//!   that found it, and the search stops once every property is decided only after finishing
//!   every walk it began, so no lower-numbered walk is cut short: the same seed reports the same
//!   traces on any number of threads, and under `--timeout` whenever the walk that found a trace
//!   ran (the state counts differ with threads: threads may finish walks past the last needed).
//! - **Counts.** Every state visited is fingerprinted (its representative's under symmetry) into
//!   a visited set: `unique_states` is the number of distinct states the walks reached,
//!   `generated_states` the number of states visited, repeats included.
//! - **Traces.** A walk that came back to a state it had visited found a shorter path to it: the
//!   steps between are erased from its trace (states compared by fingerprint; the runner
//!   re-executes every trace and re-checks its last state before reporting it). `--minimize`
//!   shortens it further.
//! - **Budget.** A simulation is never exhaustive, so it never says `holds`. It stops once
//!   every safety and reachability property is decided, at `--max-states` distinct states, at
//!   `--timeout`, and without a timeout after [`DEFAULT_SIMULATION_STEPS`] states visited
//!   (undecided properties then `incomplete (max-states N)`, `(timeout Ns)` or `(simulation)`,
//!   or `(stop-on-violation)` when that flag stopped the walks). The state
//!   bounds are checked by the walks at every state, so one thread stops at the same state in
//!   every run.

use crate::engine::{
    decides, fingerprint, fingerprint_of, interrupted, CheckOptions, Discovery, Engine, IndexPath,
    Representative, SearchOutcome, Stats, StopReason,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stateright::{Expectation, Model};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A walk's depth limit when `--max-depth` is not given (TLC's `-depth` default).
pub const DEFAULT_WALK_DEPTH: usize = 100;

/// The states a simulation visits at most when given no `--timeout`.
pub const DEFAULT_SIMULATION_STEPS: usize = 1_000_000;

/// The generator of walk `walk` of a simulation seeded `seed`: its 32-byte ChaCha8 seed is the
/// two numbers' little-endian bytes, so a walk depends on nothing else (not on the thread that
/// runs it, nor on the walks before it).
fn walk_rng(seed: u64, walk: u64) -> ChaCha8Rng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&walk.to_le_bytes());
    ChaCha8Rng::from_seed(bytes)
}

/// A number below `n` (`n > 0`), by Lemire's multiply-shift: uniform to within 2^-64.
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

type FpSet = HashSet<u64, BuildHasherDefault<fxhash::FxHasher>>;

/// The visited set: fingerprints in 64 locked shards (by the fingerprint's top bits).
struct Visited {
    shards: Vec<Mutex<FpSet>>,
    unique: AtomicUsize,
}

impl Visited {
    fn new() -> Self {
        Visited {
            shards: (0..64).map(|_| Mutex::new(FpSet::default())).collect(),
            unique: AtomicUsize::new(0),
        }
    }

    fn insert(&self, fp: u64) {
        let shard = &self.shards[(fp >> 58) as usize];
        if shard.lock().unwrap_or_else(|e| e.into_inner()).insert(fp) {
            self.unique.fetch_add(1, Relaxed);
        }
    }

    /// Bytes held by the sets' tables (8 per slot and a control byte).
    fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).capacity() * 9)
            .sum()
    }
}

/// What the walks share.
struct Shared<'a, M: Model> {
    model: &'a M,
    symmetry: Option<Representative<M>>,
    properties: Vec<stateright::Property<M>>,
    /// The initial states within the boundary, with their indices in `init_states()`.
    inits: Vec<(usize, M::State)>,
    seed: u64,
    depth: usize,
    swarm: bool,
    /// Distinct states, and states visited, after which no walk begins.
    max_states: Option<usize>,
    budget: Option<usize>,
    visited: Visited,
    generated: AtomicUsize,
    max_depth: AtomicUsize,
    next_walk: AtomicU64,
    /// Per property, the lowest walk that found it (`u64::MAX`: none yet); `found` holds its
    /// trace.
    best_walk: Vec<AtomicU64>,
    found: Mutex<Vec<Option<IndexPath>>>,
    /// No walk is to begin (every property decided, or a bound reached).
    no_more_walks: AtomicBool,
    /// Walks are to stop where they are (a bound reached).
    halt: AtomicBool,
    /// `--stop-on-violation`: the lowest walk that violated a safety property (`u64::MAX`:
    /// none, or not asked). Walks numbered above it stop, and what they found is dropped.
    stop_walk: AtomicU64,
    stop_on_violation: bool,
    /// The bound that stopped the walks (`--max-states`, `--timeout`), if one did.
    bound: Mutex<Option<StopReason>>,
}

impl<M: Model> Shared<'_, M>
where
    M::State: Hash + Clone,
    M::Action: Clone,
{
    fn fingerprint(&self, s: &M::State) -> u64 {
        fingerprint_of::<M>(self.symmetry, s)
    }

    /// Records the first bound that stopped the walks.
    fn stopped_by(&self, reason: StopReason) {
        let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        bound.get_or_insert(reason);
    }

    /// Whether every property a simulation can decide is decided.
    fn all_decided(&self) -> bool {
        self.properties
            .iter()
            .zip(&self.best_walk)
            .all(|(p, b)| p.expectation == Expectation::Eventually || b.load(Relaxed) != u64::MAX)
    }

    /// Runs walks until told to stop.
    fn worker(&self) {
        let mut actions = Vec::new();
        let mut choices = Vec::new();
        let mut steps: Vec<usize> = Vec::new();
        while !self.no_more_walks.load(Relaxed) {
            let walk = self.next_walk.fetch_add(1, Relaxed);
            if walk > self.stop_walk.load(Relaxed) {
                self.no_more_walks.store(true, Relaxed);
                break;
            }
            // Walks of depth limit 0 visit initial states only: one walk per initial state.
            if self.depth == 0 && walk >= self.inits.len() as u64 {
                self.no_more_walks.store(true, Relaxed);
                break;
            }
            let mut rng = walk_rng(self.seed, walk);
            let limit = if self.swarm {
                self.depth.min(1 + below(&mut rng, self.depth.max(1)))
            } else {
                self.depth
            };
            let (init, mut state) = {
                let pick = if self.depth == 0 {
                    walk as usize
                } else {
                    below(&mut rng, self.inits.len())
                };
                let (i, s) = &self.inits[pick];
                (*i, s.clone())
            };
            steps.clear();
            let mut visited = 0;
            let mut fp = self.fingerprint(&state);
            loop {
                visited += 1;
                self.visited.insert(fp);
                self.check(walk, init, &steps, &state);
                let spent = self
                    .max_states
                    .is_some_and(|n| self.visited.unique.load(Relaxed) >= n)
                    || self
                        .budget
                        .is_some_and(|n| self.generated.load(Relaxed) + visited >= n);
                if spent {
                    if let Some(n) = self
                        .max_states
                        .filter(|&n| self.visited.unique.load(Relaxed) >= n)
                    {
                        self.stopped_by(StopReason::MaxStates(n));
                    }
                    self.halt.store(true, Relaxed);
                    self.no_more_walks.store(true, Relaxed);
                }
                if steps.len() >= limit
                    || self.halt.load(Relaxed)
                    || walk > self.stop_walk.load(Relaxed)
                {
                    break;
                }
                actions.clear();
                self.model.actions(&state, &mut actions);
                choices.clear();
                choices.extend(0..actions.len());
                let mut next = None;
                while !choices.is_empty() {
                    let index = choices.swap_remove(below(&mut rng, choices.len()));
                    let Some(s) = self.model.next_state(&state, actions[index].clone()) else {
                        continue;
                    };
                    if !self.model.within_boundary(&s) {
                        continue;
                    }
                    let f = self.fingerprint(&s);
                    if f != fp {
                        next = Some((index, s, f));
                        break;
                    }
                }
                let Some((index, s, f)) = next else { break };
                steps.push(index);
                state = s;
                fp = f;
            }
            self.max_depth.fetch_max(steps.len(), Relaxed);
            self.generated.fetch_add(visited, Relaxed);
        }
    }

    /// Checks the properties walk `walk` may still be the first to decide on the state its
    /// `steps` from initial state `init` reached.
    fn check(&self, walk: u64, init: usize, steps: &[usize], state: &M::State) {
        for (i, p) in self.properties.iter().enumerate() {
            if p.expectation == Expectation::Eventually || self.best_walk[i].load(Relaxed) <= walk {
                continue;
            }
            if !decides(p, self.model, state) {
                continue;
            }
            let path = self.without_loops(init, steps);
            let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
            if walk < self.best_walk[i].load(Relaxed) {
                self.best_walk[i].store(walk, Relaxed);
                found[i] = Some(path);
            }
            drop(found);
            if self.stop_on_violation && p.expectation == Expectation::Always {
                self.stop_walk.fetch_min(walk, Relaxed);
            }
            if self.all_decided() {
                self.no_more_walks.store(true, Relaxed);
            }
        }
    }

    /// The path with every loop erased: re-executed from its initial state, and cut back
    /// wherever it reaches a state it had reached before.
    fn without_loops(&self, init: usize, steps: &[usize]) -> IndexPath {
        let mut state = self
            .inits
            .iter()
            .find(|(i, _)| *i == init)
            .map(|(_, s)| s.clone());
        let mut fps = Vec::with_capacity(steps.len() + 1);
        let mut kept: Vec<usize> = Vec::with_capacity(steps.len());
        let mut actions = Vec::new();
        if let Some(s) = &state {
            fps.push(fingerprint(s));
        }
        for &index in steps {
            let Some(s) = state.take() else { break };
            actions.clear();
            self.model.actions(&s, &mut actions);
            let next = actions
                .get(index)
                .and_then(|a| self.model.next_state(&s, a.clone()));
            let Some(next) = next else { break };
            let fp = fingerprint(&next);
            kept.push(index);
            match fps.iter().position(|&f| f == fp) {
                Some(at) => {
                    fps.truncate(at + 1);
                    kept.truncate(at);
                }
                None => fps.push(fp),
            }
            state = Some(next);
        }
        IndexPath {
            init,
            actions: kept,
        }
    }
}

/// Runs a simulation of `model` as `opts` says (seed, threads, `max_depth` as each walk's
/// depth limit, [`Engine::Swarm`] for varied limits, bounds); `progress` is called every
/// `opts.progress_every`.
pub fn simulate<M>(
    model: &M,
    symmetry: Option<Representative<M>>,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&Stats),
) -> SearchOutcome
where
    M: Model + Sync,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone,
{
    let start = Instant::now();
    let threads = opts.threads.max(1);
    let properties = model.properties();
    let inits: Vec<(usize, M::State)> = model
        .init_states()
        .into_iter()
        .enumerate()
        .filter(|(_, s)| model.within_boundary(s))
        .collect();
    let shared = Shared {
        model,
        symmetry,
        best_walk: properties
            .iter()
            .map(|_| AtomicU64::new(u64::MAX))
            .collect(),
        found: Mutex::new(vec![None; properties.len()]),
        properties,
        inits,
        seed: opts.seed,
        depth: opts.max_depth.unwrap_or(DEFAULT_WALK_DEPTH),
        swarm: opts.engine == Engine::Swarm,
        max_states: opts.max_states,
        budget: match opts.timeout {
            None => Some(DEFAULT_SIMULATION_STEPS),
            Some(_) => None,
        },
        visited: Visited::new(),
        generated: AtomicUsize::new(0),
        max_depth: AtomicUsize::new(0),
        next_walk: AtomicU64::new(0),
        no_more_walks: AtomicBool::new(false),
        halt: AtomicBool::new(false),
        stop_walk: AtomicU64::new(u64::MAX),
        stop_on_violation: opts.stop_on_violation,
        bound: Mutex::new(None),
    };
    let stats = |s: &Shared<M>| Stats {
        unique_states: s.visited.unique.load(Relaxed),
        generated_states: s.generated.load(Relaxed),
        threads,
        max_depth: s.max_depth.load(Relaxed),
        elapsed_secs: start.elapsed().as_secs_f64(),
        ..Stats::default()
    };
    if shared.inits.is_empty() {
        shared.no_more_walks.store(true, Relaxed);
    }
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| shared.worker());
        }
        let mut last_progress = Instant::now();
        while !shared.no_more_walks.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
            // A timeout or an interrupt stops the walks where they are.
            if interrupted() || opts.timeout.is_some_and(|t| start.elapsed() >= t) {
                if let Some(t) = opts.timeout.filter(|_| !interrupted()) {
                    shared.stopped_by(StopReason::Timeout(t.as_secs()));
                }
                shared.halt.store(true, Relaxed);
                shared.no_more_walks.store(true, Relaxed);
            }
            if last_progress.elapsed() >= opts.progress_every {
                last_progress = Instant::now();
                progress(&stats(&shared));
            }
        }
    });
    let mut stats = stats(&shared);
    stats.memory_bytes = shared.visited.bytes();
    let stop_walk = shared.stop_walk.load(Relaxed);
    let bound = shared
        .bound
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let found = shared.found.into_inner().unwrap_or_else(|e| e.into_inner());
    // Only what the walks up to the stopping one found: the same on any threads.
    let discoveries = found
        .into_iter()
        .zip(&shared.best_walk)
        .map(|(p, b)| p.filter(|_| b.load(Relaxed) <= stop_walk))
        .map(|p| p.map(Discovery::Trace))
        .collect();
    SearchOutcome {
        stats,
        stopped: Some(if interrupted() {
            StopReason::Interrupted
        } else if let Some(bound) = bound {
            bound
        } else if stop_walk != u64::MAX {
            StopReason::StopOnViolation
        } else {
            StopReason::Simulation
        }),
        discoveries,
        graph: None,
    }
}
