//! A model bound to its describer and symmetry, behind an object-safe interface: the rest of
//! the toolkit (CLI, suite, reports, traces) never sees a model's types.

use crate::describe::{Change, Describe, Event};
use crate::engine::{
    self, CheckOptions, Discovery, Engine, IndexPath, Recorder, Stats, StopReason,
};
use crate::liveness::{self, symmetric};
use crate::protocol::{Fairness, LeadsTo};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stateright::{Expectation, Model};
use std::hash::Hash;

/// The kind of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyKind {
    /// `Always`: an invariant.
    Safety,
    /// `Sometimes`: an outcome that must be reachable (the model is not vacuous).
    Reachability,
    /// `Eventually` / leads-to, under fairness.
    Liveness,
}

impl PropertyKind {
    fn of(e: &Expectation) -> Self {
        match e {
            Expectation::Always => PropertyKind::Safety,
            Expectation::Sometimes => PropertyKind::Reachability,
            Expectation::Eventually => PropertyKind::Liveness,
        }
    }
}

impl std::fmt::Display for PropertyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PropertyKind::Safety => "safety",
            PropertyKind::Reachability => "reachability",
            PropertyKind::Liveness => "liveness",
        })
    }
}

/// A property's name and kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropertyInfo {
    /// Name, as in the literature.
    pub name: String,
    /// Kind.
    pub kind: PropertyKind,
}

/// The verdict on one property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Safety: the search was exhaustive and found no violation.
    Holds,
    /// Safety: a state violates it (with a trace).
    Violated,
    /// Reachability: a state satisfies it (with a trace).
    Reached,
    /// Reachability: the search was exhaustive and no state satisfies it.
    Unreached,
    /// The search stopped early; nothing is known.
    Incomplete {
        /// What stopped it.
        reason: String,
    },
    /// Liveness: a fair run violates it in the bounded model only, as a model bound blocks
    /// the run (so nothing is known of the unbounded protocol); `incomplete (bound: NAME)`.
    /// The search was exhaustive.
    Bounded {
        /// The bound that blocks the run.
        bound: String,
    },
    /// Not checked by this engine.
    NotChecked {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The verdict without its reason.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Holds => Outcome::Holds,
            Verdict::Violated => Outcome::Violated,
            Verdict::Reached => Outcome::Reached,
            Verdict::Unreached => Outcome::Unreached,
            Verdict::Incomplete { .. } | Verdict::Bounded { .. } => Outcome::Incomplete,
            Verdict::NotChecked { .. } => Outcome::NotChecked,
        }
    }

    /// The verdict's name as written in manifests: `holds`, `violated`, `reached`,
    /// `unreached`, `incomplete`, `not-checked`.
    pub fn name(&self) -> &'static str {
        self.outcome().name()
    }
}

/// A verdict without its reason, as reports, trace files and suite manifests write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The search was exhaustive and found no violation.
    Holds,
    /// A state (or a fair run) violates it.
    Violated,
    /// A state satisfies a reachability property.
    Reached,
    /// The search was exhaustive and no state satisfies a reachability property.
    Unreached,
    /// The search stopped early, or a liveness run is blocked by a bound.
    Incomplete,
    /// This engine or run does not check it.
    NotChecked,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 6] = [
        Outcome::Holds,
        Outcome::Violated,
        Outcome::Reached,
        Outcome::Unreached,
        Outcome::Incomplete,
        Outcome::NotChecked,
    ];

    /// The outcome named `name` (`holds`, ..., `not-checked`), if any.
    pub fn named(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    /// `holds`, `violated`, `reached`, `unreached`, `incomplete` or `not-checked`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Violated => "violated",
            Outcome::Reached => "reached",
            Outcome::Unreached => "unreached",
            Outcome::Incomplete => "incomplete",
            Outcome::NotChecked => "not-checked",
        }
    }

    /// Whether a property of `kind` can have this verdict: `reached` and `unreached` are
    /// reachability's, `holds` and `violated` safety's and liveness's, `not-checked`
    /// liveness's alone (every run checks safety and reachability).
    pub fn fits(self, kind: PropertyKind) -> bool {
        match self {
            Outcome::Reached | Outcome::Unreached => kind == PropertyKind::Reachability,
            Outcome::Holds | Outcome::Violated => kind != PropertyKind::Reachability,
            Outcome::NotChecked => kind == PropertyKind::Liveness,
            Outcome::Incomplete => true,
        }
    }

    /// Whether it decides the property with a trace (violated or reached).
    pub fn has_trace(self) -> bool {
        matches!(self, Outcome::Violated | Outcome::Reached)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Incomplete { reason } => write!(f, "incomplete ({reason})"),
            Verdict::Bounded { bound } => write!(f, "incomplete (bound: {bound})"),
            Verdict::NotChecked { reason } => write!(f, "not checked ({reason})"),
            v => f.write_str(v.name()),
        }
    }
}

/// One step of a trace, re-executed: enough to show it and to replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Step number, from 1.
    pub n: usize,
    /// Index of the action in the model's `actions()` at the previous state.
    pub action_index: usize,
    /// The action, as the model prints it (`Debug`); replay checks it.
    pub action: String,
    /// What happened.
    pub event: Event,
    /// The lanes whose local state changed.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// The full resulting state.
    pub state: Value,
}

/// A trace: the initial state and the steps from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The model's lanes (actors).
    pub lanes: Vec<String>,
    /// Index into the model's initial states.
    pub init_index: usize,
    /// The initial state.
    pub init_state: Value,
    /// The steps.
    pub steps: Vec<Step>,
    /// For a liveness counterexample that stops or loops where a bound of the model alone
    /// disables a fair action: the bound's name. The run is one of the bounded model only, and
    /// the verdict is `incomplete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// For a liveness counterexample: the state (0: the initial state) where the loop starts;
    /// the last step returns to it, and the run repeats the loop forever. Absent for a liveness
    /// counterexample that stops in its last state, where no fairly scheduled action is enabled
    /// (a deadlock, or only faults possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_start: Option<usize>,
}

/// The result on one property.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    /// Name and kind.
    #[serde(flatten)]
    pub property: PropertyInfo,
    /// Verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The shortest trace found (BFS), for `violated` and `reached`.
    #[serde(skip)]
    pub trace: Option<Trace>,
}

/// The outcome of a check.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// Counters.
    pub stats: Stats,
    /// What stopped the search early, if anything.
    pub stopped: Option<StopReason>,
    /// One result per property, in the model's order.
    pub results: Vec<PropertyResult>,
    /// Why a state of a trace found cannot be written as JSON, if one cannot: the model's
    /// types do not serialise (its traces cannot be recorded or replayed).
    #[serde(skip)]
    pub unwritable: Option<String>,
}

/// How a verdict begins whose trace has a state that cannot be written as JSON.
const UNWRITABLE: &str = "a state cannot be written as JSON: ";

/// Why a lasso the liveness search found is not reported as a violation.
#[derive(Clone, Debug)]
enum Unconfirmed {
    /// A state of its trace cannot be written as JSON (why).
    Unwritable(String),
    /// It did not re-execute or re-check as a violation (why).
    Rejected(String),
}

/// Why a replay failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {reason}")]
pub struct Divergence {
    /// The first step that does not apply (0: the initial state).
    pub step: usize,
    /// How it diverges.
    pub reason: String,
}

/// A model ready to check, whatever its type.
pub trait Checkable: Send + Sync {
    /// Its properties, in order.
    fn properties(&self) -> Vec<PropertyInfo>;
    /// Whether it has a symmetry reduction.
    fn has_symmetry(&self) -> bool;
    /// Whether it declares a partial-order reduction.
    fn has_reduction(&self) -> bool;
    /// The predicates a liveness check records per state: each liveness property's
    /// condition, and its trigger if it is a leads-to.
    fn liveness_predicates(&self) -> usize;
    /// Runs a check.
    fn check(&self, opts: &CheckOptions, progress: &mut dyn FnMut(&Stats)) -> Run;
    /// The fingerprints of the states a BFS with `opts` finds, in the order it numbers them
    /// (to compare searches: sharded against whole, say).
    fn fingerprints(&self, opts: &CheckOptions) -> Vec<u64>;
    /// Re-executes a trace and confirms its verdict on `property` at the last state.
    fn replay(&self, trace: &Trace, property: &str) -> Result<Verdict, Divergence>;
    /// A trace of the same verdict on the safety or reachability `property`, with steps
    /// removed while the property stays decided (as DSLabs minimises): chunks of steps, then
    /// single steps, until no single step can go; it is cut at the first state that decides
    /// the property. Each candidate re-executes from the same initial state, every step by the
    /// enabled action of the same text. Never longer than `trace`; `None` for a liveness
    /// property or a trace that does not re-execute to a deciding state.
    fn minimize(&self, trace: &Trace, property: &str) -> Option<Trace>;
    /// Serves stateright's Explorer for the model at `address` (its on-demand checker behind
    /// a web page of states and actions); never returns.
    fn explore(&self, address: std::net::SocketAddr) -> !;
}

/// Whether two states recorded as JSON are the same state: equal up to the order of array
/// elements, at every depth. A state that holds a hash set (stateright's `HashableHashSet`,
/// its network) serialises in the order of the process's hash seed, so the same state is
/// written in different orders by different processes; replay re-executes the model, so the
/// state it compares is the model's, and the order of a sequence is still checked by the
/// actions that follow.
///
/// ```
/// use serde_json::json;
/// use ftcheck::runner::same_state;
/// assert!(same_state(&json!({"net": [1, {"a": [2, 3]}]}), &json!({"net": [{"a": [3, 2]}, 1]})));
/// assert!(!same_state(&json!({"net": [1, 1, 2]}), &json!({"net": [1, 2, 2]})));
/// ```
pub fn same_state(a: &Value, b: &Value) -> bool {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut items: Vec<(String, Value)> = items
                    .iter()
                    .map(|i| {
                        let c = canonical(i);
                        (c.to_string(), c)
                    })
                    .collect();
                items.sort_by(|x, y| x.0.cmp(&y.0));
                Value::Array(items.into_iter().map(|(_, c)| c).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    a == b || canonical(a) == canonical(b)
}

/// The bound (parameter name) that alone disables a fair action at a state, if any.
pub type BoundBlocked<M> = fn(&M, &<M as Model>::State) -> Option<&'static str>;

/// A model, its describer and its symmetry.
pub struct Bound<M: Model, D> {
    /// The model.
    pub model: M,
    /// Its describer.
    pub describe: D,
    /// Its representative function, if it has a symmetry.
    pub symmetry: Option<engine::Representative<M>>,
    /// Its partial-order reduction, if it declares one (`Protocol::reduction`).
    pub reduction: Option<engine::Reduction<M>>,
    /// The fairness of its actions, for liveness.
    pub fairness: fn(&M, &M::Action) -> Fairness,
    /// Its `Eventually` properties that are `P leads-to Q`.
    pub leads_to: Vec<LeadsTo<M>>,
    /// The bound (parameter name) that alone disables a fair action at a state, if any
    /// (`Protocol::bound_blocked`); `None`: the model declares no bounds.
    pub bounds: Option<BoundBlocked<M>>,
}

impl<M, D> Bound<M, D>
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + std::fmt::Debug + Hash,
    D: Describe<M>,
{
    /// The `P` of a liveness property `P leads-to Q`; `None` for `eventually Q`.
    fn trigger(&self, property: &str) -> Option<fn(&M, &M::State) -> bool> {
        self.leads_to
            .iter()
            .find(|l| l.property == property)
            .map(|l| l.trigger)
    }

    /// The trace of a lasso, if it re-executes and re-checks as a violation of `p`.
    fn confirm_lasso(
        &self,
        p: &stateright::Property<M>,
        lasso: &liveness::Lasso,
    ) -> Result<Trace, Unconfirmed> {
        let (init, steps) = engine::rebuild(&self.model, &lasso.path)
            .map_err(|n| Unconfirmed::Rejected(format!("step {n} does not apply")))?;
        let mut states = vec![init];
        let mut actions = Vec::with_capacity(steps.len());
        for (a, s) in steps {
            actions.push(a);
            states.push(s);
        }
        self.check_lasso(p, &states, &actions, lasso.loop_start)
            .map_err(Unconfirmed::Rejected)?;
        let (mut trace, _) = self.trace(&lasso.path).map_err(|why| {
            why.map_or(
                Unconfirmed::Rejected("the lasso does not re-execute".into()),
                Unconfirmed::Unwritable,
            )
        })?;
        trace.loop_start = lasso.loop_start;
        trace.bound = self.blocking_bound(&states, lasso.loop_start);
        Ok(trace)
    }

    /// The bound that disables a fair action where the run `states` stops (its last state) or
    /// loops (from `loop_start`), if any.
    fn blocking_bound(&self, states: &[M::State], loop_start: Option<usize>) -> Option<String> {
        let bounds = self.bounds?;
        let last = states.len() - 1;
        states[loop_start.unwrap_or(last)..]
            .iter()
            .find_map(|s| bounds(&self.model, s))
            .map(str::to_string)
    }

    /// The fair actions enabled at `state`, as (fairness, class) pairs.
    fn fair_enabled(&self, state: &M::State) -> Vec<(Fairness, u64, M::Action)> {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        actions
            .into_iter()
            .filter_map(|a| {
                let f = (self.fairness)(&self.model, &a);
                if f == Fairness::Unfair {
                    return None;
                }
                let next = self.model.next_state(state, a.clone())?;
                self.model
                    .within_boundary(&next)
                    .then(|| (f, engine::fingerprint(&a), a))
            })
            .collect()
    }

    /// Checks that the run `states` (from an initial state; `actions[i]` leads from
    /// `states[i]` to `states[i + 1]`) with the loop at `loop_start` (or a deadlock at the end)
    /// violates the liveness property `p` under the model's fairness: some state where `P`
    /// holds is followed only by states where `Q` does not, and the loop is fair.
    fn check_lasso(
        &self,
        p: &stateright::Property<M>,
        states: &[M::State],
        actions: &[M::Action],
        loop_start: Option<usize>,
    ) -> Result<(), String> {
        let m = &self.model;
        let last = states.len() - 1;
        let q = p.condition;
        // The first state of the suffix in which Q never holds.
        let Some(suffix) = (0..=last).rev().take_while(|&i| !q(m, &states[i])).last() else {
            return Err(format!(
                "'{}' holds at the last state, so this run does not violate it",
                p.name
            ));
        };
        match self.trigger(p.name) {
            None if suffix > 0 => {
                return Err(format!(
                    "'{}' holds at state {}, so this run does not violate it",
                    p.name,
                    suffix - 1
                ))
            }
            Some(t) if !(suffix..=last).any(|i| t(m, &states[i])) => {
                return Err(format!(
                    "no state after the last one where '{}' holds is one that obliges it",
                    p.name
                ))
            }
            _ => {}
        }
        let Some(k) = loop_start else {
            // The run stops: nothing fair may be enabled at the last state.
            return match self.fair_enabled(&states[last]).first() {
                None => Ok(()),
                Some((f, _, a)) => Err(format!(
                    "no loop is marked, and the run cannot stop in the last state: {a:?} is {} fair there",
                    if *f == Fairness::Strong { "strongly" } else { "weakly" }
                )),
            };
        };
        if k >= last || states[k] != states[last] {
            return Err(format!(
                "the loop does not close: the last state is not state {k}"
            ));
        }
        if k < suffix {
            return Err(format!("'{}' holds inside the loop", p.name));
        }
        let taken: fxhash::FxHashSet<u64> = actions[k..last]
            .iter()
            .filter(|a| (self.fairness)(m, a) != Fairness::Unfair)
            .map(engine::fingerprint)
            .collect();
        let loop_states = &states[k..last];
        let enabled: Vec<Vec<(Fairness, u64, M::Action)>> =
            loop_states.iter().map(|s| self.fair_enabled(s)).collect();
        for (f, c, a) in enabled.iter().flatten() {
            if taken.contains(c) {
                continue;
            }
            let everywhere = enabled.iter().all(|e| e.iter().any(|(_, d, _)| d == c));
            if *f == Fairness::Strong || everywhere {
                return Err(format!(
                    "the loop is unfair: {a:?} ({}ly fair) is enabled {} of the loop and never taken",
                    if *f == Fairness::Strong { "strong" } else { "weak" },
                    if everywhere { "in every state" } else { "in a state" }
                ));
            }
        }
        Ok(())
    }

    /// The trace of a discovery, if it re-executes to a state that decides `p`: `Err(None)`
    /// if it does not, `Err(Some(why))` if a state on it cannot be written as JSON.
    fn confirm(
        &self,
        p: &stateright::Property<M>,
        discovery: Discovery,
    ) -> Result<Trace, Option<String>> {
        let Discovery::Trace(path) = discovery else {
            return Err(None);
        };
        let (trace, last) = self.trace(&path)?;
        let holds = (p.condition)(&self.model, &last);
        let decides = match p.expectation {
            Expectation::Always => !holds,
            _ => holds,
        };
        decides.then_some(trace).ok_or(None)
    }

    /// The trace of `path` and its last state: `Err(None)` if it does not re-execute,
    /// `Err(Some(why))` if a state on it cannot be written as JSON.
    fn trace(&self, path: &IndexPath) -> Result<(Trace, M::State), Option<String>> {
        let (init, steps) = engine::rebuild(&self.model, path).map_err(|_| None)?;
        let mut prev = init.clone();
        let mut out = Vec::with_capacity(steps.len());
        for (i, (action, next)) in steps.into_iter().enumerate() {
            let (event, changes) = self.describe.event(&self.model, &prev, &action, &next);
            out.push(Step {
                n: i + 1,
                action_index: path.actions[i],
                action: format!("{action:?}"),
                event,
                changes,
                state: self.describe.state_json(&self.model, &next)?,
            });
            prev = next;
        }
        Ok((
            Trace {
                lanes: self.describe.lanes(&self.model),
                init_index: path.init,
                init_state: self.describe.state_json(&self.model, &init)?,
                steps: out,
                bound: None,
                loop_start: None,
            },
            prev,
        ))
    }
}

impl<M, D> Checkable for Bound<M, D>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
    M::Action: Clone + PartialEq + std::fmt::Debug + Hash + Send + Sync,
    D: Describe<M>,
{
    fn explore(&self, address: std::net::SocketAddr) -> ! {
        use stateright::Checker;
        // `serve` blocks while its web thread runs; it ends only if that thread panics.
        let checker = self.model.clone().checker().serve(address);
        panic!(
            "the Explorer's web server stopped ({} states explored)",
            checker.unique_state_count()
        )
    }

    fn properties(&self) -> Vec<PropertyInfo> {
        self.model
            .properties()
            .iter()
            .map(|p| PropertyInfo {
                name: p.name.to_string(),
                kind: PropertyKind::of(&p.expectation),
            })
            .collect()
    }

    fn has_symmetry(&self) -> bool {
        self.symmetry.is_some()
    }

    fn has_reduction(&self) -> bool {
        self.reduction.is_some()
    }

    fn liveness_predicates(&self) -> usize {
        let properties = self.model.properties();
        let live = properties
            .iter()
            .filter(|p| p.expectation == Expectation::Eventually);
        live.map(|p| 1 + usize::from(self.trigger(p.name).is_some()))
            .sum()
    }

    fn fingerprints(&self, opts: &CheckOptions) -> Vec<u64> {
        let mut fps = Vec::new();
        crate::engine::bfs::bfs(
            &self.model,
            self.symmetry.filter(|_| opts.symmetry),
            self.reduction.filter(|_| opts.por),
            opts,
            None,
            &mut |_| {},
            Some(&mut |fp| fps.push(fp)),
        );
        fps
    }

    fn check(&self, opts: &CheckOptions, progress: &mut dyn FnMut(&Stats)) -> Run {
        let properties = self.model.properties();
        let live: Vec<usize> = (0..properties.len())
            .filter(|&i| properties[i].expectation == Expectation::Eventually)
            .collect();
        // Why liveness is not checked in this run, if it is not.
        let skip = if !opts.liveness {
            Some("--no-liveness")
        } else if opts.engine != Engine::Bfs {
            Some("the liveness engine runs on the BFS's state graph; use --engine bfs")
        } else if opts.shard.is_some() {
            Some("a fair cycle may pass through several shards' parts; check liveness unsharded")
        } else if opts.cluster.is_some() {
            Some("the distributed search stores no state graph; check liveness in one process")
        } else if opts.por {
            Some("partial-order reduction keeps a part of the state graph; check liveness without --por")
        } else {
            None
        };
        // Predicates stored per state: each liveness property's Q, then its P if it has one.
        let recorder = (skip.is_none() && !live.is_empty()).then(|| {
            let mut predicates = Vec::new();
            for &i in &live {
                predicates.push(properties[i].condition);
                predicates.extend(self.trigger(properties[i].name));
            }
            Recorder {
                fairness: self.fairness,
                predicates,
            }
        });
        let mut outcome = crate::engine::search(
            &self.model,
            self.symmetry,
            self.reduction,
            opts,
            recorder.as_ref(),
            progress,
        );
        let started = std::time::Instant::now();
        let mut lassos: Vec<Option<Result<Trace, Unconfirmed>>> = vec![None; properties.len()];
        if let Some(g) = &outcome.graph {
            let mut bit = 0;
            for &i in &live {
                let q = bit;
                let p = self.trigger(properties[i].name).map(|_| bit + 1);
                bit += 1 + usize::from(p.is_some());
                let start = |v: u32| match p {
                    Some(p) => g.holds(p, v),
                    None => g.initial.contains(&v),
                };
                let goal = |v: u32| g.holds(q, v);
                let found = match self.symmetry.filter(|_| opts.symmetry) {
                    Some(representative) => symmetric::Lifter {
                        model: &self.model,
                        representative,
                        fairness: self.fairness,
                    }
                    .find_violation(g, &start, &goal),
                    None => Ok(liveness::find_violation(g, &start, &goal)),
                };
                lassos[i] = match found {
                    Ok(found) => found.map(|lasso| self.confirm_lasso(&properties[i], &lasso)),
                    Err(why) => Some(Err(Unconfirmed::Rejected(why))),
                };
            }
        }
        outcome.stats.liveness_secs = started.elapsed().as_secs_f64();
        let mut unwritable: Option<String> = None;
        let results = properties
            .iter()
            .zip(outcome.discoveries)
            .zip(lassos)
            .map(|((p, found), lasso)| {
                let property = PropertyInfo {
                    name: p.name.to_string(),
                    kind: PropertyKind::of(&p.expectation),
                };
                let incomplete = |reason: &StopReason| Verdict::Incomplete {
                    reason: reason.to_string(),
                };
                let (verdict, trace) = if p.expectation == Expectation::Eventually {
                    match (skip, lasso, &outcome.stopped) {
                        (Some(reason), _, _) => (
                            Verdict::NotChecked {
                                reason: reason.into(),
                            },
                            None,
                        ),
                        (None, Some(Ok(trace)), _) => match &trace.bound {
                            // A run of the bounded model only: not known of the protocol.
                            Some(bound) => (
                                Verdict::Bounded {
                                    bound: bound.clone(),
                                },
                                Some(trace),
                            ),
                            None => (Verdict::Violated, Some(trace)),
                        },
                        (None, Some(Err(Unconfirmed::Unwritable(why))), _) => {
                            unwritable.get_or_insert(why);
                            (Verdict::Incomplete { reason: format!("{UNWRITABLE}the trace") }, None)
                        }
                        (None, Some(Err(Unconfirmed::Rejected(why))), _) => (
                            Verdict::Incomplete {
                                reason: format!("the liveness engine's counterexample did not re-check: {why}"),
                            },
                            None,
                        ),
                        (None, None, Some(reason)) => (incomplete(reason), None),
                        (None, None, None) => (Verdict::Holds, None),
                    }
                } else {
                    match found {
                        // Nothing decides it: holds (or unreached) only if the search was exhaustive.
                        None => match (&outcome.stopped, &p.expectation) {
                            (Some(reason), _) => (incomplete(reason), None),
                            (None, Expectation::Always) => (Verdict::Holds, None),
                            (None, _) => (Verdict::Unreached, None),
                        },
                        // Re-execute the trace and re-check its last state before reporting it. A
                        // trace that fails this is never taken for the absence of one.
                        Some(discovery) => match self.confirm(p, discovery) {
                            Ok(trace) => (
                                match p.expectation {
                                    Expectation::Always => Verdict::Violated,
                                    _ => Verdict::Reached,
                                },
                                Some(trace),
                            ),
                            Err(Some(why)) => {
                                unwritable.get_or_insert(why);
                                (Verdict::Incomplete { reason: format!("{UNWRITABLE}the trace") }, None)
                            }
                            Err(None) => (
                                Verdict::Incomplete {
                                    reason: "the search reported a trace that did not re-execute to a state deciding the property".into(),
                                },
                                None,
                            ),
                        },
                    }
                };
                PropertyResult {
                    property,
                    verdict,
                    trace,
                }
            })
            .collect();
        Run {
            stats: outcome.stats,
            stopped: outcome.stopped,
            results,
            unwritable,
        }
    }

    fn minimize(&self, trace: &Trace, property: &str) -> Option<Trace> {
        // Traces up to this long also get every window tried (quadratic in the length).
        const WINDOWED: usize = 64;
        let properties = self.model.properties();
        let p = properties.iter().find(|p| p.name == property)?;
        if p.expectation == Expectation::Eventually {
            return None;
        }
        let decides =
            |s: &M::State| (p.condition)(&self.model, s) != (p.expectation == Expectation::Always);
        let init = self.model.init_states().into_iter().nth(trace.init_index)?;
        // The action indexes and texts of `texts` re-executed up to the first deciding state.
        let run = |texts: &[&str]| -> Option<(Vec<usize>, usize)> {
            let mut state = init.clone();
            let mut indexes = Vec::with_capacity(texts.len());
            let mut actions = Vec::new();
            if decides(&state) {
                return Some((indexes, 0));
            }
            for text in texts {
                actions.clear();
                self.model.actions(&state, &mut actions);
                let i = actions.iter().position(|a| format!("{a:?}") == *text)?;
                state = self.model.next_state(&state, actions.swap_remove(i))?;
                indexes.push(i);
                if decides(&state) {
                    let n = indexes.len();
                    return Some((indexes, n));
                }
            }
            None
        };
        let mut best: Vec<&str> = trace.steps.iter().map(|s| s.action.as_str()).collect();
        let (mut indexes, n) = run(&best)?;
        best.truncate(n);
        let mut size = (best.len() / 2).max(1);
        loop {
            let mut removed = false;
            let mut start = 0;
            while start < best.len() {
                let end = (start + size).min(best.len());
                let candidate: Vec<&str> =
                    best[..start].iter().chain(&best[end..]).copied().collect();
                match run(&candidate) {
                    Some((found, n)) => {
                        best = candidate;
                        best.truncate(n);
                        indexes = found;
                        removed = true;
                    }
                    None => start += size,
                }
            }
            if size == 1 && !removed {
                break;
            }
            if !removed {
                size = (size / 2).max(1);
            }
        }
        // Halving only removes aligned chunks; on a short trace also try every window, the
        // longest first (a lost reply, a resend and its delivery, say: 3 steps at any offset).
        'windows: while best.len() <= WINDOWED {
            for size in (2..best.len()).rev() {
                for start in 0..=best.len() - size {
                    let candidate: Vec<&str> = best[..start]
                        .iter()
                        .chain(&best[start + size..])
                        .copied()
                        .collect();
                    if let Some((found, n)) = run(&candidate) {
                        best = candidate;
                        best.truncate(n);
                        indexes = found;
                        continue 'windows;
                    }
                }
            }
            break;
        }
        let (minimized, last) = self
            .trace(&IndexPath {
                init: trace.init_index,
                actions: indexes,
            })
            .ok()?;
        decides(&last).then_some(minimized)
    }

    fn replay(&self, trace: &Trace, property: &str) -> Result<Verdict, Divergence> {
        let diverge = |step, reason: String| Divergence { step, reason };
        let mut inits = self.model.init_states();
        if trace.init_index >= inits.len() {
            return Err(diverge(
                0,
                format!("the model has no initial state #{}", trace.init_index),
            ));
        }
        let mut state = inits.swap_remove(trace.init_index);
        let mut states = Vec::with_capacity(trace.steps.len() + 1);
        let mut taken = Vec::with_capacity(trace.steps.len());
        if self.describe.lanes(&self.model) != trace.lanes {
            return Err(diverge(
                0,
                "the recorded lanes differ from the model's".into(),
            ));
        }
        let json = |n: usize, s: &M::State| {
            self.describe
                .state_json(&self.model, s)
                .map_err(|e| diverge(n, format!("{UNWRITABLE}{e}")))
        };
        if !same_state(&json(0, &state)?, &trace.init_state) {
            return Err(diverge(
                0,
                "the recorded initial state differs from the model's".into(),
            ));
        }
        let mut actions = Vec::new();
        for (i, step) in trace.steps.iter().enumerate() {
            let n = i + 1;
            actions.clear();
            self.model.actions(&state, &mut actions);
            // The recorded index, or else the enabled action of the recorded text: a model
            // that enumerates a hash set (stateright's network) orders its actions by the
            // process's hash seed, so the index can differ from the recording process's.
            let by_index = actions
                .get(step.action_index)
                .filter(|a| format!("{a:?}") == step.action);
            let Some(action) = by_index
                .or_else(|| actions.iter().find(|a| format!("{a:?}") == step.action))
                .cloned()
            else {
                return Err(diverge(
                    n,
                    format!(
                        "the recorded action `{}` is not enabled ({} actions are)",
                        step.action,
                        actions.len()
                    ),
                ));
            };
            let text = &step.action;
            taken.push(action.clone());
            let Some(next) = self.model.next_state(&state, action.clone()) else {
                return Err(diverge(n, format!("action `{text}` changes nothing")));
            };
            if !same_state(&json(n, &next)?, &step.state) {
                return Err(diverge(
                    n,
                    "the resulting state differs from the recorded one".into(),
                ));
            }
            let (event, changes) = self.describe.event(&self.model, &state, &action, &next);
            if event != step.event {
                return Err(diverge(
                    n,
                    "the recorded event (kind, lanes, message) differs from the model's".into(),
                ));
            }
            // Which lanes changed; their new local states are in the state compared above
            // (as text, a hash set's order would differ from process to process).
            if !changes
                .iter()
                .map(|c| &c.lane)
                .eq(step.changes.iter().map(|c| &c.lane))
            {
                return Err(diverge(
                    n,
                    "the recorded changes differ from the model's".into(),
                ));
            }
            states.push(std::mem::replace(&mut state, next));
        }
        states.push(state);
        let state = states.last().expect("the initial state at least");
        let properties = self.model.properties();
        let Some(p) = properties.iter().find(|p| p.name == property) else {
            return Err(diverge(
                trace.steps.len(),
                format!("the model has no property '{property}'"),
            ));
        };
        let holds = (p.condition)(&self.model, state);
        Ok(match (&p.expectation, holds) {
            (Expectation::Always, false) => Verdict::Violated,
            (Expectation::Sometimes, true) => Verdict::Reached,
            (Expectation::Always, true) => Verdict::Holds,
            (Expectation::Sometimes, false) => Verdict::Unreached,
            (Expectation::Eventually, _) => {
                self.check_lasso(p, &states, &taken, trace.loop_start)
                    .map_err(|reason| diverge(trace.steps.len(), reason))?;
                let bound = self.blocking_bound(&states, trace.loop_start);
                if bound != trace.bound {
                    return Err(diverge(
                        trace.steps.len(),
                        format!(
                            "the trace says {}, but the model's bounds say {}",
                            trace
                                .bound
                                .as_deref()
                                .map_or("no bound blocks it".into(), |b| format!(
                                    "bound {b} blocks it"
                                )),
                            bound
                                .as_deref()
                                .map_or("none blocks it".into(), |b| format!("{b} blocks it"))
                        ),
                    ));
                }
                match bound {
                    Some(bound) => Verdict::Bounded { bound },
                    None => Verdict::Violated,
                }
            }
        })
    }
}
