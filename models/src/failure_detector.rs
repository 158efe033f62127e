//! `failure-detector`: heartbeats, timeouts, and why suspicion is not knowledge.
//!
//! Lecture section: "Process Resilience: Failure Detection".
//!
//! How it maps the lecture: `P` monitors `Q`, which sends a heartbeat every time unit while it
//! is alive. If `P` receives no heartbeat within `t` time units it suspects `Q`; if a heartbeat
//! arrives later, `P` stops suspecting `Q` and increases `t` by one (up to `max-timeout`). `Q`
//! may crash (once); a heartbeat already on its way may still arrive afterwards. With
//! `mode = bounded-delay` (the synchronous system) a heartbeat reaches `P` at most `delay` time
//! units after the previous one while `Q` is alive; with `mode = asynchronous` there is no bound.
//!
//! `false-suspicion` (a live `Q` suspected) is reachable under asynchrony (the default) — reliable
//! detection is impossible without bounds — and unreachable with bounded delay when
//! `timeout > delay`: the lecture's "in a synchronous system a suspected crash is a known crash"
//! (with a timeout at or below the delay bound it is reachable again). `crash-suspected`: a
//! crashed `Q` is suspected; `suspicion-withdrawn`: a late heartbeat ends a suspicion and raises
//! the timeout. The liveness `strong-completeness`: once `Q` has crashed, `P` eventually
//! suspects it for good (suspected, with no heartbeat left that could withdraw the suspicion) —
//! `crashed` leads-to that, under weak fairness of time passing and of a heartbeat in flight
//! arriving; the crash itself is never forced. It holds in both modes.
//!
//! How it is built: two actors. `P`'s `Tick` timer is a time unit passing (with the detection
//! it may trigger). `Q` sends a heartbeat when it starts and, by its `Beat` timer, again
//! whenever none is in flight: one heartbeat on its way at a time, delivered whenever the
//! network chooses (its delay). `Q`'s crash is the fault layer's crash-stop; the heartbeat it
//! had in flight, if any, is the late one. In bounded-delay mode `P`'s clock is guarded: while
//! `Q` is alive no time unit passes once the silence reached the bound (the heartbeat arrives
//! first). Whether a suspicion was withdrawn is a ghost variable kept by an observer.
//!
//! Where it abstracts: time is discrete; a step is a time unit passing, the arrival of a
//! heartbeat or `Q` sending the next one; only the time since `P` last heard from `Q` matters,
//! not the heartbeats' individual delays.

use ftcheck_protocol::guarded::{
    soon, Faults, GuardedAction, GuardedActors, GuardedState, TimerGuard,
};
use ftcheck_protocol::{
    Fairness, LeadsTo, NoVariants, ParamKind, ParamSpec, Params, Protocol, Value,
};
use serde::Serialize;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id, Network, Out};
use stateright::Expectation;
use std::borrow::Cow;
use std::fmt;

/// `P`'s and `Q`'s actor indexes.
const P: usize = 0;
const Q: usize = 1;

/// The only message: `Q`'s heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Heartbeat;

impl Serialize for Heartbeat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("HEARTBEAT")
    }
}

/// The timers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// `P`: a time unit passes.
    Tick,
    /// `Q`: sends its next heartbeat.
    Beat,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timer::Tick => "a time unit passes",
            Timer::Beat => "sends a heartbeat",
        })
    }
}

/// An actor's state: `P`'s view of `Q` (`Q` keeps none).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Local {
    /// `P`.
    P {
        /// Time units since it last received a heartbeat.
        silence: u8,
        /// Its current timeout.
        timeout: u8,
        /// It suspects `Q`.
        suspected: bool,
    },
    /// `Q`.
    Q,
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Local::P {
                silence,
                timeout,
                suspected,
            } => {
                write!(f, "silence {silence}, timeout {timeout}")?;
                if *suspected {
                    f.write_str(", suspects Q")?;
                }
                Ok(())
            }
            Local::Q => f.write_str("alive"),
        }
    }
}

/// The run's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Heartbeat delays are bounded.
    pub bounded: bool,
    /// The bound (bounded-delay mode).
    pub delay: u8,
    /// The initial timeout.
    pub timeout: u8,
    /// The largest timeout.
    pub max_timeout: u8,
}

/// An actor: the monitor `P` or the monitored `Q`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FdActor {
    /// `P`.
    P(Config),
    /// `Q`.
    Q,
}

impl Actor for FdActor {
    type Msg = Heartbeat;
    type State = Local;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn name(&self) -> String {
        match self {
            FdActor::P(_) => "P",
            FdActor::Q => "Q",
        }
        .into()
    }

    fn on_start(&self, _id: Id, _: &Option<()>, o: &mut Out<Self>) -> Local {
        match self {
            FdActor::P(cfg) => {
                o.set_timer(Timer::Tick, soon());
                Local::P {
                    silence: 0,
                    timeout: cfg.timeout,
                    suspected: false,
                }
            }
            FdActor::Q => {
                o.send(Id::from(P), Heartbeat);
                o.set_timer(Timer::Beat, soon());
                Local::Q
            }
        }
    }

    fn on_msg(&self, _: Id, state: &mut Cow<Local>, _: Id, _: Heartbeat, _: &mut Out<Self>) {
        if let (
            FdActor::P(cfg),
            Local::P {
                timeout, suspected, ..
            },
        ) = (self, **state)
        {
            *state.to_mut() = Local::P {
                silence: 0,
                // A late heartbeat ends a suspicion and raises the timeout.
                timeout: if suspected {
                    (timeout + 1).min(cfg.max_timeout)
                } else {
                    timeout
                },
                suspected: false,
            };
        }
    }

    fn on_timeout(&self, _: Id, state: &mut Cow<Local>, timer: &Timer, o: &mut Out<Self>) {
        match (timer, **state) {
            (
                Timer::Tick,
                Local::P {
                    silence,
                    timeout,
                    suspected,
                },
            ) => {
                *state.to_mut() = Local::P {
                    silence: silence + 1,
                    timeout,
                    suspected: suspected || silence + 1 >= timeout,
                };
            }
            (Timer::Beat, _) => o.send(Id::from(P), Heartbeat),
            _ => {}
        }
        o.set_timer(*timer, soon());
    }
}

/// The ghost variable: a suspicion was withdrawn at least once.
pub type Withdrawn = bool;

/// The model.
pub type FdModel = GuardedActors<FdActor, Config, Withdrawn>;
/// A state of [`FdModel`].
pub type FdState = GuardedState<FdActor, Withdrawn>;

/// `P`'s `(silence, timeout, suspected)`.
fn monitor(s: &ActorModelState<FdActor, Withdrawn>) -> (u8, u8, bool) {
    match *s.actor_states[P] {
        Local::P {
            silence,
            timeout,
            suspected,
        } => (silence, timeout, suspected),
        Local::Q => unreachable!("actor 0 is P"),
    }
}

fn in_flight(s: &ActorModelState<FdActor, Withdrawn>) -> bool {
    s.network.iter_deliverable().next().is_some()
}

/// `P`'s clock stops counting once the silence reached the timeout (and the delay bound), and
/// in bounded-delay mode it cannot pass the bound while `Q` is alive: the heartbeat arrives
/// first. `Q` sends when no heartbeat of its own is on its way.
fn timer_guard(cfg: &Config, s: &FdState, _: Id, timer: &Timer) -> bool {
    match timer {
        Timer::Tick => {
            let (silence, timeout, _) = monitor(s);
            let must_arrive = cfg.bounded && !s.crashed[Q] && silence >= cfg.delay;
            !must_arrive && silence < timeout.max(cfg.delay)
        }
        Timer::Beat => !in_flight(s),
    }
}

/// A suspicion withdrawn: `P` stopped suspecting.
fn observe(
    _: &Config,
    before: &ActorModelState<FdActor, Withdrawn>,
    after: &ActorModelState<FdActor, Withdrawn>,
) -> Option<Withdrawn> {
    (!after.history && monitor(before).2 && !monitor(after).2).then_some(true)
}

/// `failure-detector` in the catalog.
pub struct FailureDetector;

impl Protocol for FailureDetector {
    type Model = FdModel;
    type Variant = NoVariants;
    const NAME: &'static str = "failure-detector";
    const SUMMARY: &'static str =
        "heartbeats and a growing timeout: false suspicions under asynchrony, none with bounded delay";
    const SECTION: &'static str = "Process Resilience: Failure Detection";
    const FAIRNESS: &'static str =
        "weak: time passes, Q sends its heartbeat, a heartbeat in flight arrives; unfair: Q's crash";

    fn fairness(_: &FdModel, action: &GuardedAction<Heartbeat, Timer, ()>) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..)) => {
                Fairness::Weak
            }
            _ => Fairness::Unfair,
        }
    }

    fn leads_to() -> Vec<LeadsTo<FdModel>> {
        vec![LeadsTo {
            property: "strong-completeness",
            trigger: |_, s| s.crashed[Q],
        }]
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "mode",
                help: "bounded-delay (synchronous: heartbeats at most `delay` apart while Q is \
                       alive) or asynchronous (no bound)",
                kind: ParamKind::Choice {
                    options: &["bounded-delay", "asynchronous"],
                },
                default: Value::Choice("asynchronous"),
            },
            ParamSpec {
                name: "delay",
                help: "the bound on the gap between heartbeats (bounded-delay mode)",
                kind: ParamKind::Int { min: 1, max: 6 },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "timeout",
                help: "P's initial timeout t",
                kind: ParamKind::Int { min: 1, max: 6 },
                default: Value::Int(3),
            },
            ParamSpec {
                name: "max-timeout",
                help: "the largest timeout P raises t to",
                kind: ParamKind::Int { min: 1, max: 8 },
                default: Value::Int(5),
            },
        ]
    }

    fn validate(params: &Params) -> Result<(), String> {
        let (t, max) = (params.usize("timeout"), params.usize("max-timeout"));
        if max < t {
            return Err(format!(
                "max-timeout={max} is below timeout={t}; give max-timeout of at least {t}"
            ));
        }
        Ok(())
    }

    fn build(params: &Params, _variant: Option<NoVariants>) -> FdModel {
        let cfg = Config {
            bounded: params.choice("mode") == "bounded-delay",
            delay: params.usize("delay") as u8,
            timeout: params.usize("timeout") as u8,
            max_timeout: params.usize("max-timeout") as u8,
        };
        let actors = ActorModel::new(cfg, false)
            .actor(FdActor::P(cfg))
            .actor(FdActor::Q)
            .init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .fault_prone(vec![Id::from(Q)])
            .faults(Faults {
                crashes: 1,
                ..Faults::default()
            })
            .property(Expectation::Sometimes, "false-suspicion", |_, s| {
                !s.crashed[Q] && monitor(s).2
            })
            .property(Expectation::Sometimes, "crash-suspected", |_, s| {
                s.crashed[Q] && monitor(s).2
            })
            .property(Expectation::Sometimes, "suspicion-withdrawn", |_, s| {
                s.history
            })
            .property(Expectation::Eventually, "strong-completeness", |_, s| {
                s.crashed[Q] && monitor(s).2 && !in_flight(s)
            })
    }
}
