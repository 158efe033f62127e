//! `message-logging`: when to log messages so that a recovering process leaves no orphans.
//!
//! Lecture section: "Recovery: Message Logging".
//!
//! How it maps the lecture: execution is piecewise deterministic — each state interval of a
//! process starts with the delivery of a message and is deterministic from there — so a process
//! that logged every message it delivered can restart from its checkpoint and replay its log to
//! reach the same state again. Three actors: `P` sends `m1` and `m2` to `Q` when it starts;
//! after delivering both, `Q` sends `m3` to `R` (a step of its own, `Q`'s `SendM3` timer),
//! which delivers it. `Q` may crash (`crashes`, the fault layer's restarts): it restarts from
//! its checkpoint (its initial state) and replays the messages in its log, its storage; a
//! message it delivered but had not logged is gone (the sender keeps no copy), and so is every
//! state interval that followed it. A replay that re-creates the state after `m1` and `m2`
//! sends `m3` again (as it did before), and `R` ignores the duplicate. With receiver-based
//! logging before delivery (the default) every delivered message is in the log, and `Q`'s
//! replay re-creates the state that sent `m3`. Variant `log-after-send`: `Q` writes its log
//! lazily (a `Log` timer per delivered message) and may send `m3` before `m2` is logged; a
//! crash then leaves `R` depending on an `m3` that `Q` can no longer produce — `R` is an
//! orphan, the lecture's example.
//!
//! `no-orphans`: whenever `R` has delivered `m3`, `Q`'s state (recovered or not) is one that
//! sent it: it has delivered `m1` and `m2`. `recovered-by-replay`: after a restart of `Q`, `R`
//! has `m3` and `Q`'s replayed state is one that sent it.

use ftcheck_protocol::guarded::{soon, Faults, GuardedActors, GuardedState};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::Expectation;
use std::borrow::Cow;
use std::fmt;

/// `Q`'s and `R`'s actor indexes (`P` is actor 0).
const Q: usize = 1;
const R: usize = 2;

/// A message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg {
    /// `m1` (0) or `m2` (1), from `P` to `Q`.
    M(u8),
    /// `m3`, from `Q` to `R`.
    M3,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::M(m) => write!(f, "m{}", m + 1),
            Msg::M3 => f.write_str("m3"),
        }
    }
}

/// `Q`'s timers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Write delivered message `m1` (0) or `m2` (1) to the log (lazy logging only).
    Log(u8),
    /// Send `m3` to `R` (set once both are delivered).
    SendM3,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Log(m) => write!(f, "writes m{} to its log", m + 1),
            Timer::SendM3 => f.write_str("sends m3 to R"),
        }
    }
}

/// An actor's state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Local {
    /// `P`, which has sent its messages.
    P,
    /// `Q`.
    Q {
        /// `Q` has delivered `m1`, `m2`.
        #[serde(serialize_with = "names")]
        delivered: [bool; 2],
        /// `Q`'s stable log holds `m1`, `m2` (also its storage).
        #[serde(serialize_with = "names")]
        logged: [bool; 2],
        /// `Q` has sent `m3` in this state interval history.
        sent_m3: bool,
    },
    /// `R`: whether it has delivered `m3`.
    R(bool),
}

fn names<S: Serializer>(xs: &[bool; 2], s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<&str> = ["m1", "m2"]
        .iter()
        .zip(xs)
        .filter(|(_, &x)| x)
        .map(|(n, _)| *n)
        .collect();
    names.serialize(s)
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |xs: &[bool; 2]| {
            let names: Vec<String> = (0..2)
                .filter(|&i| xs[i])
                .map(|i| format!("m{}", i + 1))
                .collect();
            format!("[{}]", names.join(", "))
        };
        match self {
            Local::P => f.write_str("sent m1, m2"),
            Local::Q {
                delivered,
                logged,
                sent_m3,
            } => {
                write!(f, "delivered {}, logged {}", list(delivered), list(logged))?;
                if *sent_m3 {
                    f.write_str(", sent m3")?;
                }
                Ok(())
            }
            Local::R(m3) => f.write_str(if *m3 { "delivered m3" } else { "waiting" }),
        }
    }
}

/// An actor: `P`, `Q` (logging lazily or not) or `R`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MlActor {
    /// `P`.
    P,
    /// `Q`; `lazy`: it logs after delivering (variant `log-after-send`).
    Q {
        /// `Q` logs lazily.
        lazy: bool,
    },
    /// `R`.
    R,
}

impl Actor for MlActor {
    type Msg = Msg;
    type State = Local;
    type Timer = Timer;
    type Random = ();
    /// `Q`'s log: which of `m1`, `m2` it holds.
    type Storage = [bool; 2];

    fn name(&self) -> String {
        match self {
            MlActor::P => "P",
            MlActor::Q { .. } => "Q",
            MlActor::R => "R",
        }
        .into()
    }

    fn on_start(&self, _id: Id, storage: &Option<[bool; 2]>, o: &mut Out<Self>) -> Local {
        match self {
            MlActor::P => {
                for m in 0..2 {
                    o.send(Id::from(Q), Msg::M(m));
                }
                Local::P
            }
            MlActor::Q { .. } => {
                // The checkpoint is the initial state; the replay delivers the logged
                // messages again, and what followed them deterministically is redone.
                let logged = storage.unwrap_or_default();
                if logged == [true; 2] {
                    o.set_timer(Timer::SendM3, soon());
                }
                Local::Q {
                    delivered: logged,
                    logged,
                    sent_m3: false,
                }
            }
            MlActor::R => Local::R(false),
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Local>, _src: Id, msg: Msg, o: &mut Out<Self>) {
        match (self, **state, msg) {
            (
                MlActor::Q { lazy },
                Local::Q {
                    mut delivered,
                    mut logged,
                    sent_m3,
                },
                Msg::M(m),
            ) => {
                let i = usize::from(m);
                delivered[i] = true;
                if *lazy {
                    o.set_timer(Timer::Log(m), soon());
                } else {
                    logged[i] = true;
                    o.save(logged);
                }
                if delivered == [true; 2] {
                    o.set_timer(Timer::SendM3, soon());
                }
                *state.to_mut() = Local::Q {
                    delivered,
                    logged,
                    sent_m3,
                };
            }
            (MlActor::R, Local::R(false), Msg::M3) => *state.to_mut() = Local::R(true),
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<Local>, timer: &Timer, o: &mut Out<Self>) {
        let Local::Q {
            delivered,
            mut logged,
            mut sent_m3,
        } = **state
        else {
            return;
        };
        match timer {
            Timer::Log(m) => {
                logged[usize::from(*m)] = true;
                o.save(logged);
            }
            Timer::SendM3 => {
                sent_m3 = true;
                o.send(Id::from(R), Msg::M3);
            }
        }
        *state.to_mut() = Local::Q {
            delivered,
            logged,
            sent_m3,
        };
    }
}

/// The model: `P`, `Q` and `R` under the fault layer's restarts of `Q`.
pub type MlModel = GuardedActors<MlActor, (), ()>;
/// A state of [`MlModel`].
pub type MlState = GuardedState<MlActor, ()>;

fn q_delivered(s: &ActorModelState<MlActor, ()>) -> [bool; 2] {
    match *s.actor_states[Q] {
        Local::Q { delivered, .. } => delivered,
        _ => unreachable!("actor 1 is Q"),
    }
}

fn r_delivered_m3(s: &ActorModelState<MlActor, ()>) -> bool {
    *s.actor_states[R] == Local::R(true)
}

/// `m3` to an `R` that has it changes nothing, ever.
fn inert(_: &(), s: &ActorModelState<MlActor, ()>, e: Envelope<&Msg>) -> bool {
    *e.msg == Msg::M3 && r_delivered_m3(s)
}

/// The deliberately broken variants (see [`Variants::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `log-after-send`.
    LogAfterSend,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[(
        Variant::LogAfterSend,
        VariantSpec {
            name: "log-after-send",
            summary: "Q logs lazily and sends m3 before m2 is logged: a crash makes R an orphan \
                      (no-orphans)",
        },
    )];
}

/// `message-logging` in the catalog.
pub struct MessageLogging;

impl Protocol for MessageLogging {
    type Model = MlModel;
    type Variant = Variant;
    const NAME: &'static str = "message-logging";
    const SUMMARY: &'static str =
        "P, Q, R: Q's crash and replay leave R an orphan unless Q logs before it delivers";
    const SECTION: &'static str = "Recovery: Message Logging";
    const FAIRNESS: &'static str =
        "weak: delivering each message, Q's steps (logging, sending m3); unfair: Q's crashes";

    fn fairness(_: &MlModel, action: &<MlModel as stateright::Model>::Action) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..)) => {
                Fairness::Weak
            }
            _ => Fairness::Unfair,
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![ParamSpec {
            name: "crashes",
            help: "crashes of Q (each restarts from the checkpoint and replays the log)",
            kind: ParamKind::Int { min: 0, max: 2 },
            default: Value::Int(1),
        }]
    }

    fn build(params: &Params, variant: Option<Variant>) -> MlModel {
        let lazy = variant == Some(Variant::LogAfterSend);
        let actors = ActorModel::new((), ())
            .actor(MlActor::P)
            .actor(MlActor::Q { lazy })
            .actor(MlActor::R)
            .init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, None)
            .inert(inert)
            .fault_prone(vec![Id::from(Q)])
            .faults(Faults {
                restarts: params.usize("crashes") as u8,
                ..Faults::default()
            })
            .property(Expectation::Always, "no-orphans", |_, s| {
                !r_delivered_m3(s) || q_delivered(s) == [true; 2]
            })
            .property(Expectation::Sometimes, "m3-delivered", |_, s| {
                r_delivered_m3(s)
            })
            .property(Expectation::Sometimes, "recovered-by-replay", |_, s| {
                s.1.restarts > 0 && r_delivered_m3(s) && q_delivered(s) == [true; 2]
            })
    }
}
