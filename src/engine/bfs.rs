//! ftcheck's breadth-first search, on any number of threads, level by level.
//!
//! Each level (the states at one depth) is a list of chunks of states; a state's index is its
//! level's first index plus its position, so nothing else is stored beside it. Threads take
//! chunks of the level whole (dropping each state once expanded, so a level shrinks as the
//! next grows), generate successors, and claim each successor's fingerprint in the
//! shared lock-free [`FpTable`]: a state already numbered is dropped at once; a new one is kept
//! only by the earliest parent (by index) that reaches it, however the threads interleave. The
//! main thread then walks the chunks in order and numbers the kept states exactly as a
//! single-threaded BFS would: so indices, parent links, shortest traces, the order in which
//! properties are decided, and every state count are the same for any `--threads`.
//!
//! Per state the search keeps its fingerprint and a 32-bit word in the table (12.8 bytes a
//! slot) and its parent link (8 bytes), plus the states of the levels in hand. States are never
//! cloned: a successor is moved into the next level or dropped.
//!
//! Properties are evaluated on the worker threads, once per kept successor, and recorded as
//! bits; so are the liveness recorder's predicates. With a [`Recorder`], the edges of every
//! state are kept in the [`Graph`]: an edge to a state of the level being numbered is resolved
//! through the table once the level is numbered.

use crate::engine::fptable::{Claim, FpTable, Inserts, MAX_INDEX};
use crate::engine::{
    decides, decision_masks, fingerprint, fingerprint_of, resident_bytes, CheckOptions, Discovery,
    Edge, Graph, Recorder, Reduction, Representative, SearchOutcome, Split, Stats, StopReason,
    UNFAIR,
};
use crate::protocol::Fairness;
use fxhash::{FxHashMap, FxHashSet};
use stateright::{Model, Property};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

/// A sharded search splits the first level with at least this many states per shard.
pub const SPLIT_STATES_PER_SHARD: usize = 64;
pub use crate::engine::ROOT;
/// An edge whose target is numbered with its level, after the edge is generated.
const UNRESOLVED: u32 = u32::MAX;
/// The most properties and liveness predicates one search evaluates together: a successor's
/// bits are properties `0..n` then predicates `n..` of one `u64`.
pub const MAX_BITS: usize = 64;

/// A successor kept for numbering.
struct Kept<S> {
    state: S,
    parent: u32,
    via: u32,
    fp: u64,
    /// Bit `i`: property `i` is decided here; bit `n + j` (`n` properties): recorder
    /// predicate `j` holds.
    bits: u64,
}

/// An edge as a worker sees it: its target's index if already numbered.
struct RawEdge {
    target: u32,
    fp: u64,
    action: u32,
    fairness: Fairness,
    action_fp: u64,
}

/// What a worker produced from positions `start..end` of a level.
struct Chunk<S> {
    start: usize,
    end: usize,
    kept: Vec<Kept<S>>,
    /// Kept successors that an earlier parent claimed afterwards: (parent, fingerprint).
    displaced: Vec<(u32, u64)>,
    generated: usize,
    /// States expanded by a persistent set only (partial-order reduction).
    reduced: usize,
    /// The last claim found a state numbered before this level (the cycle proviso's test).
    old_hit: bool,
    /// A successor beyond the depth bound was not explored.
    truncated: bool,
    /// Recording: edges per position, the edges, and positions cut off by the depth bound.
    edge_counts: Vec<u32>,
    edges: Vec<RawEdge>,
    open: Vec<u32>,
}

impl<S> Chunk<S> {
    /// Nothing yet from positions `range`.
    fn new(range: std::ops::Range<usize>) -> Self {
        Chunk {
            start: range.start,
            end: range.end,
            kept: Vec::new(),
            displaced: Vec::new(),
            generated: 0,
            reduced: 0,
            old_hit: false,
            truncated: false,
            edge_counts: Vec::new(),
            edges: Vec::new(),
            open: Vec::new(),
        }
    }
}

/// A successor before its claim.
struct Successor<S> {
    state: S,
    fp: u64,
    index: u32,
    fairness: Fairness,
    action_fp: u64,
}

/// A thread's buffers, reused from state to state.
struct Scratch<M: Model> {
    actions: Vec<M::Action>,
    /// The partial-order reduction's choice, per action.
    keep: Vec<bool>,
    /// Actions left out of the persistent set, with their indices.
    deferred: Vec<(usize, M::Action)>,
    successors: Vec<Successor<M::State>>,
    inserts: Inserts,
}

/// One level being expanded, shared by the threads.
struct Level<'a, M: Model> {
    model: &'a M,
    /// The level's states in chunks of `chunk` states: a thread takes a chunk whole and drops
    /// each state once expanded, so the level shrinks as the next one grows.
    states: &'a [Mutex<Vec<M::State>>],
    /// States in the level.
    len: usize,
    first: u32,
    at_depth_bound: bool,
    symmetry: Option<Representative<M>>,
    reduction: Option<Reduction<M>>,
    properties: &'a [Property<M>],
    /// Bit `i`: property `i` is still undecided.
    undecided: u64,
    recorder: Option<&'a Recorder<M>>,
    /// In a sharded search, at the split level: whether each position is in this part.
    part: Option<&'a [bool]>,
    table: &'a RwLock<FpTable>,
    next: AtomicUsize,
    chunk: usize,
    threads: usize,
    stop: AtomicBool,
    chunks: Mutex<Vec<Chunk<M::State>>>,
}

impl<M: Model> Level<'_, M>
where
    M::State: Hash,
    M::Action: Hash,
{
    fn fingerprint(&self, s: &M::State) -> u64 {
        fingerprint_of::<M>(self.symmetry, s)
    }

    fn bits(&self, s: &M::State) -> u64 {
        let mut bits = 0;
        let mut undecided = self.undecided;
        while undecided != 0 {
            let i = undecided.trailing_zeros();
            undecided &= undecided - 1;
            let p = &self.properties[i as usize];
            if decides(p, self.model, s) {
                bits |= 1 << i;
            }
        }
        if let Some(r) = self.recorder {
            for (j, p) in r.predicates.iter().enumerate() {
                if p(self.model, s) {
                    bits |= 1 << (self.properties.len() + j);
                }
            }
        }
        bits
    }

    /// Expands the states of `states`, the first at position `start`, until done, or until
    /// the table must grow or the search stop.
    fn expand(
        &self,
        table: &FpTable,
        start: usize,
        states: &mut std::vec::IntoIter<M::State>,
        scratch: &mut Scratch<M>,
        tick: &mut dyn FnMut(&FpTable) -> bool,
    ) -> Chunk<M::State> {
        let range = start..start + states.len();
        let mut c = Chunk::new(range.clone());
        let (model, recording) = (self.model, self.recorder.is_some());
        for pos in range {
            if table.needs_growing() || self.stop.load(Relaxed) {
                c.end = pos;
                break;
            }
            if pos % 256 == 0 && !tick(table) {
                self.stop.store(true, Relaxed);
                c.end = pos;
                break;
            }
            let node = self.first + pos as u32;
            let edges_before = c.edges.len();
            let Some(state) = states.next() else {
                break;
            };
            let state = &state;
            if self.part.is_some_and(|part| !part[pos]) {
                // Another shard's: nothing is known here of where it leads.
                if recording {
                    c.edge_counts.push(0);
                    c.open.push(node);
                }
                continue;
            }
            if self.at_depth_bound && c.truncated && !recording {
                continue;
            }
            scratch.actions.clear();
            model.actions(state, &mut scratch.actions);
            // Partial-order reduction: a persistent set first; the rest only if one of its
            // successors was numbered before this level (the cycle proviso: every cycle of
            // the reduced graph passes through a state expanded fully) or none is a state.
            let reduced = match self.reduction {
                Some(reduce) if !self.at_depth_bound && !recording => {
                    scratch.keep.clear();
                    reduce(model, state, &scratch.actions, &mut scratch.keep)
                        && scratch.keep.len() == scratch.actions.len()
                        && scratch.keep.iter().any(|k| !k)
                }
                _ => false,
            };
            let mut deferred = std::mem::take(&mut scratch.deferred);
            let mut actions = std::mem::take(&mut scratch.actions);
            let claims_before = c.generated;
            c.old_hit = false;
            for (index, action) in actions.drain(..).enumerate() {
                if reduced && !scratch.keep[index] {
                    deferred.push((index, action));
                } else if !self.successor(table, &mut c, scratch, node, state, index, action) {
                    break;
                }
            }
            self.claim_successors(table, &mut c, scratch, node);
            // (No reduction at the depth bound, the only place a claim stops the others.)
            if reduced && (c.old_hit || c.generated == claims_before) {
                for (index, action) in deferred.drain(..) {
                    self.successor(table, &mut c, scratch, node, state, index, action);
                }
                self.claim_successors(table, &mut c, scratch, node);
            } else if reduced {
                c.reduced += 1;
                deferred.clear();
            }
            scratch.deferred = deferred;
            scratch.actions = actions;
            if recording {
                c.edge_counts.push((c.edges.len() - edges_before) as u32);
            }
        }
        table.flush(&mut scratch.inserts);
        c
    }

    /// Generates the successor of `state` (number `node`) by its `index`-th action and claims
    /// it at once (states that own heap memory) or queues it for [`Level::claim_successors`];
    /// `false` when the state's other successors need not be looked at (at the depth bound).
    #[allow(clippy::too_many_arguments)]
    fn successor(
        &self,
        table: &FpTable,
        c: &mut Chunk<M::State>,
        scratch: &mut Scratch<M>,
        node: u32,
        state: &M::State,
        index: usize,
        action: M::Action,
    ) -> bool {
        let model = self.model;
        let (fairness, action_fp) = match self.recorder {
            Some(r) if !self.at_depth_bound => match (r.fairness)(model, &action) {
                Fairness::Unfair => (Fairness::Unfair, 0),
                f => (f, fingerprint(&action)),
            },
            _ => (Fairness::Unfair, 0),
        };
        let Some(next) = model.next_state(state, action) else {
            return true;
        };
        if !model.within_boundary(&next) {
            return true;
        }
        let fp = self.fingerprint(&next);
        let s = Successor {
            state: next,
            fp,
            index: index as u32,
            fairness,
            action_fp,
        };
        if std::mem::needs_drop::<M::State>() {
            // A state that owns heap memory is claimed (and, if seen, freed) at once,
            // while its allocations are still hot in the allocator's caches.
            self.take(table, c, &mut scratch.inserts, node, s)
        } else {
            // For plain-data states: all successors first, their buckets prefetched, then
            // the claims, so the table's cache misses overlap instead of following one
            // another.
            table.prefetch(fp);
            scratch.successors.push(s);
            true
        }
    }

    /// Claims the successors [`Level::successor`] queued, until [`Level::take`] says the
    /// rest need not be looked at.
    fn claim_successors(
        &self,
        table: &FpTable,
        c: &mut Chunk<M::State>,
        scratch: &mut Scratch<M>,
        node: u32,
    ) {
        let mut more = true;
        for s in scratch.successors.drain(..) {
            more = more && self.take(table, c, &mut scratch.inserts, node, s);
        }
    }

    /// Claims successor `s` of state `node`: keeps it if new, records its edge; `false` when
    /// the state's other successors need not be looked at (at the depth bound).
    fn take(
        &self,
        table: &FpTable,
        c: &mut Chunk<M::State>,
        inserts: &mut Inserts,
        node: u32,
        s: Successor<M::State>,
    ) -> bool {
        let recording = self.recorder.is_some();
        if self.at_depth_bound {
            // Safety loses nothing by a successor already seen; a graph loses its edge.
            if recording {
                c.open.push(node);
                c.truncated = true;
                return false;
            } else if !table.contains(s.fp) {
                c.truncated = true;
                return false;
            }
            return true;
        }
        c.generated += 1;
        let target = match table.claim(s.fp, node, self.first, inserts) {
            Claim::Seen(index) => {
                c.old_hit = true;
                index.unwrap_or(UNRESOLVED)
            }
            Claim::Taken => UNRESOLVED,
            Claim::Won { displaced } => {
                if let Some(d) = displaced {
                    c.displaced.push((d, s.fp));
                }
                c.kept.push(Kept {
                    bits: self.bits(&s.state),
                    state: s.state,
                    parent: node,
                    via: s.index,
                    fp: s.fp,
                });
                UNRESOLVED
            }
        };
        if recording {
            c.edges.push(RawEdge {
                target,
                fp: s.fp,
                action: s.index,
                fairness: s.fairness,
                action_fp: s.action_fp,
            });
        }
        true
    }

    /// A thread's share of the level: chunks until none is left or the search stops. `tick`
    /// is given the table this thread already holds (read-locked): it must not lock it again,
    /// or a thread waiting to grow the table would deadlock with it.
    fn work(&self, tick: &mut dyn FnMut(&FpTable) -> bool) {
        let mut scratch = Scratch {
            actions: Vec::new(),
            keep: Vec::new(),
            deferred: Vec::new(),
            successors: Vec::new(),
            inserts: Inserts::default(),
        };
        loop {
            let i = self.next.fetch_add(1, Relaxed);
            let Some(slot) = self.states.get(i) else {
                return;
            };
            let mut states =
                std::mem::take(&mut *slot.lock().unwrap_or_else(|e| e.into_inner())).into_iter();
            let mut start = i * self.chunk;
            while states.len() > 0 {
                let (chunk, grow) = {
                    let table = self.table.read().unwrap_or_else(|e| e.into_inner());
                    let chunk = self.expand(&table, start, &mut states, &mut scratch, tick);
                    (chunk, table.needs_growing())
                };
                start = chunk.end;
                self.chunks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(chunk);
                if self.stop.load(Relaxed) {
                    return;
                }
                if grow {
                    grow_when_due(self.table, self.threads);
                }
            }
        }
    }
}

/// Grows the table once every thread has paused, unless another thread grew it first. Not a
/// blocking `write()`: std's `RwLock` hands a writer woken by the last reader no priority over
/// a thread that reads again at once, which a thread still expanding does for the rest of the
/// level once the table no longer needs growing; a stale request starved for up to half a
/// second per growth (issue 17).
fn grow_when_due(table: &RwLock<FpTable>, threads: usize) {
    loop {
        let mut t = match table.try_write() {
            Ok(t) => t,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                // Readers pause at their next state while the table needs growing.
                if !table
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .needs_growing()
                {
                    return;
                }
                std::thread::yield_now();
                continue;
            }
        };
        if t.needs_growing() {
            t.grow(threads);
        }
        return;
    }
}

/// The graph being recorded, with the map from action fingerprints to fairness classes.
struct Recording {
    graph: Graph,
    class_ids: FxHashMap<u64, u32>,
    /// Edges whose target is numbered later: (edge index, target fingerprint).
    unresolved: Vec<(usize, u64)>,
    /// Under symmetry: keep each state's fingerprint in the graph.
    symmetric: bool,
    /// The bit of the first predicate: the number of properties.
    shift: usize,
}

impl Recording {
    /// The class of an action: one per distinct fair action.
    fn class(&mut self, fairness: Fairness, action_fp: u64) -> u32 {
        if fairness == Fairness::Unfair {
            return UNFAIR;
        }
        let classes = &mut self.graph.classes;
        *self.class_ids.entry(action_fp).or_insert_with(|| {
            classes.push(fairness);
            (classes.len() - 1) as u32
        })
    }

    fn record_state(&mut self, node: u32, fp: u64, bits: u64) {
        if self.symmetric {
            self.graph.fingerprints.push(fp);
        }
        for (j, word) in self.graph.bits.iter_mut().enumerate() {
            if node as usize / 64 >= word.len() {
                word.push(0);
            }
            if bits >> (self.shift + j) & 1 == 1 {
                word[node as usize / 64] |= 1 << (node % 64);
            }
        }
    }

    /// Adds a chunk's edges, position by position.
    fn add_edges<S>(&mut self, chunk: &Chunk<S>) {
        let mut next = 0;
        for &count in &chunk.edge_counts {
            self.graph.offsets.push(self.graph.edges.len() as u32);
            for raw in &chunk.edges[next..next + count as usize] {
                if raw.target == UNRESOLVED {
                    self.unresolved.push((self.graph.edges.len(), raw.fp));
                }
                let class = self.class(raw.fairness, raw.action_fp);
                self.graph.edges.push(Edge {
                    to: raw.target,
                    action: raw.action,
                    class,
                });
            }
            next += count as usize;
        }
        for &node in &chunk.open {
            self.graph.set_open(node);
        }
    }

    /// Points the edges to states numbered since they were added at their targets. The
    /// lookups (a cache miss each, one per edge into a new state) are shared by `threads`.
    fn resolve(&mut self, table: &FpTable, threads: usize) {
        let targets = on_threads(&self.unresolved, threads, |part| {
            part.iter()
                .map(|&(_, fp)| table.index(fp).unwrap_or(UNRESOLVED))
                .collect::<Vec<u32>>()
        });
        for ((edge, _), to) in self.unresolved.drain(..).zip(targets.into_iter().flatten()) {
            if let Some(e) = self.graph.edges.get_mut(edge).filter(|_| to != UNRESOLVED) {
                e.to = to;
            }
        }
    }
}

/// `f` applied to `items` in `threads` consecutive parts, each on a thread of its own (one
/// part on this thread): the results in order. For the serial part of a level, table look-ups
/// and stores that miss the cache one after another.
fn on_threads<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let part = items.len().div_ceil(threads.max(1)).max(1);
    if part >= items.len() {
        return vec![f(items)];
    }
    let f = &f;
    std::thread::scope(|s| {
        // A part whose thread cannot be created (the system is out of memory or threads) runs
        // on this thread instead of ending the search with a panic.
        let parts: Vec<_> = items
            .chunks(part)
            .map(|c| {
                let run = move || f(c);
                std::thread::Builder::new()
                    .spawn_scoped(s, run)
                    .map_err(|_| run)
            })
            .collect();
        parts
            .into_iter()
            .map(|p| match p {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(run) => run(),
            })
            .collect()
    })
}

/// Numbers the states `(fingerprint, index)` in the table, on `threads` threads.
fn settle_all(table: &FpTable, numbered: &mut Vec<(u64, u32)>, threads: usize) {
    on_threads(numbered, threads, |part| {
        for &(fp, node) in part {
            table.settle(fp, node);
        }
    });
    numbered.clear();
}

/// Bytes held by the visited set and the parent links.
fn visited_bytes(table: &FpTable, parent: &Vec<u32>, via: &Vec<u32>) -> usize {
    table.bytes() + (parent.capacity() + via.capacity()) * 4
}

/// ftcheck's breadth-first search; `on_state` is called with the fingerprint of each state
/// as it is numbered.
pub fn bfs<M>(
    model: &M,
    symmetry: Option<Representative<M>>,
    reduction: Option<Reduction<M>>,
    opts: &CheckOptions,
    recorder: Option<&Recorder<M>>,
    progress: &mut dyn FnMut(&Stats),
    mut on_state: Option<&mut dyn FnMut(u64)>,
) -> SearchOutcome
where
    M: Model + Sync,
    M::State: Hash + Send + Sync,
    M::Action: Hash,
{
    let start = Instant::now();
    let threads = opts.threads.max(1);
    let properties = model.properties();
    // `check` refuses more, as bad input, before any search (see `MAX_BITS`).
    assert!(
        properties.len() + recorder.map_or(0, |r| r.predicates.len()) <= MAX_BITS,
        "the BFS evaluates at most {MAX_BITS} properties and liveness predicates together"
    );
    let mut found: Vec<Option<u32>> = vec![None; properties.len()];
    // `stops`: under `--stop-on-violation`, the safety properties whose violation stops it.
    let (mut undecided, stops) = decision_masks(&properties, opts.stop_on_violation);
    // Stop early once every property is decided (a model without any explores everything;
    // a recorded graph must be complete).
    let stop_when_decided = undecided != 0 && recorder.is_none();
    let mut parent: Vec<u32> = Vec::new();
    let mut via: Vec<u32> = Vec::new();
    let table = RwLock::new(FpTable::default());
    let mut stats = Stats {
        threads,
        ..Stats::default()
    };
    let mut stopped = None;
    let mut truncated = false;
    let mut rec = recorder.map(|recorder| Recording {
        graph: Graph {
            bits: vec![Vec::new(); recorder.predicates.len()],
            ..Graph::default()
        },
        symmetric: symmetry.is_some(),
        shift: properties.len(),
        class_ids: FxHashMap::default(),
        unresolved: Vec::new(),
    });

    // The first level: the initial states, in order, each claimed by its own index.
    let mut states: Vec<Mutex<Vec<M::State>>> = Vec::new();
    let mut level_len = 0usize;
    let mut init_fps = Vec::new();
    let mut chunk0 = Chunk::new(0..0);
    {
        let level = Level {
            model,
            states: &states,
            len: 0,
            first: 0,
            at_depth_bound: false,
            symmetry,
            reduction,
            properties: &properties,
            undecided,
            recorder,
            part: None,
            table: &table,
            next: AtomicUsize::new(0),
            chunk: 1,
            threads,
            stop: AtomicBool::new(false),
            chunks: Mutex::new(Vec::new()),
        };
        let mut inserts = Inserts::default();
        for (i, s) in model.init_states().into_iter().enumerate() {
            chunk0.generated += 1;
            if !model.within_boundary(&s) {
                continue;
            }
            let fp = level.fingerprint(&s);
            init_fps.push(fp);
            let mut t = table.write().unwrap_or_else(|e| e.into_inner());
            let claim = t.claim(fp, i as u32, 0, &mut inserts);
            t.flush(&mut inserts);
            if t.needs_growing() {
                t.grow(threads);
            }
            if let Claim::Won { .. } = claim {
                chunk0.kept.push(Kept {
                    bits: level.bits(&s),
                    state: s,
                    parent: ROOT,
                    via: i as u32,
                    fp,
                });
            }
        }
    }
    let mut pending = vec![chunk0];
    // States numbered in the level, to be settled in the table at its end.
    let mut to_settle: Vec<(u64, u32)> = Vec::new();
    // States whose successors are all recorded: a prefix of the states.
    let mut expanded: usize = 0;
    let mut depth = 0usize;
    let mut last_progress = Instant::now();

    'search: loop {
        // Number the level just expanded, in the order a single thread would have.
        pending.sort_unstable_by_key(|c| c.start);
        let displaced: FxHashSet<(u32, u64)> = pending
            .iter()
            .flat_map(|c| c.displaced.iter().copied())
            .collect();
        // The next level, in chunks sized for the threads.
        let kept: usize = pending.iter().map(|c| c.kept.len()).sum();
        let chunk_len = (kept / (threads * 16)).clamp(64, 4096);
        let mut next: Vec<Mutex<Vec<M::State>>> = Vec::new();
        let mut next_len = 0usize;
        let settle = rec.is_some() || depth == 0;
        let t = table.read().unwrap_or_else(|e| e.into_inner());
        for chunk in std::mem::take(&mut pending) {
            stats.generated_states += chunk.generated;
            stats.reduced_states += chunk.reduced;
            truncated |= chunk.truncated;
            if let Some(r) = rec.as_mut() {
                r.add_edges(&chunk);
            }
            for k in chunk.kept {
                if !displaced.is_empty() && displaced.contains(&(k.parent, k.fp)) {
                    continue;
                }
                if opts.max_states.is_some_and(|max| parent.len() >= max)
                    || parent.len() >= MAX_INDEX as usize
                {
                    stopped = Some(StopReason::MaxStates(parent.len()));
                    expanded = if k.parent == ROOT {
                        0
                    } else {
                        k.parent as usize
                    };
                    break 'search;
                }
                let node = parent.len() as u32;
                if let Some(f) = on_state.as_mut() {
                    f(k.fp);
                }
                parent.push(k.parent);
                via.push(k.via);
                if settle {
                    // Edges and initial states need indices; a safety search needs none.
                    to_settle.push((k.fp, node));
                }
                let violation = k.bits & undecided & stops != 0;
                if k.bits & undecided != 0 {
                    let mut hit = k.bits & undecided;
                    while hit != 0 {
                        let i = hit.trailing_zeros();
                        hit &= hit - 1;
                        found[i as usize] = Some(node);
                    }
                    undecided &= !k.bits;
                }
                if let Some(r) = rec.as_mut() {
                    r.record_state(node, k.fp, k.bits);
                }
                stats.max_depth = depth;
                if next_len.is_multiple_of(chunk_len) {
                    next.push(Mutex::new(Vec::with_capacity(chunk_len)));
                }
                next_len += 1;
                if let Some(last) = next.last_mut() {
                    last.get_mut()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(k.state);
                }
                if violation && (undecided != 0 || rec.is_some()) {
                    stopped = Some(StopReason::StopOnViolation);
                }
                if (stop_when_decided && undecided == 0) || violation {
                    expanded = if k.parent == ROOT {
                        0
                    } else {
                        k.parent as usize
                    };
                    break 'search;
                }
            }
        }
        settle_all(&t, &mut to_settle, threads);
        drop(t);
        if depth == 0 {
            if let Some(r) = rec.as_mut() {
                let t = table.read().unwrap_or_else(|e| e.into_inner());
                for &fp in &init_fps {
                    if let Some(node) = t.index(fp) {
                        if !r.graph.initial.contains(&node) {
                            r.graph.initial.push(node);
                        }
                    }
                }
            }
        } else {
            expanded += level_len;
        }
        if let Some(r) = rec.as_mut() {
            r.resolve(&table.read().unwrap_or_else(|e| e.into_inner()), threads);
        }
        drop(std::mem::replace(&mut states, next));
        level_len = next_len;
        // The chunks were allocated on the threads and freed here: hand that memory back, so
        // that the next level's peak does not stack on this one's. This is for glibc's malloc
        // (a program embedding the library, the tests); the `ftcheck` binary runs mimalloc,
        // told to purge freed memory at once, and there this finds nothing to release.
        #[cfg(target_os = "linux")]
        // SAFETY: glibc's malloc_trim only releases free memory.
        unsafe {
            libc::malloc_trim(0);
        }
        if level_len == 0 {
            break;
        }

        // A sharded search splits the first level large enough, by fingerprint.
        let mut part = Vec::new();
        if let Some(shard) = opts.shard.filter(|_| stats.split.is_none()) {
            if level_len >= SPLIT_STATES_PER_SHARD * shard.count as usize {
                part = states
                    .iter_mut()
                    .flat_map(|c| c.get_mut().unwrap_or_else(|e| e.into_inner()).iter())
                    .map(|s| {
                        fingerprint_of::<M>(symmetry, s) % shard.count as u64
                            == shard.index as u64 - 1
                    })
                    .collect();
                stats.split = Some(Split {
                    depth,
                    prefix_states: parent.len(),
                    level_states: level_len,
                    part_states: part.iter().filter(|&&p| p).count(),
                });
            }
        }

        // Expand the next level.
        let level = Level {
            model,
            states: &states,
            len: level_len,
            first: expanded as u32,
            at_depth_bound: opts.max_depth.is_some_and(|d| depth >= d),
            symmetry,
            reduction,
            properties: &properties,
            undecided,
            recorder,
            part: (!part.is_empty()).then_some(&part[..]),
            table: &table,
            next: AtomicUsize::new(0),
            chunk: chunk_len,
            threads,
            stop: AtomicBool::new(false),
            chunks: Mutex::new(Vec::new()),
        };
        let mut tick = |table: &FpTable| {
            if crate::engine::interrupted() {
                stopped = Some(StopReason::Interrupted);
                return false;
            }
            if let Some(t) = opts.timeout {
                if start.elapsed() >= t {
                    stopped = Some(StopReason::Timeout(t.as_secs()));
                    return false;
                }
            }
            if let Some(budget) = opts.max_memory {
                // Stop while growing is still safe: the table may double, and the liveness
                // analysis needs about 26 bytes per state after.
                let structures = visited_bytes(table, &parent, &via)
                    + rec
                        .as_ref()
                        .map_or(0, |r| r.graph.bytes() + parent.len() * 26);
                let resident = resident_bytes().unwrap_or(structures as u64);
                if resident + structures as u64 >= budget {
                    stopped = Some(StopReason::MaxMemory(budget));
                    return false;
                }
            }
            if last_progress.elapsed() >= opts.progress_every {
                last_progress = Instant::now();
                stats.unique_states = parent.len();
                stats.queue = level.len - (level.next.load(Relaxed) * level.chunk).min(level.len);
                stats.elapsed_secs = start.elapsed().as_secs_f64();
                progress(&stats);
            }
            true
        };
        std::thread::scope(|s| {
            for _ in 1..threads {
                // A worker that cannot be created leaves its share to the others (the level's
                // chunks are taken from a shared queue), not a panic.
                let _ = std::thread::Builder::new().spawn_scoped(s, || level.work(&mut |_| true));
            }
            level.work(&mut tick);
        });
        if level.stop.load(Relaxed) {
            // A stopped level is dropped whole: none of its states counts as expanded.
            break;
        }
        pending = level.chunks.into_inner().unwrap_or_else(|e| e.into_inner());
        depth += 1;
    }

    if stopped.is_none() && truncated && (undecided != 0 || rec.is_some()) {
        stopped = opts.max_depth.map(StopReason::MaxDepth);
    }
    stats.unique_states = parent.len();
    stats.queue = parent.len() - expanded;
    stats.elapsed_secs = start.elapsed().as_secs_f64();
    let table = table.into_inner().unwrap_or_else(|e| e.into_inner());
    // A search stopped while numbering a level.
    settle_all(&table, &mut to_settle, threads);
    stats.memory_bytes = visited_bytes(&table, &parent, &via);
    let discoveries = found
        .into_iter()
        .map(|f| f.map(|n| Discovery::Trace(crate::engine::path_to(&parent, &via, n))))
        .collect();
    let nodes = parent.len();
    let graph = rec.map(|mut r| {
        r.resolve(&table, threads);
        let mut g = r.graph;
        // A state whose expansion was cut short, and every later one, is open.
        if g.offsets.len() > expanded {
            g.edges.truncate(g.offsets[expanded] as usize);
            g.offsets.truncate(expanded);
        }
        for v in g.offsets.len()..nodes {
            g.offsets.push(g.edges.len() as u32);
            g.set_open(v as u32);
        }
        g.offsets.push(g.edges.len() as u32);
        g.open.resize(nodes.div_ceil(64), 0);
        for bits in &mut g.bits {
            bits.resize(nodes.div_ceil(64), 0);
        }
        g.nodes = nodes;
        g.parent = parent;
        g.via = via;
        stats.memory_bytes += g.bytes() + r.class_ids.capacity() * 13;
        stats.graph_edges = g.edges.len();
        g
    });
    SearchOutcome {
        stats,
        stopped,
        discoveries,
        graph,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17, fault 11: a thread whose request to grow the table is stale (another thread
    /// grew it) must not wait for the threads still reading it, which may read until the
    /// level ends.
    #[test]
    fn fault11_a_stale_request_to_grow_does_not_wait_for_readers() {
        let table = RwLock::new(FpTable::default());
        let returned = AtomicBool::new(false);
        std::thread::scope(|s| {
            let guard = table.read().unwrap();
            s.spawn(|| {
                grow_when_due(&table, 2);
                returned.store(true, Relaxed);
            });
            // The reader keeps its lock for up to 10 s, as an expanding thread would.
            let until = Instant::now() + std::time::Duration::from_secs(10);
            while !returned.load(Relaxed) && Instant::now() < until {
                std::thread::yield_now();
            }
            assert!(
                returned.load(Relaxed),
                "the stale request waited for the reader"
            );
            drop(guard);
        });
    }
}
