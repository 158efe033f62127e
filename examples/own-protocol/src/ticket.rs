//! A ticket dispenser, written for this crate to try the actor kit's fault layer on a
//! protocol ftcheck did not write: one dispenser (actor 0) hands out tickets `0, 1, 2, …` to
//! clients, each of which asks for `asks` tickets when it starts. The dispenser keeps the next
//! ticket in its storage (`Out::save`), so a restart does not hand a ticket out twice — unless
//! the restart forgets it (amnesia). Channels are FIFO.
//!
//! Every kind of [`Faults`] is a parameter ([`Faults::params`]), and each breaks the property
//! the lecture's "Failure Models" say it breaks (checked in `tests/kit.rs`):
//!
//! | Fault | Property refuted |
//! |---|---|
//! | a lost message, a crash (no recovery), a cut link (healing or not) | `every client served` (a client waits forever) |
//! | a client's restart, or crash and recovery | `no more tickets than asked` (it asks again, and its first request is answered too: the lecture's orphan) |
//! | a forgotten `next` (amnesia) | `tickets unique` (ticket 0 handed out twice) |
//! | a duplicated request | `no more tickets than asked` |
//! | a ticket overtaking another (`asks=2`) | `tickets in order` |
//! | a Byzantine dispenser | `tickets unique` (it forges a ticket already handed out) |
//!
//! The dispenser's own restart from storage breaks nothing.

use ftcheck::protocol::guarded::{Durable, Faults, GuardedAction, GuardedActors};
use ftcheck::protocol::{Fairness, NoVariants, ParamSpec, Params, Protocol};
use serde::Serialize;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id, Network, Out};
use stateright::Expectation;
use std::borrow::Cow;

/// A message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TicketMsg {
    /// A client asks for a ticket.
    Request,
    /// The dispenser hands out a ticket.
    Ticket(u8),
}

/// An actor's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TicketState {
    /// The dispenser: the next ticket it hands out.
    Dispenser {
        /// The next ticket.
        next: u8,
    },
    /// A client: the distinct tickets it holds, in the order they arrived.
    Client {
        /// Tickets held.
        tickets: Vec<u8>,
    },
}

/// The dispenser's storage: what a restart keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TicketStore {
    /// The next ticket.
    pub next: u8,
}

/// An actor.
#[derive(Clone, Debug)]
pub enum TicketActor {
    /// The dispenser.
    Dispenser,
    /// A client asking for `asks` tickets.
    Client {
        /// Tickets it asks for.
        asks: u8,
    },
}

impl Actor for TicketActor {
    type Msg = TicketMsg;
    type State = TicketState;
    type Timer = ();
    type Random = ();
    type Storage = TicketStore;

    fn name(&self) -> String {
        match self {
            TicketActor::Dispenser => "dispenser".into(),
            TicketActor::Client { .. } => "client".into(),
        }
    }

    fn on_start(&self, _: Id, storage: &Option<TicketStore>, o: &mut Out<Self>) -> TicketState {
        match self {
            TicketActor::Dispenser => {
                let next = storage.map_or(0, |s| s.next);
                o.save(TicketStore { next });
                TicketState::Dispenser { next }
            }
            TicketActor::Client { asks } => {
                for _ in 0..*asks {
                    o.send(Id::from(0), TicketMsg::Request);
                }
                TicketState::Client {
                    tickets: Vec::new(),
                }
            }
        }
    }

    fn on_msg(
        &self,
        _: Id,
        state: &mut Cow<TicketState>,
        src: Id,
        msg: TicketMsg,
        o: &mut Out<Self>,
    ) {
        match (state.to_mut(), msg) {
            (TicketState::Dispenser { next }, TicketMsg::Request) => {
                o.send(src, TicketMsg::Ticket(*next));
                *next += 1;
                o.save(TicketStore { next: *next });
            }
            (TicketState::Client { tickets }, TicketMsg::Ticket(t)) if !tickets.contains(&t) => {
                tickets.push(t);
            }
            _ => {}
        }
    }
}

/// The clients' ticket lists.
fn held(state: &ActorModelState<TicketActor>) -> impl Iterator<Item = &Vec<u8>> {
    state.actor_states.iter().filter_map(|s| match &**s {
        TicketState::Client { tickets } => Some(tickets),
        TicketState::Dispenser { .. } => None,
    })
}

/// The configuration: clients, and tickets each asks for.
#[derive(Clone, Copy, Debug)]
pub struct TicketCfg {
    /// Clients.
    pub clients: usize,
    /// Tickets each client asks for.
    pub asks: u8,
}

impl TicketCfg {
    /// The actor model with its properties (no faults: [`Ticket`] adds the budget).
    pub fn into_model(self) -> ActorModel<TicketActor, TicketCfg> {
        ActorModel::new(self, ())
            .actor(TicketActor::Dispenser)
            .actors((0..self.clients).map(|_| TicketActor::Client { asks: self.asks }))
            .init_network(Network::new_ordered([]))
            .property(Expectation::Always, "tickets unique", |_, s| {
                let all: Vec<u8> = held(s).flatten().copied().collect();
                let mut distinct = all.clone();
                distinct.sort();
                distinct.dedup();
                distinct.len() == all.len()
            })
            .property(Expectation::Always, "tickets in order", |_, s| {
                held(s).all(|t| t.windows(2).all(|w| w[0] < w[1]))
            })
            .property(Expectation::Always, "no more tickets than asked", |m, s| {
                held(s).all(|t| t.len() <= m.cfg.asks as usize)
            })
            .property(Expectation::Sometimes, "a client holds a ticket", |_, s| {
                held(s).any(|t| !t.is_empty())
            })
            .property(Expectation::Eventually, "every client served", |m, s| {
                held(s).all(|t| t.len() >= m.cfg.asks as usize)
            })
    }
}

/// What a Byzantine actor may send: a dispenser, any ticket up to the number asked for in all
/// to any client; a client, a request while tickets remain (so the dispenser's count stays
/// bounded).
pub fn forge(
    cfg: &TicketCfg,
    state: &ActorModelState<TicketActor>,
    id: Id,
) -> Vec<(Id, TicketMsg)> {
    let total = cfg.clients as u8 * cfg.asks;
    if usize::from(id) == 0 {
        (1..=cfg.clients)
            .flat_map(|c| (0..total).map(move |t| (Id::from(c), TicketMsg::Ticket(t))))
            .collect()
    } else {
        match &*state.actor_states[0] {
            TicketState::Dispenser { next } if *next < total => {
                vec![(Id::from(0), TicketMsg::Request)]
            }
            _ => Vec::new(),
        }
    }
}

/// The ticket dispenser under a fault budget: every fault kind a parameter.
pub struct Ticket;

impl Protocol for Ticket {
    type Model = GuardedActors<TicketActor, TicketCfg, ()>;
    type Variant = NoVariants;
    const NAME: &'static str = "ticket";
    const SUMMARY: &'static str =
        "a dispenser hands out numbered tickets: each fault kind of the actor kit breaks it";
    const SECTION: &'static str = "own-protocol's src/ticket.rs";
    const FAIRNESS: &'static str =
        "deliveries and recoveries weakly fair; every fault (crash, loss, cut, ...) unfair";

    fn params() -> Vec<ParamSpec> {
        let mut params = vec![
            crate::int("clients", "clients of the one dispenser", 1, 3, 2),
            crate::int("asks", "tickets each client asks for", 1, 3, 1),
        ];
        params.extend(Faults::params(&Faults::COUNTS.map(|(name, _)| name), 2));
        params
    }

    fn build(params: &Params, _: Option<NoVariants>) -> Self::Model {
        GuardedActors::new(
            TicketCfg {
                clients: params.usize("clients"),
                asks: params.usize("asks") as u8,
            }
            .into_model(),
            None,
        )
        .durable(vec![Durable {
            name: "next",
            forget: |s| s.next = 0,
        }])
        .byzantine(forge)
        .faults(Faults::from_params(params))
    }

    fn fairness(_: &Self::Model, action: &GuardedAction<TicketMsg, (), ()>) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. } | ActorModelAction::Recover(_)) => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }
}
