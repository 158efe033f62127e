//! `message-logging`: when to log messages so that a recovering process leaves no orphans.
//!
//! Lecture section: "Recovery: Message Logging".
//!
//! How it maps the lecture: execution is piecewise deterministic — each state interval of a
//! process starts with the delivery of a message and is deterministic from there — so a process
//! that logged every message it delivered can restart from its checkpoint and replay its log to
//! reach the same state again. `P` sends `m1` and `m2` to `Q`; after delivering both, `Q` sends
//! `m3` to `R`, which delivers it. `Q` may crash (`crashes`): it restarts from its checkpoint
//! (its initial state) and replays the messages in its log; a message it delivered but had not
//! logged is gone (the sender keeps no copy), and so is every state interval that followed it.
//! With receiver-based logging before delivery (the default) every delivered message is in the
//! log, and `Q`'s replay re-creates the state that sent `m3`. Variant `log-after-send`: `Q`
//! writes its log lazily and may send `m3` before `m2` is logged; a crash then leaves `R`
//! depending on an `m3` that `Q` can no longer produce — `R` is an orphan, the lecture's
//! example.
//!
//! `no-orphans`: whenever `R` has delivered `m3`, `Q`'s state (recovered or not) is one that
//! sent it: it has delivered `m1` and `m2`.

use ftcheck_protocol::{ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants};
use serde::Serialize;
use stateright::{Model, Property};
use std::fmt;

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MlState {
    /// `m1`, `m2` in flight from `P` to `Q`.
    #[serde(serialize_with = "names")]
    pub in_flight: [bool; 2],
    /// `Q` has delivered `m1`, `m2`.
    #[serde(serialize_with = "names")]
    pub delivered: [bool; 2],
    /// `Q`'s stable log holds `m1`, `m2`.
    #[serde(serialize_with = "names")]
    pub logged: [bool; 2],
    /// `Q` has sent `m3` (in its current state interval history).
    pub sent_m3: bool,
    /// `m3` in flight to `R`.
    pub m3_in_flight: bool,
    /// `R` has delivered `m3`.
    pub r_delivered_m3: bool,
    /// `Q`'s crashes so far.
    pub crashes: u8,
}

fn names<S: serde::Serializer>(xs: &[bool; 2], s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<&str> = ["m1", "m2"]
        .iter()
        .zip(xs)
        .filter(|(_, &x)| x)
        .map(|(n, _)| *n)
        .collect();
    names.serialize(s)
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `Q` delivers `m1` (0) or `m2` (1) — logging it first, unless logging is lazy.
    Deliver(u8),
    /// `Q` writes a delivered message to its log (lazy logging only).
    Log(u8),
    /// `Q` sends `m3` to `R`.
    SendM3,
    /// `R` delivers `m3`.
    DeliverM3,
    /// `Q` crashes, restarts from its checkpoint and replays its log.
    CrashQ,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Deliver(m) => write!(f, "Q delivers m{}", m + 1),
            Action::Log(m) => write!(f, "Q writes m{} to its log", m + 1),
            Action::SendM3 => write!(f, "Q sends m3 to R"),
            Action::DeliverM3 => write!(f, "R delivers m3"),
            Action::CrashQ => write!(
                f,
                "Q crashes, restarts from its checkpoint and replays its log"
            ),
        }
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct MessageLogging {
    /// `Q`'s crashes.
    pub crashes: usize,
    /// `Q` logs lazily (variant `log-after-send`).
    pub lazy: bool,
}

impl Model for MessageLogging {
    type State = MlState;
    type Action = Action;

    fn init_states(&self) -> Vec<MlState> {
        vec![MlState {
            in_flight: [true; 2],
            delivered: [false; 2],
            logged: [false; 2],
            sent_m3: false,
            m3_in_flight: false,
            r_delivered_m3: false,
            crashes: 0,
        }]
    }

    fn actions(&self, s: &MlState, actions: &mut Vec<Action>) {
        for m in 0..2u8 {
            if s.in_flight[m as usize] {
                actions.push(Action::Deliver(m));
            }
            if self.lazy && s.delivered[m as usize] && !s.logged[m as usize] {
                actions.push(Action::Log(m));
            }
        }
        if s.delivered == [true; 2] && !s.sent_m3 {
            actions.push(Action::SendM3);
        }
        if s.m3_in_flight && !s.r_delivered_m3 {
            actions.push(Action::DeliverM3);
        }
        if (s.crashes as usize) < self.crashes {
            actions.push(Action::CrashQ);
        }
    }

    fn next_state(&self, s: &MlState, action: Action) -> Option<MlState> {
        let mut next = s.clone();
        match action {
            Action::Deliver(m) => {
                next.in_flight[m as usize] = false;
                next.delivered[m as usize] = true;
                if !self.lazy {
                    next.logged[m as usize] = true;
                }
            }
            Action::Log(m) => next.logged[m as usize] = true,
            Action::SendM3 => {
                next.sent_m3 = true;
                next.m3_in_flight = true;
            }
            Action::DeliverM3 => next.r_delivered_m3 = true,
            Action::CrashQ => {
                next.crashes += 1;
                // Replay: exactly the logged deliveries, and what deterministically followed.
                next.delivered = s.logged;
                next.sent_m3 = s.sent_m3 && s.logged == [true; 2];
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("no-orphans", |_: &Self, s: &MlState| {
                !s.r_delivered_m3 || s.delivered == [true; 2]
            }),
            Property::sometimes("m3-delivered", |_: &Self, s: &MlState| s.r_delivered_m3),
            Property::sometimes("recovered-by-replay", |_: &Self, s: &MlState| {
                s.crashes > 0 && s.r_delivered_m3 && s.sent_m3
            }),
        ]
    }
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

impl Protocol for MessageLogging {
    type Model = MessageLogging;
    type Variant = Variant;
    const NAME: &'static str = "message-logging";
    const SUMMARY: &'static str =
        "P, Q, R: Q's crash and replay leave R an orphan unless Q logs before it delivers";
    const SECTION: &'static str = "Recovery: Message Logging";

    fn params() -> Vec<ParamSpec> {
        vec![ParamSpec {
            name: "crashes",
            help: "crashes of Q (each restarts from the checkpoint and replays the log)",
            kind: ParamKind::Int { min: 0, max: 2 },
            default: Value::Int(1),
        }]
    }

    fn build(params: &Params, variant: Option<Variant>) -> MessageLogging {
        MessageLogging {
            crashes: params.usize("crashes"),
            lazy: variant == Some(Variant::LogAfterSend),
        }
    }
}
