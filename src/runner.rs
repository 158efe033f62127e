//! A model bound to its describer and symmetry, behind an object-safe interface: the rest of
//! the toolkit (CLI, suite, reports, traces) never sees a model's types.

use crate::describe::{Change, Describe, Event};
use crate::engine::{self, CheckOptions, Discovery, IndexPath, Stats, StopReason};
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
    /// Not checked by this engine.
    NotChecked {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The verdict's name as written in manifests: `holds`, `violated`, `reached`,
    /// `unreached`, `incomplete`, `not-checked`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Reached => "reached",
            Verdict::Unreached => "unreached",
            Verdict::Incomplete { .. } => "incomplete",
            Verdict::NotChecked { .. } => "not-checked",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Incomplete { reason } => write!(f, "incomplete ({reason})"),
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
    /// Runs a check.
    fn check(&self, opts: &CheckOptions, progress: &mut dyn FnMut(&Stats)) -> Run;
    /// Re-executes a trace and confirms its verdict on `property` at the last state.
    fn replay(&self, trace: &Trace, property: &str) -> Result<Verdict, Divergence>;
}

/// A model, its describer and its symmetry.
pub struct Bound<M: Model, D> {
    /// The model.
    pub model: M,
    /// Its describer.
    pub describe: D,
    /// Its representative function, if it has a symmetry.
    pub symmetry: Option<engine::Representative<M>>,
}

impl<M, D> Bound<M, D>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone + std::fmt::Debug,
    D: Describe<M>,
{
    /// The trace of a discovery, if it re-executes to a state that decides `p`.
    fn confirm(&self, p: &stateright::Property<M>, discovery: Discovery) -> Option<Trace> {
        let Discovery::Trace(path) = discovery else {
            return None;
        };
        let (trace, last) = self.trace(&path)?;
        let holds = (p.condition)(&self.model, &last);
        let decides = match p.expectation {
            Expectation::Always => !holds,
            _ => holds,
        };
        decides.then_some(trace)
    }

    fn trace(&self, path: &IndexPath) -> Option<(Trace, M::State)> {
        let (init, steps) = engine::rebuild(&self.model, path).ok()?;
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
                state: self.describe.state_json(&self.model, &next),
            });
            prev = next;
        }
        Some((
            Trace {
                lanes: self.describe.lanes(&self.model),
                init_index: path.init,
                init_state: self.describe.state_json(&self.model, &init),
                steps: out,
            },
            prev,
        ))
    }
}

impl<M, D> Checkable for Bound<M, D>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq + Send + Sync + 'static,
    M::Action: Clone + PartialEq + std::fmt::Debug,
    D: Describe<M>,
{
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

    fn check(&self, opts: &CheckOptions, progress: &mut dyn FnMut(&Stats)) -> Run {
        let outcome = engine::search(&self.model, self.symmetry, opts, progress);
        let properties = self.model.properties();
        let results = properties
            .iter()
            .zip(outcome.discoveries)
            .map(|(p, found)| {
                let property = PropertyInfo {
                    name: p.name.to_string(),
                    kind: PropertyKind::of(&p.expectation),
                };
                if p.expectation == Expectation::Eventually {
                    return PropertyResult {
                        property,
                        verdict: Verdict::NotChecked {
                            reason: "liveness engine not available yet".into(),
                        },
                        trace: None,
                    };
                }
                let (verdict, trace) = match found {
                    // Nothing decides it: holds (or unreached) only if the search was exhaustive.
                    None => match (&outcome.stopped, &p.expectation) {
                        (Some(reason), _) => (
                            Verdict::Incomplete {
                                reason: reason.to_string(),
                            },
                            None,
                        ),
                        (None, Expectation::Always) => (Verdict::Holds, None),
                        (None, _) => (Verdict::Unreached, None),
                    },
                    // Re-execute the trace and re-check its last state before reporting it. A
                    // trace that fails this is never taken for the absence of one.
                    Some(discovery) => match self.confirm(p, discovery) {
                        Some(trace) => (
                            match p.expectation {
                                Expectation::Always => Verdict::Violated,
                                _ => Verdict::Reached,
                            },
                            Some(trace),
                        ),
                        None => (
                            Verdict::Incomplete {
                                reason: "the search reported a trace that did not re-execute to a state deciding the property".into(),
                            },
                            None,
                        ),
                    },
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
        }
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
        if self.describe.state_json(&self.model, &state) != trace.init_state {
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
            let Some(action) = actions.get(step.action_index).cloned() else {
                return Err(diverge(
                    n,
                    format!(
                        "action index {} out of range ({} actions enabled)",
                        step.action_index,
                        actions.len()
                    ),
                ));
            };
            let text = format!("{action:?}");
            if text != step.action {
                return Err(diverge(
                    n,
                    format!(
                        "recorded action `{}` but the model's is `{text}`",
                        step.action
                    ),
                ));
            }
            let Some(next) = self.model.next_state(&state, action) else {
                return Err(diverge(n, format!("action `{text}` changes nothing")));
            };
            if self.describe.state_json(&self.model, &next) != step.state {
                return Err(diverge(
                    n,
                    "the resulting state differs from the recorded one".into(),
                ));
            }
            state = next;
        }
        let properties = self.model.properties();
        let Some(p) = properties.iter().find(|p| p.name == property) else {
            return Err(diverge(
                trace.steps.len(),
                format!("the model has no property '{property}'"),
            ));
        };
        let holds = (p.condition)(&self.model, &state);
        Ok(match (&p.expectation, holds) {
            (Expectation::Always, false) => Verdict::Violated,
            (Expectation::Sometimes, true) => Verdict::Reached,
            (Expectation::Always, true) => Verdict::Holds,
            (Expectation::Sometimes, false) => Verdict::Unreached,
            (Expectation::Eventually, _) => Verdict::NotChecked {
                reason: "liveness traces are not replayed yet".into(),
            },
        })
    }
}
