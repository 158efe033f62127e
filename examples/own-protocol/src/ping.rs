//! A protocol written for this crate, not copied: clients ping one server over a network that
//! may lose messages, and retry on a timeout up to `max-pings` pings each. It is a plain
//! stateright `ActorModel` whose [`Protocol`](ftcheck::protocol::Protocol) entry declares
//! what stateright has no notion of, and which ftcheck forwards through `Guarded`: fairness
//! (deliveries and timeouts are weakly fair, losses unfair), a leads-to property, the bound
//! that can block a fair run (`max-pings`), and the clients' symmetry (stateright's own
//! `Representative` of the actor states).
//!
//! `every client answered` is checked from the first pong on (its leads-to trigger: once the
//! server has answered someone, every client is eventually answered).
//!
//! With a lossy network, a fair run loses every ping of a client, and the client stops once its
//! `max-pings` are spent: `every client answered` is then violated in the bounded model only
//! (`incomplete (bound: max-pings)`). Without losses it holds. The variant `no-retry` sets no
//! timer, so with two clients one lost ping leaves its client waiting forever while the other
//! is answered: a real violation. With one client it holds, as the lost ping was the only one
//! and no pong ever triggers the property.

use serde::Serialize;
use stateright::actor::{model_timeout, Actor, ActorModel, Id, LossyNetwork, Network, Out};
use stateright::{Expectation, Rewrite, RewritePlan};
use std::borrow::Cow;

/// A message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PingMsg {
    /// A client asks the server.
    Ping,
    /// The server answers.
    Pong,
}

/// An actor's state. The server's variant sorts first, so the one server stays actor 0 in
/// stateright's representative of a state (which sorts the actor states).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PingState {
    /// The server (it keeps nothing).
    Server,
    /// A client: the pings it has sent, and whether a pong came back.
    Client {
        /// Pings sent.
        sent: u8,
        /// A pong arrived.
        answered: bool,
    },
}

/// Neither messages nor states hold actor ids: symmetry leaves them as they are.
impl Rewrite<Id> for PingMsg {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        *self
    }
}

impl Rewrite<Id> for PingState {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

/// An actor.
#[derive(Clone)]
pub enum PingActor {
    /// Answers every ping with a pong.
    Server,
    /// Pings the server, and again on each timeout until `max_pings` are sent (if `retry`).
    Client {
        /// Pings a client sends at most.
        max_pings: u8,
        /// Whether a client retries on a timeout (the variant `no-retry` does not).
        retry: bool,
    },
}

/// The server's id: actor 0.
fn server() -> Id {
    Id::from(0)
}

impl Actor for PingActor {
    type Msg = PingMsg;
    type State = PingState;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> PingState {
        match self {
            PingActor::Server => PingState::Server,
            PingActor::Client { retry, .. } => {
                o.send(server(), PingMsg::Ping);
                if *retry {
                    o.set_timer((), model_timeout());
                }
                PingState::Client {
                    sent: 1,
                    answered: false,
                }
            }
        }
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<PingState>,
        src: Id,
        msg: PingMsg,
        o: &mut Out<Self>,
    ) {
        match (self, msg) {
            (PingActor::Server, PingMsg::Ping) => o.send(src, PingMsg::Pong),
            (PingActor::Client { .. }, PingMsg::Pong) => {
                if let PingState::Client { sent, answered } = **state {
                    if !answered {
                        *state.to_mut() = PingState::Client {
                            sent,
                            answered: true,
                        };
                        o.cancel_timer(());
                    }
                }
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<PingState>, _timer: &(), o: &mut Out<Self>) {
        let (PingActor::Client { max_pings, .. }, PingState::Client { sent, answered }) =
            (self, &**state)
        else {
            return;
        };
        if !answered && sent < max_pings {
            let sent = sent + 1;
            *state.to_mut() = PingState::Client {
                sent,
                answered: false,
            };
            o.send(server(), PingMsg::Ping);
            o.set_timer((), model_timeout());
        }
    }
}

/// The parameters.
#[derive(Clone, Debug)]
pub struct PingCfg {
    /// Clients (actors 1..=clients; the server is actor 0).
    pub clients: usize,
    /// Pings a client sends at most.
    pub max_pings: u8,
    /// Whether the network may lose a message.
    pub lossy: bool,
    /// Whether clients retry on a timeout.
    pub retry: bool,
}

/// Whether every client has its pong.
pub fn all_answered(state: &stateright::actor::ActorModelState<PingActor>) -> bool {
    state.actor_states.iter().all(|s| {
        !matches!(
            **s,
            PingState::Client {
                answered: false,
                ..
            }
        )
    })
}

impl PingCfg {
    /// The actor model, with its properties.
    pub fn into_model(self) -> ActorModel<PingActor, PingCfg> {
        let client = PingActor::Client {
            max_pings: self.max_pings,
            retry: self.retry,
        };
        ActorModel::new(self.clone(), ())
            .actor(PingActor::Server)
            .actors((0..self.clients).map(|_| client.clone()))
            .init_network(Network::new_unordered_nonduplicating([]))
            .lossy_network(if self.lossy {
                LossyNetwork::Yes
            } else {
                LossyNetwork::No
            })
            .property(Expectation::Always, "pings within max-pings", |m, s| {
                s.actor_states.iter().all(|a| match **a {
                    PingState::Client { sent, .. } => sent <= m.cfg.max_pings,
                    PingState::Server => true,
                })
            })
            .property(Expectation::Sometimes, "a client answered", |_, s| {
                s.actor_states
                    .iter()
                    .any(|a| matches!(**a, PingState::Client { answered: true, .. }))
            })
            .property(Expectation::Eventually, "every client answered", |_, s| {
                all_answered(s)
            })
    }
}
