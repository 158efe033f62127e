//! Liveness under fairness, on the state graph the BFS stored ([`Graph`]).
//!
//! A property `P leads-to Q` (`eventually Q` is `initial leads-to Q`) is violated by a fair run
//! that reaches a state where `P` holds and `Q` does not, and never reaches `Q` after it. Runs
//! are those of TLA+: a run may stay in a state forever (stutter) unless fairness forces a
//! step, so no fault is ever forced, not even when it is the only possible step. In a finite
//! graph a violating run ends by *stopping* in a `¬Q` state where no fairly scheduled action
//! is enabled (a deadlock is one), or loops forever in a strongly connected set of `¬Q` states
//! whose every fairness constraint is met:
//! - weak fairness of a class (an action): if it is enabled in every state of the loop, the loop
//!   takes it;
//! - strong fairness: if it is enabled in some state of the loop, the loop takes it.
//!
//! The search ([`find_violation`]):
//! 1. a breadth-first search over `¬Q` states from every state where `P ∧ ¬Q` holds (in depth
//!    order), so the entry to a violation is as close to an initial state as possible; a
//!    state among them with no fair action enabled is a violation by itself;
//! 2. Tarjan's algorithm splits those states into strongly connected components; for each, the
//!    Streett refinement of Emerson–Lei / Latvala–Heljanko: a weakly fair class enabled
//!    everywhere and never taken inside condemns the component; a strongly fair class enabled
//!    somewhere and never taken inside removes the states where it is enabled, and the rest is
//!    split again. What survives contains a fair loop (one that visits every state and takes every
//!    edge of it is fair). Each state is removed at most once per class, so the cost is linear
//!    in the graph for each class that forces a removal;
//! 3. the counterexample is a lasso: the shortest path to the `P` state, a shortest `¬Q` path to
//!    the component, and a loop from there that takes one edge of each class the component
//!    takes and passes a state where each class it does not take is disabled.
//!
//! The lasso is given as action indices; the runner re-executes it and checks its loop (or
//! deadlock) against the model before reporting it (`runner::check_lasso`).

pub(crate) mod symmetric;

use crate::engine::{Edge, Graph, IndexPath, UNFAIR};
use crate::protocol::Fairness;
use fxhash::FxHashSet;
use std::collections::VecDeque;

/// A counterexample to a liveness property: a path, and where its loop starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lasso {
    /// The steps, from an initial state; the loop's steps come last.
    pub path: IndexPath,
    /// The state (0: the initial state) at which the loop starts: the path's last state equals
    /// it. `None`: the run stops in the path's last state, where no fair action is enabled.
    pub loop_start: Option<usize>,
}

const UNSEEN: u32 = u32::MAX;
const SOURCE: u32 = u32::MAX - 1;

/// The `¬Q` states reachable through `¬Q` states from a state where `P ∧ ¬Q` holds, nearest
/// first, with the breadth-first tree that reached them.
struct Region {
    pred: Vec<u32>,
    pred_edge: Vec<u32>,
    order: Vec<u32>,
    pos: Vec<u32>,
}

impl Region {
    fn new(g: &Graph, start: &dyn Fn(u32) -> bool, goal: &dyn Fn(u32) -> bool) -> Option<Self> {
        let n = g.nodes;
        let mut pred = vec![UNSEEN; n];
        let mut pred_edge = vec![0u32; n];
        let mut order: Vec<u32> = Vec::new();
        for v in 0..n as u32 {
            if start(v) && !goal(v) {
                pred[v as usize] = SOURCE;
                order.push(v);
            }
        }
        let mut i = 0;
        while i < order.len() {
            let u = order[i];
            i += 1;
            for (k, e) in g.out(u).iter().enumerate() {
                if pred[e.to as usize] == UNSEEN && !goal(e.to) {
                    pred[e.to as usize] = u;
                    pred_edge[e.to as usize] = k as u32;
                    order.push(e.to);
                }
            }
        }
        if order.is_empty() {
            return None;
        }
        let mut pos = vec![UNSEEN; n];
        for (i, &v) in order.iter().enumerate() {
            pos[v as usize] = i as u32;
        }
        Some(Region {
            pred,
            pred_edge,
            order,
            pos,
        })
    }

    fn pos(&self, v: u32) -> u32 {
        self.pos[v as usize]
    }

    /// The first state (nearest a `P` state) where a run may stop: no fair action is enabled.
    fn first_stop(&self, g: &Graph) -> Option<u32> {
        self.order
            .iter()
            .copied()
            .find(|&v| !g.is_open(v) && g.out(v).iter().all(|e| e.class == UNFAIR))
    }

    /// The strongly connected components of the region that have a cycle.
    fn components(&self, g: &Graph, scc: &mut Tarjan) -> Vec<Vec<u32>> {
        let mut components = Vec::new();
        let pred = &self.pred;
        scc.run(g, &self.order, &|v| pred[v as usize] != UNSEEN, &mut |c| {
            components.push(c)
        });
        components
    }

    /// The state of `set` nearest a `P` state.
    fn nearest(&self, set: &[u32]) -> u32 {
        *set.iter()
            .min_by_key(|&&v| self.pos(v))
            .expect("a component is not empty")
    }

    /// The `P` state from which `v` was reached, and the edges from it to `v`.
    fn route(&self, g: &Graph, mut v: u32) -> (u32, Vec<Edge>) {
        let mut edges = Vec::new();
        while self.pred[v as usize] != SOURCE {
            let u = self.pred[v as usize];
            edges.push(g.out(u)[self.pred_edge[v as usize] as usize]);
            v = u;
        }
        edges.reverse();
        (v, edges)
    }
}

/// Searches for a fair run that passes a state where `start` holds and never reaches a state
/// where `goal` holds from there on. `None` means there is none among the expanded states.
pub fn find_violation(
    g: &Graph,
    start: &dyn Fn(u32) -> bool,
    goal: &dyn Fn(u32) -> bool,
) -> Option<Lasso> {
    // 1. The ¬Q states reachable through ¬Q states from a P ∧ ¬Q state, nearest first.
    let region = Region::new(g, start, goal)?;

    // 2. A state where the run may stop, or a fair component; the one nearest to a P state
    // wins.
    let mut best: Option<(u32, Option<Vec<u32>>)> = region.first_stop(g).map(|v| (v, None));
    let mut scc = Tarjan::new(g.nodes);
    let mut streett = Streett::new(g.classes.len(), g.nodes);
    for c in region.components(g, &mut scc) {
        if best
            .as_ref()
            .is_some_and(|(v, _)| region.pos(*v) <= region.pos(region.nearest(&c)))
        {
            continue;
        }
        if let Some(fair) = streett.fair_subset(g, c, &mut scc) {
            best = Some((region.nearest(&fair), Some(fair)));
        }
    }
    let (entry, fair) = best?;

    // 3. The lasso: to the P state, through ¬Q states to the entry, then the loop.
    let (source, tail) = region.route(g, entry);
    let mut path = g.path_to(source);
    path.actions.extend(tail.iter().map(|e| e.action as usize));
    let loop_start = fair.map(|set| {
        let at = path.actions.len();
        path.actions.extend(
            fair_loop(g, &set, entry, &mut streett)
                .into_iter()
                .map(|e| e.action as usize),
        );
        at
    });
    Some(Lasso { path, loop_start })
}

/// Where a violation may be, in a graph reduced by symmetry: a state where a run may stop, or a
/// strongly connected set of `¬Q` states, with the way to it from a `P` state. Its edges'
/// actions are those of the states the graph keeps, so whether a cycle through the set is fair
/// can only be told in the states of their orbits (`symmetric::find_violation`).
pub struct Candidate {
    /// The `P` state the route starts from.
    pub source: u32,
    /// The edges from `source` to the set's state nearest to it (or to the stopping state).
    pub route: Vec<Edge>,
    /// The strongly connected set; `None`: the route ends in a state where a run may stop.
    pub component: Option<Vec<u32>>,
}

/// Every place a violation may be, nearest a `P` state first: the first state where a run may
/// stop, and every strongly connected set of `¬Q` states with a cycle.
pub fn candidates(
    g: &Graph,
    start: &dyn Fn(u32) -> bool,
    goal: &dyn Fn(u32) -> bool,
) -> Vec<Candidate> {
    let Some(region) = Region::new(g, start, goal) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, Option<Vec<u32>>)> = region
        .first_stop(g)
        .map(|v| (v, None))
        .into_iter()
        .collect();
    let mut scc = Tarjan::new(g.nodes);
    for c in region.components(g, &mut scc) {
        found.push((region.nearest(&c), Some(c)));
    }
    found.sort_by_key(|(entry, _)| region.pos(*entry));
    found
        .into_iter()
        .map(|(entry, component)| {
            let (source, route) = region.route(g, entry);
            Candidate {
                source,
                route,
                component,
            }
        })
        .collect()
}

/// Iterative Tarjan over a subset of the graph, with scratch arrays reused between runs.
struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
}

impl Tarjan {
    fn new(n: usize) -> Self {
        Tarjan {
            index: vec![UNSEEN; n],
            low: vec![0; n],
            on_stack: vec![false; n],
        }
    }

    /// Calls `out` with every strongly connected component of the subgraph induced by
    /// `member` that `nodes` (all members) contain and that has a cycle.
    fn run(
        &mut self,
        g: &Graph,
        nodes: &[u32],
        member: &dyn Fn(u32) -> bool,
        out: &mut dyn FnMut(Vec<u32>),
    ) {
        let mut counter = 0u32;
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, usize)> = Vec::new();
        for &root in nodes {
            if self.index[root as usize] != UNSEEN {
                continue;
            }
            self.open(root, &mut counter, &mut stack);
            calls.push((root, 0));
            while let Some(&mut (v, ref mut k)) = calls.last_mut() {
                let edges = g.out(v);
                if *k < edges.len() {
                    let w = edges[*k].to;
                    *k += 1;
                    if !member(w) {
                        continue;
                    }
                    if self.index[w as usize] == UNSEEN {
                        self.open(w, &mut counter, &mut stack);
                        calls.push((w, 0));
                    } else if self.on_stack[w as usize] {
                        self.low[v as usize] = self.low[v as usize].min(self.index[w as usize]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    self.low[u as usize] = self.low[u as usize].min(self.low[v as usize]);
                }
                if self.low[v as usize] == self.index[v as usize] {
                    let mut c = Vec::new();
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        self.on_stack[w as usize] = false;
                        c.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let cyclic = c.len() > 1 || g.out(v).iter().any(|e| e.to == v);
                    if cyclic {
                        out(c);
                    }
                }
            }
        }
        for &v in nodes {
            self.index[v as usize] = UNSEEN;
        }
    }

    fn open(&mut self, v: u32, counter: &mut u32, stack: &mut Vec<u32>) {
        self.index[v as usize] = *counter;
        self.low[v as usize] = *counter;
        *counter += 1;
        stack.push(v);
        self.on_stack[v as usize] = true;
    }
}

/// Per-class scratch for the fairness analysis of one set of states.
struct Streett {
    /// States of the set where the class is enabled.
    enabled: Vec<u32>,
    /// Whether an edge inside the set takes the class.
    taken: Vec<bool>,
    /// The last state that counted the class as enabled (+1), to count each state once.
    last: Vec<u32>,
    /// The classes touched, to reset.
    touched: Vec<u32>,
    /// Set membership by stamp.
    mark: Vec<u32>,
    stamp: u32,
}

impl Streett {
    fn new(classes: usize, nodes: usize) -> Self {
        Streett {
            enabled: vec![0; classes],
            taken: vec![false; classes],
            last: vec![0; classes],
            touched: Vec::new(),
            mark: vec![0; nodes],
            stamp: 0,
        }
    }

    /// Marks `set` as the current set and counts, per class, where it is enabled and whether it
    /// is taken inside.
    fn survey(&mut self, g: &Graph, set: &[u32]) {
        for &c in &self.touched {
            self.enabled[c as usize] = 0;
            self.taken[c as usize] = false;
            self.last[c as usize] = 0;
        }
        self.touched.clear();
        self.stamp += 1;
        for &v in set {
            self.mark[v as usize] = self.stamp;
        }
        for &v in set {
            for e in g.out(v) {
                if e.class == UNFAIR {
                    continue;
                }
                let c = e.class as usize;
                if self.last[c] == 0 {
                    self.touched.push(e.class);
                }
                if self.last[c] != v + 1 {
                    self.last[c] = v + 1;
                    self.enabled[c] += 1;
                }
                if self.mark[e.to as usize] == self.stamp {
                    self.taken[c] = true;
                }
            }
        }
    }

    /// A subset of the strongly connected `set` that is strongly connected, has a cycle, and
    /// meets every fairness constraint, if there is one.
    fn fair_subset(&mut self, g: &Graph, set: Vec<u32>, scc: &mut Tarjan) -> Option<Vec<u32>> {
        let mut work = vec![set];
        while let Some(set) = work.pop() {
            self.survey(g, &set);
            let size = set.len() as u32;
            let starved = self.touched.iter().any(|&c| {
                let c = c as usize;
                g.classes[c] == Fairness::Weak && self.enabled[c] == size && !self.taken[c]
            });
            if starved {
                continue;
            }
            let unjust: FxHashSet<u32> = self
                .touched
                .iter()
                .copied()
                .filter(|&c| g.classes[c as usize] == Fairness::Strong && !self.taken[c as usize])
                .collect();
            if unjust.is_empty() {
                return Some(set);
            }
            let rest: Vec<u32> = set
                .iter()
                .copied()
                .filter(|&v| !g.out(v).iter().any(|e| unjust.contains(&e.class)))
                .collect();
            self.stamp += 1;
            let stamp = self.stamp;
            for &v in &rest {
                self.mark[v as usize] = stamp;
            }
            let mark = &self.mark;
            scc.run(g, &rest, &|v| mark[v as usize] == stamp, &mut |c| {
                work.push(c)
            });
        }
        None
    }
}

/// A loop through `entry` inside the fair `set` that meets its fairness constraints: it takes
/// an edge of every class taken inside the set, and passes a state where each other enabled
/// class is disabled. Greedy: each leg goes to the nearest state or edge that meets an
/// outstanding obligation.
fn fair_loop(g: &Graph, set: &[u32], entry: u32, st: &mut Streett) -> Vec<Edge> {
    st.survey(g, set);
    let stamp = st.stamp;
    let inside = |v: u32| st.mark[v as usize] == stamp;
    let mut take: FxHashSet<u32> = FxHashSet::default();
    let mut avoid: FxHashSet<u32> = FxHashSet::default();
    for &c in &st.touched {
        if st.taken[c as usize] {
            take.insert(c);
        } else {
            avoid.insert(c);
        }
    }
    let enabled_at = |v: u32| -> FxHashSet<u32> { g.out(v).iter().map(|e| e.class).collect() };
    // Drops the "pass a state where c is disabled" obligations that `v` meets.
    let visit = |v: u32, avoid: &mut FxHashSet<u32>| {
        let here = enabled_at(v);
        avoid.retain(|c| here.contains(c));
    };
    let mut path: Vec<Edge> = Vec::new();
    let mut cur = entry;
    visit(cur, &mut avoid);
    loop {
        let done = take.is_empty() && avoid.is_empty();
        if done && cur == entry && !path.is_empty() {
            return path;
        }
        // Breadth-first from `cur` inside the set to the nearest state that meets an
        // obligation (or, when none is left, back to the entry, by at least one edge).
        let mut back: fxhash::FxHashMap<u32, (u32, Edge)> = Default::default();
        let mut queue = VecDeque::from([cur]);
        let mut target: Option<(u32, Option<Edge>)> = None;
        'bfs: while let Some(u) = queue.pop_front() {
            if !done && u != cur {
                let here = enabled_at(u);
                if avoid.iter().any(|c| !here.contains(c)) {
                    target = Some((u, None));
                    break;
                }
            }
            for e in g.out(u) {
                if !inside(e.to) {
                    continue;
                }
                if !done && take.contains(&e.class) {
                    target = Some((u, Some(*e)));
                    break 'bfs;
                }
                if done && e.to == entry {
                    target = Some((u, Some(*e)));
                    break 'bfs;
                }
                if e.to != cur && !back.contains_key(&e.to) {
                    back.insert(e.to, (u, *e));
                    queue.push_back(e.to);
                }
            }
        }
        // A fair strongly connected set always has one; if not (a defect), the loop is left
        // open, and the runner's re-check refuses the lasso rather than report it.
        let Some((u, last)) = target else {
            return path;
        };
        let mut leg = Vec::new();
        let mut v = u;
        while v != cur {
            let (p, e) = back[&v];
            leg.push(e);
            v = p;
        }
        leg.reverse();
        leg.extend(last);
        for e in &leg {
            take.remove(&e.class);
            visit(e.to, &mut avoid);
        }
        if let Some(e) = leg.last() {
            cur = e.to;
        }
        path.extend(leg);
        if done {
            return path;
        }
    }
}
