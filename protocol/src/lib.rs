//! # ftcheck-protocol
//!
//! What a protocol tells ftcheck about itself, for the built-in protocols of `ftcheck-models`
//! and a user's own alike (`ftcheck` re-exports this crate as `ftcheck::protocol`):
//! [`Protocol`] (its parameters, broken variants, builder, symmetry, fairness and bounds),
//! [`Lanes`] (how traces draw a model that is not built from actors), and
//! [`guarded::GuardedActors`] (a stateright actor model whose timeouts fire only when a guard
//! allows, and whose states hash apart where stateright's collide).
//!
//! A plain stateright model needs none of it beyond a [`Protocol`] whose `build` returns it.

#![warn(missing_docs)]

pub mod guarded;
pub mod udp;

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The type and allowed range of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ParamKind {
    /// An integer in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of names.
    Choice {
        /// The allowed names.
        options: &'static [&'static str],
    },
}

/// A parameter value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// One of a [`ParamKind::Choice`]'s names.
    Choice(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Choice(c) => f.write_str(c),
        }
    }
}

/// One parameter of a protocol.
#[derive(Clone, Debug, Serialize)]
pub struct ParamSpec {
    /// Name as written on the command line (`--param NAME=VALUE`).
    pub name: &'static str,
    /// What the parameter controls.
    pub help: &'static str,
    /// Type and range.
    #[serde(flatten)]
    pub kind: ParamKind,
    /// Value used when the parameter is not given.
    pub default: Value,
}

/// One deliberately broken variant of a protocol, which the checker must refute.
#[derive(Clone, Debug, Serialize)]
pub struct VariantSpec {
    /// Name as written on the command line (`--variant NAME`).
    pub name: &'static str,
    /// What is broken, and which property it breaks.
    pub summary: &'static str,
}

/// Validated parameter values, every parameter of the protocol present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    /// The integer parameter `name`, as a `usize`.
    ///
    /// ```
    /// use ftcheck_protocol::{Params, Value};
    /// let mut p = Params::default();
    /// p.0.insert("participants".into(), Value::Int(3));
    /// assert_eq!(p.usize("participants"), 3);
    /// ```
    ///
    /// # Panics
    /// If the parameter is missing or not an integer: parameters are validated against the
    /// protocol's [`ParamSpec`]s before a model is built, so this is a programming error.
    pub fn usize(&self, name: &str) -> usize {
        match self.0.get(name) {
            Some(Value::Int(i)) => usize::try_from(*i).expect("validated non-negative"),
            other => panic!("parameter {name} should be a validated integer, found {other:?}"),
        }
    }

    /// The boolean parameter `name`.
    ///
    /// # Panics
    /// If the parameter is missing or not a boolean (see [`Params::usize`]).
    pub fn bool(&self, name: &str) -> bool {
        match self.0.get(name) {
            Some(Value::Bool(b)) => *b,
            other => panic!("parameter {name} should be a validated boolean, found {other:?}"),
        }
    }
}

impl Params {
    /// The choice parameter `name`: one of its [`ParamKind::Choice`] options.
    ///
    /// # Panics
    /// If the parameter is missing or not a choice (see [`Params::usize`]).
    pub fn choice(&self, name: &str) -> &'static str {
        match self.0.get(name) {
            Some(Value::Choice(c)) => c,
            other => panic!("parameter {name} should be a validated choice, found {other:?}"),
        }
    }
}

/// A protocol's deliberately broken variants, each value declared once with the name the
/// command line gives it and what it breaks: the model matches on the values, so a misspelt
/// variant does not compile (where a misspelt name would silently build the correct protocol).
///
/// ```
/// use ftcheck_protocol::{VariantSpec, Variants};
/// #[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// enum Variant {
///     ForgetVote,
/// }
/// impl Variants for Variant {
///     const ALL: &'static [(Variant, VariantSpec)] = &[(
///         Variant::ForgetVote,
///         VariantSpec {
///             name: "forget-vote",
///             summary: "votedFor is not durable (election-safety)",
///         },
///     )];
/// }
/// assert_eq!(Variant::named("forget-vote"), Some(Variant::ForgetVote));
/// assert_eq!(Variant::named("forget-vot"), None);
/// ```
pub trait Variants: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every variant, in display order, with its name and summary.
    const ALL: &'static [(Self, VariantSpec)];

    /// The variant called `name`, if there is one.
    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, spec)| spec.name == name)
            .map(|(v, _)| *v)
    }
}

/// The variants of a protocol that has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoVariants {}

impl Variants for NoVariants {
    const ALL: &'static [(NoVariants, VariantSpec)] = &[];
}

/// A protocol of the catalog: what it is called, how it is parameterised, how to build it.
pub trait Protocol {
    /// The stateright model the protocol builds.
    type Model: stateright::Model;
    /// Its deliberately broken variants ([`NoVariants`] for none).
    type Variant: Variants;
    /// Catalog name, e.g. `two-phase-commit`.
    const NAME: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str;
    /// The lecture section the model follows.
    const SECTION: &'static str;
    /// The parameters, in display order.
    fn params() -> Vec<ParamSpec>;
    /// Checks constraints between parameters (each is already within its own range): `Err`
    /// says what is inconsistent and how to fix it.
    fn validate(_params: &Params) -> Result<(), String> {
        Ok(())
    }
    /// Builds the model from validated parameters and a variant, if any.
    fn build(params: &Params, variant: Option<Self::Variant>) -> Self::Model;
    /// The symmetry reduction (`--symmetry`), if the model has one: a function mapping each
    /// state to a representative of its orbit under permutations of interchangeable processes.
    /// The permutations must be symmetries of everything checked: the initial states, the
    /// steps, the properties, and (for liveness) the fairness — a renamed action has the
    /// fairness of the original, as when fairness is by kind of step, never by process.
    fn symmetry() -> Option<Symmetry<Self::Model>> {
        None
    }
    /// The partial-order reduction (`--por`), if the model declares one: a function choosing,
    /// at a state, a persistent set among its enabled actions (see [`Reduction`]). The search
    /// adds the cycle proviso; the model answers for persistence and for the stability of
    /// its properties. Models of the actor kit declare one with
    /// [`guarded::GuardedActors::independence`].
    fn reduction(_model: &Self::Model) -> Option<Reduction<Self::Model>> {
        None
    }
    /// The fairness assumed of each action, for liveness properties. Each action is its own
    /// class (two actions are the same class when they are equal): "deliver this message",
    /// "fire this timer". Faults (crash, loss, Byzantine choices) are left [`Fairness::Unfair`]:
    /// they are never forced to happen. The default assumes no fairness at all.
    fn fairness(
        _model: &Self::Model,
        _action: &<Self::Model as stateright::Model>::Action,
    ) -> Fairness {
        Fairness::Unfair
    }
    /// The fairness of [`Protocol::fairness`] in words, as the model's documentation states
    /// it (shown by `ftcheck list MODEL`).
    const FAIRNESS: &'static str = "none: every run of the model counts";
    /// The liveness properties that are `P leads-to Q` rather than `eventually Q`: for each,
    /// the name of the model's `Eventually` property (whose condition is `Q`) and `P`.
    fn leads_to() -> Vec<LeadsTo<Self::Model>> {
        Vec::new()
    }
    /// The model's bounds: the parameter whose bound disables, at `state`, an action the
    /// protocol would take there and that fairness would force (an election timeout past
    /// `max-term`, a due takeover past `takeovers`); `None` where no fair action is disabled by
    /// a bound alone. A liveness counterexample that stops or loops in such a state shows the
    /// bounded model, not the protocol: it is reported `incomplete (bound: NAME)`.
    fn bound_blocked(
        _model: &Self::Model,
        _state: &<Self::Model as stateright::Model>::State,
    ) -> Option<&'static str> {
        None
    }
}

/// How an action class is scheduled in the infinite runs that liveness properties speak of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fairness {
    /// Never forced: a run may ignore the action forever.
    Unfair,
    /// Weak fairness: an action that stays enabled (from some point on, in every state) is
    /// eventually taken.
    Weak,
    /// Strong fairness: an action enabled infinitely often is eventually taken.
    Strong,
}

/// `trigger` leads-to the condition of the `Eventually` property named `property`: every
/// state where `trigger` holds is followed, on every fair run, by a state where the
/// condition holds (the state itself counts).
pub struct LeadsTo<M: stateright::Model> {
    /// Name of the `Eventually` property.
    pub property: &'static str,
    /// The condition `P` that obliges the property's condition `Q` to follow.
    pub trigger: fn(&M, &M::State) -> bool,
}

impl<M: stateright::Model> Clone for LeadsTo<M> {
    fn clone(&self) -> Self {
        LeadsTo {
            property: self.property,
            trigger: self.trigger,
        }
    }
}

/// A representative function: equal results for states that differ only by a permutation of
/// interchangeable processes, and always a permutation of its argument.
pub type Symmetry<M> = fn(&<M as stateright::Model>::State) -> <M as stateright::Model>::State;

/// A partial-order reduction: given a state and its enabled actions (as `actions()` lists
/// them), sets `keep[i]` (`keep` comes cleared; push one entry per action) for the actions of
/// a persistent set and returns `true`, or returns `false` to expand the state fully.
///
/// A set T of enabled actions is persistent at `s` when, on every path from `s` of actions
/// outside T, each action is independent of every action of T: neither disables the other,
/// and in either order they reach the same state. The reduced search ([`Protocol::reduction`])
/// is then sound for every safety and reachability property provided no action a persistent
/// set may hold repairs a decision — turns a state that violates an invariant into one that
/// does not, or one where a reachability property's condition holds into one where it does
/// not — and every cycle of the reduced graph has a state expanded fully, which ftcheck's
/// BFS ensures (a state whose reduced successors include one
/// seen at its depth or earlier is expanded fully). Source: Godefroid, "Partial-Order Methods
/// for the Verification of Concurrent Systems" (LNCS 1032, 1996), persistent sets; Clarke,
/// Grumberg and Peled, "Model Checking", ch. 10 (the cycle proviso).
pub type Reduction<M> = fn(
    &M,
    &<M as stateright::Model>::State,
    &[<M as stateright::Model>::Action],
    &mut Vec<bool>,
) -> bool;

/// Every permutation of `0..n`, for representatives that try each renaming.
pub fn permutations(n: usize) -> Vec<Vec<u8>> {
    fn go(k: usize, p: &mut Vec<u8>, out: &mut Vec<Vec<u8>>) {
        if k == p.len() {
            out.push(p.clone());
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            go(k + 1, p, out);
            p.swap(k, i);
        }
    }
    let mut out = vec![];
    go(0, &mut (0..n as u8).collect(), &mut out);
    out
}

/// A step of a model that is not built from stateright actors, as its traces draw it: between
/// which of its processes it happens (see [`Lanes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaneStep {
    /// A message from one process reaches another.
    Deliver {
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// The message, as shown.
        msg: String,
    },
    /// A message from one process to another is lost.
    Drop {
        /// Sender.
        from: String,
        /// Intended receiver.
        to: String,
        /// The message, as shown.
        msg: String,
    },
    /// A process's timer expires.
    Timeout {
        /// The process.
        at: String,
        /// Which timer, what it does.
        detail: String,
    },
    /// A process crashes.
    Crash {
        /// The process.
        at: String,
    },
    /// A process recovers (or restarts).
    Recover {
        /// The process.
        at: String,
    },
    /// Anything else one process does.
    Local {
        /// The process.
        at: String,
        /// What it does.
        detail: String,
    },
}

/// The processes of a model that is not built from stateright actors, and where each of its
/// steps happens: what gives its traces a lane per process (sequence charts, ShiViz hosts)
/// instead of one `system` lane. Optional: a protocol implements it and names the `Laned`
/// describer in its catalog entry.
pub trait Lanes: stateright::Model {
    /// The processes, in lane order.
    fn lanes(&self) -> Vec<String>;
    /// Where and what `action` is in `state`.
    fn lane_step(&self, state: &Self::State, action: &Self::Action) -> LaneStep;
}
