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
//! Where it abstracts: time is discrete; a step is a time unit passing (with the detection it
//! may trigger) or the arrival of a heartbeat; only the time since `P` last heard from `Q`
//! matters, not the heartbeats' individual delays.

use ftcheck_protocol::{
    Fairness, LeadsTo, NoVariants, ParamKind, ParamSpec, Params, Protocol, Value,
};
use serde::Serialize;
use stateright::{Model, Property};
use std::fmt;

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FdState {
    /// Time units since `P` last received a heartbeat.
    pub silence: u8,
    /// `P`'s current timeout.
    pub timeout: u8,
    /// `P` suspects `Q`.
    pub suspected: bool,
    /// `Q` has crashed.
    pub crashed: bool,
    /// A heartbeat sent before the crash may still arrive.
    pub late_heartbeat: bool,
    /// A suspicion was withdrawn at least once.
    pub withdrawn: bool,
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A time unit passes.
    Tick,
    /// A heartbeat of `Q` reaches `P`.
    Heartbeat,
    /// `Q` crashes.
    Crash,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Tick => "a time unit passes",
            Action::Heartbeat => "a heartbeat of Q reaches P",
            Action::Crash => "Q crashes",
        })
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct FailureDetector {
    /// Heartbeat delays are bounded.
    pub bounded: bool,
    /// The bound (bounded-delay mode).
    pub delay: u8,
    /// The initial timeout.
    pub timeout: u8,
    /// The largest timeout.
    pub max_timeout: u8,
}

impl Model for FailureDetector {
    type State = FdState;
    type Action = Action;

    fn init_states(&self) -> Vec<FdState> {
        vec![FdState {
            silence: 0,
            timeout: self.timeout,
            suspected: false,
            crashed: false,
            late_heartbeat: false,
            withdrawn: false,
        }]
    }

    fn actions(&self, s: &FdState, actions: &mut Vec<Action>) {
        // While Q is alive and delays are bounded, time cannot pass the bound without a
        // heartbeat arriving. The silence stops counting once it reached the timeout.
        let must_arrive = self.bounded && !s.crashed && s.silence >= self.delay;
        if !must_arrive && s.silence < s.timeout.max(self.delay) {
            actions.push(Action::Tick);
        }
        if !s.crashed || s.late_heartbeat {
            actions.push(Action::Heartbeat);
        }
        if !s.crashed {
            actions.push(Action::Crash);
        }
    }

    fn next_state(&self, s: &FdState, action: Action) -> Option<FdState> {
        let mut next = s.clone();
        match action {
            Action::Tick => {
                next.silence += 1;
                if next.silence >= s.timeout {
                    next.suspected = true;
                }
            }
            Action::Heartbeat => {
                next.silence = 0;
                if s.crashed {
                    next.late_heartbeat = false;
                }
                if s.suspected {
                    next.suspected = false;
                    next.withdrawn = true;
                    next.timeout = (s.timeout + 1).min(self.max_timeout);
                }
            }
            Action::Crash => {
                next.crashed = true;
                next.late_heartbeat = true;
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::sometimes("false-suspicion", |_: &Self, s: &FdState| {
                !s.crashed && s.suspected
            }),
            Property::sometimes("crash-suspected", |_: &Self, s: &FdState| {
                s.crashed && s.suspected
            }),
            Property::sometimes("suspicion-withdrawn", |_: &Self, s: &FdState| s.withdrawn),
            Property::eventually("strong-completeness", |_: &Self, s: &FdState| {
                s.crashed && s.suspected && !s.late_heartbeat
            }),
        ]
    }
}

impl Protocol for FailureDetector {
    type Model = FailureDetector;
    type Variant = NoVariants;
    const NAME: &'static str = "failure-detector";
    const SUMMARY: &'static str =
        "heartbeats and a growing timeout: false suspicions under asynchrony, none with bounded delay";
    const SECTION: &'static str = "Process Resilience: Failure Detection";
    const FAIRNESS: &'static str =
        "weak: time passes, a heartbeat in flight arrives; unfair: Q's crash";

    fn fairness(_: &FailureDetector, action: &Action) -> Fairness {
        match action {
            Action::Tick | Action::Heartbeat => Fairness::Weak,
            Action::Crash => Fairness::Unfair,
        }
    }

    fn leads_to() -> Vec<LeadsTo<FailureDetector>> {
        vec![LeadsTo {
            property: "strong-completeness",
            trigger: |_, s| s.crashed,
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

    fn build(params: &Params, _variant: Option<NoVariants>) -> FailureDetector {
        FailureDetector {
            bounded: params.choice("mode") == "bounded-delay",
            delay: params.usize("delay") as u8,
            timeout: params.usize("timeout") as u8,
            max_timeout: params.usize("max-timeout") as u8,
        }
    }
}
