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
//! Where it abstracts: one client and one request. Two actors: the client and the server. The
//! network is a multiset (counted copies of the request and of the reply), and it may lose any
//! message any number of times (the fault layer's unbounded omissions); a server crash is the
//! fault layer's restart (crash and recovery from storage in one step). The client's timer
//! expires once nothing it awaits can still arrive (the request or the reply was lost), as the
//! guarded timers of `two-phase-commit`; the client cannot tell which of the two it was. Its
//! first request is the same timer's first expiry, so sending is a step of its own.
//!
//! Ghost variables, kept by an observer of steps and not by the actors: whether a reply was
//! lost, and whether the client resent after that (for `retried-after-lost-reply`).

use ftcheck_protocol::guarded::{soon, Faults, GuardedActors, GuardedState, TimerGuard};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::Serialize;
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::Expectation;
use std::borrow::Cow;
use std::fmt;

/// The client's actor index.
const CLIENT: usize = 0;
/// The server's actor index.
const SERVER: usize = 1;

/// A message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg {
    /// The client's request, numbered 1 (the only one).
    Transfer,
    /// The server's reply to it.
    Reply,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Msg::Transfer => "TRANSFER #1",
            Msg::Reply => "reply",
        })
    }
}

/// The client's only timer: its first expiry sends the request, every later one resends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Send (or resend) `TRANSFER #1`.
    Request,
}

/// An actor's state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Local {
    /// The client.
    Client {
        /// Requests sent so far (the first and its retries).
        sent: u8,
        /// It has its reply.
        answered: bool,
    },
    /// The server.
    Server(Account),
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Local::Client { sent, answered } => {
                write!(f, "sent {sent}")?;
                if *answered {
                    f.write_str(", answered")?;
                }
                Ok(())
            }
            Local::Server(a) => write!(
                f,
                "{} transfer(s), #1 {}recorded",
                a.transfers,
                if a.recorded { "" } else { "not " }
            ),
        }
    }
}

/// The server's account and its table of sequence numbers carried out (its storage as well,
/// written in one durable write with the transfer; with a volatile table only `transfers` is
/// durable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Account {
    /// Times the transfer was carried out.
    pub transfers: u8,
    /// The table records request #1 as carried out.
    pub recorded: bool,
}

/// How the server recognises retransmissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dedup {
    /// A durable table of sequence numbers.
    Durable,
    /// None: every request is carried out.
    None,
    /// A table in memory, lost at a crash.
    Volatile,
}

/// The bounds and switches of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Resends after the first request.
    pub retries: u8,
    /// The server's duplicate detection.
    pub dedup: Dedup,
}

/// An actor: the client or the server, each knowing the run's [`Config`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LrActor {
    /// The client.
    Client(Config),
    /// The server.
    Server(Config),
}

impl Actor for LrActor {
    type Msg = Msg;
    type State = Local;
    type Timer = Timer;
    type Random = ();
    type Storage = Account;

    fn name(&self) -> String {
        match self {
            LrActor::Client(_) => "client".into(),
            LrActor::Server(_) => "server".into(),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Account>, o: &mut Out<Self>) -> Local {
        match self {
            LrActor::Client(_) => {
                o.set_timer(Timer::Request, soon());
                Local::Client {
                    sent: 0,
                    answered: false,
                }
            }
            LrActor::Server(cfg) => {
                let stored = storage.unwrap_or_default();
                Local::Server(Account {
                    transfers: stored.transfers,
                    recorded: stored.recorded && cfg.dedup == Dedup::Durable,
                })
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Local>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match (self, **state, msg) {
            (
                LrActor::Client(_),
                Local::Client {
                    sent,
                    answered: false,
                },
                Msg::Reply,
            ) => {
                o.cancel_timer(Timer::Request);
                *state.to_mut() = Local::Client {
                    sent,
                    answered: true,
                };
            }
            (LrActor::Server(cfg), Local::Server(mut a), Msg::Transfer) => {
                if !(a.recorded && cfg.dedup != Dedup::None) {
                    a.transfers += 1;
                    a.recorded = true;
                    o.save(Account {
                        recorded: cfg.dedup == Dedup::Durable,
                        ..a
                    });
                    *state.to_mut() = Local::Server(a);
                }
                o.send(src, Msg::Reply);
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<Local>, _: &Timer, o: &mut Out<Self>) {
        if let (LrActor::Client(cfg), Local::Client { sent, answered }) = (self, **state) {
            o.send(Id::from(SERVER), Msg::Transfer);
            if sent < cfg.retries {
                o.set_timer(Timer::Request, soon());
            }
            *state.to_mut() = Local::Client {
                sent: sent + 1,
                answered,
            };
        }
    }
}

/// Ghost variables, kept by the observer of steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Ghost {
    /// A reply was lost.
    pub reply_lost: bool,
    /// The client resent after a reply was lost.
    pub retried_after_lost_reply: bool,
}

/// The model: the client and the server under the fault layer.
pub type LrModel = GuardedActors<LrActor, Config, Ghost>;
/// A state of [`LrModel`].
pub type LrState = GuardedState<LrActor, Ghost>;

fn client(s: &ActorModelState<LrActor, Ghost>) -> (u8, bool) {
    match *s.actor_states[CLIENT] {
        Local::Client { sent, answered } => (sent, answered),
        Local::Server(_) => unreachable!("actor 0 is the client"),
    }
}

fn account(s: &ActorModelState<LrActor, Ghost>) -> Account {
    match *s.actor_states[SERVER] {
        Local::Server(a) => a,
        Local::Client { .. } => unreachable!("actor 1 is the server"),
    }
}

fn replies(s: &ActorModelState<LrActor, Ghost>) -> usize {
    ftcheck_protocol::guarded::in_flight(&s.network)
        .iter()
        .filter(|e| *e.msg == Msg::Reply)
        .count()
}

/// The client's timer expires for its first request, and then only once nothing it awaits can
/// still arrive: no request and no reply in flight.
fn timer_guard(_: &Config, s: &LrState, _: Id, _: &Timer) -> bool {
    client(s).0 == 0 || s.network.iter_deliverable().next().is_none()
}

/// A reply lost: one fewer in flight while the client's state stayed (a delivered reply
/// answers it). A resend after that.
fn observe(
    _: &Config,
    before: &ActorModelState<LrActor, Ghost>,
    after: &ActorModelState<LrActor, Ghost>,
) -> Option<Ghost> {
    let (c0, c1) = (client(before), client(after));
    let mut ghost = after.history;
    ghost.reply_lost |= c0 == c1 && replies(after) < replies(before);
    ghost.retried_after_lost_reply |= before.history.reply_lost && c1.0 > c0.0;
    (ghost != after.history).then_some(ghost)
}

/// A reply to a client that has one changes nothing, ever.
fn inert(_: &Config, s: &ActorModelState<LrActor, Ghost>, e: Envelope<&Msg>) -> bool {
    *e.msg == Msg::Reply && client(s).1
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

/// `rpc-lost-reply` in the catalog.
pub struct RpcLostReply;

impl Protocol for RpcLostReply {
    type Model = LrModel;
    type Variant = Variant;
    const NAME: &'static str = "rpc-lost-reply";
    const SUMMARY: &'static str =
        "a money transfer retried after a lost reply: sequence numbers and a durable table make it exactly once";
    const SECTION: &'static str = "RPC Semantics in the Presence of Failures: Lost Reply Messages";
    const FAIRNESS: &'static str =
        "weak: delivering each message, the client's timer; unfair: losses and server crashes";

    fn fairness(_: &LrModel, action: &<LrModel as stateright::Model>::Action) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..)) => {
                Fairness::Weak
            }
            _ => Fairness::Unfair,
        }
    }

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

    fn build(params: &Params, variant: Option<Variant>) -> LrModel {
        let cfg = Config {
            retries: params.usize("retries") as u8,
            dedup: match variant {
                Some(Variant::NoDedup) => Dedup::None,
                Some(Variant::VolatileDedup) => Dedup::Volatile,
                None => Dedup::Durable,
            },
        };
        let actors = ActorModel::new(cfg, Ghost::default())
            .actor(LrActor::Client(cfg))
            .actor(LrActor::Server(cfg))
            .init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .inert(inert)
            .fault_prone(vec![Id::from(SERVER)])
            .faults(Faults {
                restarts: params.usize("crashes") as u8,
                omissions: Faults::UNBOUNDED,
                ..Faults::default()
            })
            .property(Expectation::Always, "exactly-once", |_, s| {
                let a = account(s);
                a.transfers <= 1 && (!client(s).1 || a.transfers == 1)
            })
            .property(
                Expectation::Sometimes,
                "retried-after-lost-reply",
                |_, s| s.history.retried_after_lost_reply && client(s).1,
            )
            .property(Expectation::Sometimes, "answered", |_, s| client(s).1)
    }
}
