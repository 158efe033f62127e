//! Liveness under symmetry reduction: candidates found in the reduced graph, decided in the
//! states their orbits stand for.
//!
//! Under symmetry the BFS keeps one state per orbit (the first met, a real state) and its edges
//! are the actions *of that state*. Which states are reachable, and whether `P` or `Q` holds,
//! is the same for every state of an orbit, so the reduced graph tells exactly which orbits a
//! violating run can stay in. Fairness is not: the run "P1 passes the token to P2, P2 passes it
//! back" is one state and a self-loop labelled "P1 passes" in the reduced graph, and an action
//! "P2 leaves" offered wherever P1 holds the token looks enabled forever and never taken, while
//! in the real run no process's "leave" stays enabled. A fairness verdict on the reduced graph's
//! labels can thus call a fair run unfair (and miss a violation) or the other way round.
//!
//! So, for each liveness property ([`Lifter::find_violation`]):
//! 1. [`liveness::candidates`] lists, nearest a `P` state first, the first state where a run
//!    may stop and every strongly connected set of `¬Q` states of the reduced graph, each with
//!    its route from a `P` state;
//! 2. the route is made concrete: from the `P` state (reached by its own recorded path), each
//!    step takes the first action whose successor is in the next state's orbit;
//! 3. a stopping state is a violation as it is; for a strongly connected set, the states of its
//!    orbits reachable from the route's end through those orbits are explored in full (their
//!    own actions, their own fairness classes), and the exact analysis of [`liveness`] runs on
//!    that graph. The first candidate with a fair loop gives the lasso.
//!
//! Why this misses nothing: a fair violating run that loops in states `L` stays in orbits of
//! one strongly connected set `S` of the reduced graph. From any state of an orbit in `S` the
//! exploration reaches, through `S`'s orbits, some `π(x)` with `x` in `L` (each reduced edge is
//! a step of every state of its orbit, permuted); `π(L)` is then a loop there, and fair, since a
//! symmetry of the model maps steps to steps, `Q` to `Q` and each action to one of the same
//! fairness. This is what a model's representative function must respect (as it must for
//! safety): the permutations it applies are symmetries of the initial states, the steps, the
//! properties and the fairness. The lasso is re-executed and re-checked like any other.
//!
//! The cost is the concrete size of the `¬Q` sets that can hold a loop; the rest of the state
//! space is searched and stored reduced.

use crate::engine::{fingerprint, Edge, Graph, IndexPath, Representative, UNFAIR};
use crate::liveness::{self, Lasso};
use crate::protocol::Fairness;
use fxhash::{FxHashMap, FxHashSet};
use stateright::Model;
use std::collections::VecDeque;
use std::hash::Hash;

/// A model with its representative function and fairness: what a lift needs.
pub struct Lifter<'a, M: Model> {
    /// The model, whose real states the runs are rebuilt in.
    pub model: &'a M,
    /// The representative function the graph was reduced by.
    pub representative: Representative<M>,
    /// The fairness of the model's actions.
    pub fairness: fn(&M, &M::Action) -> Fairness,
}

impl<M: Model> Lifter<'_, M>
where
    M::State: Hash + Clone,
    M::Action: Hash + Clone,
{
    /// Searches `g` (a graph reduced by symmetry, with its states' fingerprints) for a fair run
    /// that passes a state where `start` holds and never reaches one where `goal` holds from
    /// there on. `Err`: a route did not lift, so the representative function does not respect
    /// the model's steps.
    pub fn find_violation(
        &self,
        g: &Graph,
        start: &dyn Fn(u32) -> bool,
        goal: &dyn Fn(u32) -> bool,
    ) -> Result<Option<Lasso>, String> {
        for c in liveness::candidates(g, start, goal) {
            let mut path = g.path_to(c.source);
            let mut state = self.replay(&path)?;
            for e in &c.route {
                let (index, next) = self.step_into(&state, g.fingerprints[e.to as usize])?;
                path.actions.push(index);
                state = next;
            }
            let Some(component) = c.component else {
                return Ok(Some(Lasso {
                    path,
                    loop_start: None,
                }));
            };
            let orbits: FxHashSet<u64> = component
                .iter()
                .map(|&v| g.fingerprints[v as usize])
                .collect();
            let lifted = self.lift(state, &orbits);
            let outside = (lifted.nodes - 1) as u32;
            if let Some(lasso) = liveness::find_violation(&lifted, &|v| v == 0, &|v| v == outside) {
                let at = path.actions.len();
                path.actions.extend(lasso.path.actions);
                return Ok(Some(Lasso {
                    path,
                    loop_start: lasso.loop_start.map(|k| k + at),
                }));
            }
        }
        Ok(None)
    }

    /// The state a recorded path leads to.
    fn replay(&self, path: &IndexPath) -> Result<M::State, String> {
        let (init, steps) = crate::engine::rebuild(self.model, path)
            .map_err(|n| format!("step {n} of a recorded path does not apply"))?;
        Ok(steps.into_iter().last().map_or(init, |(_, s)| s))
    }

    /// The first action of `state` whose successor's representative has fingerprint `fp`.
    fn step_into(&self, state: &M::State, fp: u64) -> Result<(usize, M::State), String> {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        actions
            .into_iter()
            .enumerate()
            .find_map(|(i, a)| {
                let next = self.model.next_state(state, a)?;
                (self.model.within_boundary(&next)
                    && fingerprint(&(self.representative)(&next)) == fp)
                    .then_some((i, next))
            })
            .ok_or_else(|| {
                "a step of the reduced graph has no counterpart from a state of its orbit: \
                 the representative function is not a symmetry of the model"
                    .to_string()
            })
    }

    /// The graph of the states reachable from `root` through states whose orbits are in
    /// `orbits`, each with all its edges; edges that leave those orbits go to one last state,
    /// open (nothing is known of where it leads). `root` is state 0.
    fn lift(&self, root: M::State, orbits: &FxHashSet<u64>) -> Graph {
        const OUT: u32 = u32::MAX;
        let mut g = Graph::default();
        let mut index: FxHashMap<u64, u32> = FxHashMap::default();
        let mut class_ids: FxHashMap<u64, u32> = FxHashMap::default();
        index.insert(fingerprint(&root), 0);
        g.parent.push(crate::engine::bfs::ROOT);
        g.via.push(0);
        g.initial.push(0);
        let mut queue = VecDeque::from([root]);
        let mut actions = Vec::new();
        while let Some(state) = queue.pop_front() {
            g.offsets.push(g.edges.len() as u32);
            let from = g.offsets.len() as u32 - 1;
            self.model.actions(&state, &mut actions);
            for (i, a) in actions.drain(..).enumerate() {
                let class = match (self.fairness)(self.model, &a) {
                    Fairness::Unfair => UNFAIR,
                    f => *class_ids.entry(fingerprint(&a)).or_insert_with(|| {
                        g.classes.push(f);
                        g.classes.len() as u32 - 1
                    }),
                };
                let Some(next) = self.model.next_state(&state, a) else {
                    continue;
                };
                if !self.model.within_boundary(&next) {
                    continue;
                }
                let to = if orbits.contains(&fingerprint(&(self.representative)(&next))) {
                    let fp = fingerprint(&next);
                    match index.get(&fp) {
                        Some(&to) => to,
                        None => {
                            let to = g.parent.len() as u32;
                            index.insert(fp, to);
                            g.parent.push(from);
                            g.via.push(i as u32);
                            queue.push_back(next);
                            to
                        }
                    }
                } else {
                    OUT
                };
                g.edges.push(Edge {
                    to,
                    action: i as u32,
                    class,
                });
            }
        }
        let outside = g.parent.len() as u32;
        for e in &mut g.edges {
            if e.to == OUT {
                e.to = outside;
            }
        }
        g.parent.push(crate::engine::bfs::ROOT);
        g.via.push(0);
        g.offsets.push(g.edges.len() as u32);
        g.offsets.push(g.edges.len() as u32);
        g.nodes = outside as usize + 1;
        g.open = vec![0; g.nodes.div_ceil(64)];
        g.set_open(outside);
        g
    }
}
