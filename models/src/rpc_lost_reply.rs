//! `rpc-lost-reply`: a non-idempotent request retried after a lost reply.
//!
//! Lecture section: "RPC Semantics in the Presence of Failures: Lost Reply Messages".
//!
//! How it maps the lecture: a client asks a bank server to transfer money (not idempotent).
//! Requests and replies can be lost; the client's timer expires and it resends the request,
//! unable to tell a lost request from a crashed server or a lost reply (`retries` resends at
//! most). The lecture's remedy: the client numbers its requests and the server keeps, per
//! client, the most recent sequence number it carried out (and the reply to it), so a
//! retransmission is answered again without being carried out again. The server may crash and
//! restart (`crashes`); the transfer and its entry in the table are recorded together (one
//! durable write). `exactly-once`: the transfer is carried out at most once, and once the client
//! has its reply it was carried out. Variants: `no-dedup` (no sequence numbers: a retry after a
//! lost reply transfers twice) and `volatile-dedup` (the table is kept in memory and lost at a
//! crash: the retry after the restart transfers twice).
//!
//! Where it abstracts: one client and one request; the network holds counted copies of the
//! request and of the reply, each delivered or lost. The client's timer expires once nothing it
//! awaits can still arrive (the request or the reply was lost), as the guarded timers of
//! `two-phase-commit`; the client cannot tell which of the two it was.

use ftcheck_protocol::{ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants};
use serde::Serialize;
use stateright::{Model, Property};
use std::fmt;

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LrState {
    /// Requests the client has sent (the first and its retries).
    pub sent: u8,
    /// Copies of the request in the network.
    pub requests_in_flight: u8,
    /// Copies of the reply in the network.
    pub replies_in_flight: u8,
    /// The client has its reply.
    pub answered: bool,
    /// Times the server carried out the transfer.
    pub transfers: u8,
    /// The server's table: the request's sequence number is recorded as carried out.
    pub recorded: bool,
    /// Crashes so far.
    pub crashes: u8,
    /// A reply was lost (for the reachability property).
    pub reply_lost: bool,
    /// The client resent after a reply was lost.
    pub retried_after_lost_reply: bool,
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The client sends the request.
    Send,
    /// The client's timer expires and it resends the request.
    Resend,
    /// A request reaches the server.
    DeliverRequest,
    /// A request is lost.
    LoseRequest,
    /// The reply reaches the client.
    DeliverReply,
    /// A reply is lost.
    LoseReply,
    /// The server crashes and restarts.
    Crash,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Send => "client sends TRANSFER #1",
            Action::Resend => "client's timer expires: it resends TRANSFER #1",
            Action::DeliverRequest => "TRANSFER #1 reaches the server",
            Action::LoseRequest => "TRANSFER #1 is lost",
            Action::DeliverReply => "the reply reaches the client",
            Action::LoseReply => "the reply is lost",
            Action::Crash => "server crashes and restarts",
        })
    }
}

/// How the server recognises retransmissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedup {
    /// A durable table of sequence numbers.
    Durable,
    /// None: every request is carried out.
    None,
    /// A table in memory, lost at a crash.
    Volatile,
}

/// The model.
#[derive(Clone, Debug)]
pub struct RpcLostReply {
    /// Resends after the first request.
    pub retries: usize,
    /// Server crashes.
    pub crashes: usize,
    /// The server's duplicate detection.
    pub dedup: Dedup,
}

impl Model for RpcLostReply {
    type State = LrState;
    type Action = Action;

    fn init_states(&self) -> Vec<LrState> {
        vec![LrState {
            sent: 0,
            requests_in_flight: 0,
            replies_in_flight: 0,
            answered: false,
            transfers: 0,
            recorded: false,
            crashes: 0,
            reply_lost: false,
            retried_after_lost_reply: false,
        }]
    }

    fn actions(&self, s: &LrState, actions: &mut Vec<Action>) {
        if s.sent == 0 {
            actions.push(Action::Send);
        } else if !s.answered
            && (s.sent as usize) <= self.retries
            && s.requests_in_flight == 0
            && s.replies_in_flight == 0
        {
            actions.push(Action::Resend);
        }
        if s.requests_in_flight > 0 {
            actions.push(Action::DeliverRequest);
            actions.push(Action::LoseRequest);
        }
        if s.replies_in_flight > 0 {
            if !s.answered {
                actions.push(Action::DeliverReply);
            }
            actions.push(Action::LoseReply);
        }
        if (s.crashes as usize) < self.crashes {
            actions.push(Action::Crash);
        }
    }

    fn next_state(&self, s: &LrState, action: Action) -> Option<LrState> {
        let mut next = s.clone();
        match action {
            Action::Send | Action::Resend => {
                next.retried_after_lost_reply |= s.reply_lost;
                next.sent += 1;
                next.requests_in_flight += 1;
            }
            Action::DeliverRequest => {
                next.requests_in_flight -= 1;
                if !(s.recorded && self.dedup != Dedup::None) {
                    next.transfers += 1;
                    next.recorded = true;
                }
                next.replies_in_flight += 1;
            }
            Action::LoseRequest => next.requests_in_flight -= 1,
            Action::DeliverReply => {
                next.replies_in_flight -= 1;
                next.answered = true;
            }
            Action::LoseReply => {
                next.replies_in_flight -= 1;
                next.reply_lost = true;
            }
            Action::Crash => {
                next.crashes += 1;
                if self.dedup == Dedup::Volatile {
                    next.recorded = false;
                }
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("exactly-once", |_: &Self, s: &LrState| {
                s.transfers <= 1 && (!s.answered || s.transfers == 1)
            }),
            Property::sometimes("retried-after-lost-reply", |_: &Self, s: &LrState| {
                s.retried_after_lost_reply && s.answered
            }),
            Property::sometimes("answered", |_: &Self, s: &LrState| s.answered),
        ]
    }
}

/// The deliberately broken variants (see [`Variants::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `no-dedup`.
    NoDedup,
    /// `volatile-dedup`.
    VolatileDedup,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[
        (
            Variant::NoDedup,
            VariantSpec {
                name: "no-dedup",
                summary: "no sequence numbers: a retry after a lost reply transfers the money \
                          again (exactly-once)",
            },
        ),
        (
            Variant::VolatileDedup,
            VariantSpec {
                name: "volatile-dedup",
                summary: "the table of sequence numbers is lost at a crash: the retry after the \
                          restart transfers again (exactly-once)",
            },
        ),
    ];
}

impl Protocol for RpcLostReply {
    type Model = RpcLostReply;
    type Variant = Variant;
    const NAME: &'static str = "rpc-lost-reply";
    const SUMMARY: &'static str =
        "a money transfer retried after a lost reply: sequence numbers and a durable table make it exactly once";
    const SECTION: &'static str = "RPC Semantics in the Presence of Failures: Lost Reply Messages";

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "retries",
                help: "times the client resends the request when its timer expires",
                kind: ParamKind::Int { min: 0, max: 4 },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "crashes",
                help: "server crashes (each followed by a restart)",
                kind: ParamKind::Int { min: 0, max: 2 },
                default: Value::Int(1),
            },
        ]
    }

    fn build(params: &Params, variant: Option<Variant>) -> RpcLostReply {
        RpcLostReply {
            retries: params.usize("retries"),
            crashes: params.usize("crashes"),
            dedup: match variant {
                Some(Variant::NoDedup) => Dedup::None,
                Some(Variant::VolatileDedup) => Dedup::Volatile,
                _ => Dedup::Durable,
            },
        }
    }
}
impl ftcheck_protocol::Lanes for RpcLostReply {
    fn lanes(&self) -> Vec<String> {
        vec!["client".into(), "server".into()]
    }

    fn lane_step(&self, _: &LrState, action: &Action) -> ftcheck_protocol::LaneStep {
        use ftcheck_protocol::LaneStep;
        let client = || "client".to_string();
        let server = || "server".to_string();
        let transfer = || "TRANSFER #1".to_string();
        let reply = || "reply".to_string();
        match action {
            Action::Send => LaneStep::Local {
                at: client(),
                detail: "sends TRANSFER #1".into(),
            },
            Action::Resend => LaneStep::Timeout {
                at: client(),
                detail: "resends TRANSFER #1".into(),
            },
            Action::DeliverRequest => LaneStep::Deliver {
                from: client(),
                to: server(),
                msg: transfer(),
            },
            Action::LoseRequest => LaneStep::Drop {
                from: client(),
                to: server(),
                msg: transfer(),
            },
            Action::DeliverReply => LaneStep::Deliver {
                from: server(),
                to: client(),
                msg: reply(),
            },
            Action::LoseReply => LaneStep::Drop {
                from: server(),
                to: client(),
                msg: reply(),
            },
            Action::Crash => LaneStep::Recover { at: server() },
        }
    }
}
