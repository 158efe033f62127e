//! `reliable-multicast`: sequence numbers, a history buffer and negative acknowledgements.
//!
//! Lecture section: "Reliable Group Communication".
//!
//! How it maps the lecture: a sender multicasts `messages` messages to `receivers` receivers
//! over a network that loses and reorders packets. (1) The sender numbers each message and keeps
//! it in its history buffer; (2) it keeps a message there until every receiver has acknowledged
//! it; (3) a receiver that gets a message with a higher number than it expects knows it missed
//! one and sends a negative acknowledgement (NACK), and the sender retransmits from its history.
//! A receiver delivers in sequence order, holding early messages back. The sender also
//! retransmits a message a receiver has not acknowledged once nothing about it is in flight (its
//! timer: a lost last message has no later message to reveal the gap).
//!
//! Properties: `fifo-delivery` (each receiver delivers 1, 2, 3, … in order, without gaps or
//! duplicates), `history-until-all-acked` (the sender drops a message only after every receiver
//! acknowledged it); reachability `all-delivered`, `nack-repaired` (a gap was repaired by a NACK
//! and every message delivered), `history-emptied`; liveness `eventual-delivery` (every receiver
//! eventually delivers every message). Its fairness is the lecture's "fair loss": a packet sent
//! again and again eventually arrives — strong fairness of delivering each packet, ACK and NACK
//! (each is enabled infinitely often when retransmitted infinitely often, though losses disable
//! it in between) — plus weak fairness of the sender's next multicast and its retransmission
//! timer; a loss is never forced. It holds; `drop-after-first-ack` violates it. With
//! `delivery = weak` (weak fairness of deliveries) retransmitting and losing forever is a fair
//! run, and the counterexample is that loop. Variants: `drop-after-first-ack` (the sender
//! frees a message at its first acknowledgement: a receiver that lost it can never get it) and
//! `deliver-on-receipt` (a receiver delivers what arrives, in arrival order).
//!
//! How it is built: a sender actor and one actor per receiver. The sender's next multicast is
//! its `Multicast` timer; its retransmission of message `m` to `R_r` is the `Retransmit(m, r)`
//! timer, guarded to fire once nothing about `m` between them is in flight. The network holds
//! at most one copy of each packet (the kit's `single_copy`: a retransmission of a packet still
//! in flight changes nothing the receiver can observe) and may lose any packet any number of
//! times (the fault layer's unbounded omissions). Whether a NACK made the sender retransmit is a ghost variable kept by an
//! observer.
//!
//! Where it abstracts: acknowledgements and NACKs travel over the same lossy network.

use ftcheck_protocol::guarded::{
    soon, Faults, GuardedAction, GuardedActors, GuardedState, TimerGuard,
};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::{Expectation, Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt;

/// Most messages.
pub const MAX_MESSAGES: usize = 3;
/// Most receivers.
pub const MAX_RECEIVERS: usize = 3;

/// The sender's actor index (receiver `R_r`, counted from 0, is actor `r + 1`).
const SENDER: usize = 0;

fn seqs(mask: u8) -> Vec<u8> {
    (0..8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| i + 1)
        .collect()
}

/// A packet; `m` counts from 0 (message `m + 1`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg {
    /// Message `m + 1`, sender to receiver.
    Data(u8),
    /// Receiver to sender: delivered message `m + 1`.
    Ack(u8),
    /// Receiver to sender: missing message `m + 1`.
    Nack(u8),
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Data(m) => write!(f, "message {}", m + 1),
            Msg::Ack(m) => write!(f, "ACK {}", m + 1),
            Msg::Nack(m) => write!(f, "NACK {}", m + 1),
        }
    }
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        *self
    }
}

/// The sender's timers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Multicast the next message.
    Multicast,
    /// Retransmit message `m + 1` to the receiver that is actor `r`.
    Retransmit(u8, u8),
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Multicast => f.write_str("multicasts the next message"),
            Timer::Retransmit(m, r) => write!(f, "for message {} to R{}: retransmit", m + 1, r),
        }
    }
}

impl Rewrite<Id> for Timer {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match *self {
            Timer::Retransmit(m, r) => {
                Timer::Retransmit(m, usize::from(Id::from(usize::from(r)).rewrite(plan)) as u8)
            }
            t => t,
        }
    }
}

/// An actor's state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Local {
    /// The sender.
    Sender {
        /// Messages multicast so far (1..=sent).
        sent: u8,
        /// Its history buffer (bit per message).
        history: u8,
        /// Per message, the receivers whose acknowledgement it has (bit per actor id).
        acked: [u8; MAX_MESSAGES],
    },
    /// A receiver.
    Receiver {
        /// Messages received and held back (bit `i`: message `i + 1`).
        held: u8,
        /// Messages delivered, in delivery order.
        delivered: Vec<u8>,
    },
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Local::Sender {
                sent,
                history,
                acked,
            } => {
                write!(f, "sent {sent}, history {:?}", seqs(*history))?;
                for (m, a) in acked.iter().enumerate().filter(|(_, a)| **a != 0) {
                    let by: Vec<String> = seqs(*a).iter().map(|r| format!("R{}", r - 1)).collect();
                    write!(f, ", {} acked by [{}]", m + 1, by.join(", "))?;
                }
                Ok(())
            }
            Local::Receiver { held, delivered } => {
                write!(f, "delivered {delivered:?}")?;
                if *held != 0 {
                    write!(f, ", held back {:?}", seqs(*held))?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for Local {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

impl Rewrite<Id> for Local {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Local::Sender {
                sent,
                history,
                acked,
            } => {
                let mut renamed = [0u8; MAX_MESSAGES];
                for (m, a) in acked.iter().enumerate() {
                    for r in (0..8).filter(|r| a & (1 << r) != 0) {
                        renamed[m] |= 1 << usize::from(Id::from(r).rewrite(plan));
                    }
                }
                Local::Sender {
                    sent: *sent,
                    history: *history,
                    acked: renamed,
                }
            }
            receiver => receiver.clone(),
        }
    }
}

/// The run's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Messages.
    pub messages: usize,
    /// Receivers.
    pub receivers: usize,
    /// Deliveries only weakly fair: no fair loss.
    pub weak_delivery: bool,
    /// The broken variant, if any.
    pub variant: Option<Variant>,
}

impl Config {
    /// Every receiver, as bits of actor ids.
    fn all(&self) -> u8 {
        (((1u16 << self.receivers) - 1) << 1) as u8
    }
}

/// An actor: the sender, or receiver `R_r` (its number only names it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RmActor {
    /// The sender.
    Sender(Config),
    /// A receiver, `R_r`.
    Receiver(Config, usize),
}

impl Actor for RmActor {
    type Msg = Msg;
    type State = Local;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn name(&self) -> String {
        match self {
            RmActor::Sender(_) => "sender".into(),
            RmActor::Receiver(_, r) => format!("R{r}"),
        }
    }

    fn on_start(&self, _: Id, _: &Option<()>, o: &mut Out<Self>) -> Local {
        match self {
            RmActor::Sender(_) => {
                o.set_timer(Timer::Multicast, soon());
                Local::Sender {
                    sent: 0,
                    history: 0,
                    acked: [0; MAX_MESSAGES],
                }
            }
            RmActor::Receiver(..) => Local::Receiver {
                held: 0,
                delivered: Vec::new(),
            },
        }
    }

    fn on_msg(&self, _: Id, state: &mut Cow<Local>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match (self, &**state, msg) {
            (RmActor::Sender(cfg), Local::Sender { acked, .. }, Msg::Ack(m)) => {
                let r = usize::from(src);
                if acked[usize::from(m)] & (1 << r) != 0 {
                    return; // known already
                }
                let Local::Sender { history, acked, .. } = state.to_mut() else {
                    unreachable!()
                };
                acked[usize::from(m)] |= 1 << r;
                o.cancel_timer(Timer::Retransmit(m, r as u8));
                let done = match cfg.variant {
                    Some(Variant::DropAfterFirstAck) => true,
                    _ => acked[usize::from(m)] == cfg.all(),
                };
                if done && *history & (1 << m) != 0 {
                    *history &= !(1 << m);
                    for r in 1..=cfg.receivers {
                        o.cancel_timer(Timer::Retransmit(m, r as u8));
                    }
                }
            }
            (RmActor::Sender(_), Local::Sender { history, .. }, Msg::Nack(m))
                if history & (1 << m) != 0 =>
            {
                o.send(src, Msg::Data(m));
            }
            (RmActor::Receiver(cfg, _), Local::Receiver { held, delivered }, Msg::Data(m)) => {
                let (mut held, mut delivered) = (*held, delivered.clone());
                let seq = m + 1;
                if delivered.contains(&seq) {
                    o.send(src, Msg::Ack(m)); // a duplicate: acknowledge again
                    return;
                }
                if cfg.variant == Some(Variant::DeliverOnReceipt) {
                    delivered.push(seq);
                    o.send(src, Msg::Ack(m));
                } else {
                    held |= 1 << m;
                    // Deliver every message that is next in sequence.
                    loop {
                        let next = delivered.len() as u8;
                        if held & (1 << next) == 0 {
                            break;
                        }
                        held &= !(1 << next);
                        delivered.push(next + 1);
                        o.send(src, Msg::Ack(next));
                    }
                    // A message beyond the next one reveals the gap: NACK what is missing.
                    let next = delivered.len() as u8;
                    for gap in next..m {
                        if held & (1 << gap) == 0 {
                            o.send(src, Msg::Nack(gap));
                        }
                    }
                }
                *state.to_mut() = Local::Receiver { held, delivered };
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _: Id, state: &mut Cow<Local>, timer: &Timer, o: &mut Out<Self>) {
        let RmActor::Sender(cfg) = self else {
            return;
        };
        match *timer {
            Timer::Multicast => {
                let Local::Sender { sent, history, .. } = state.to_mut() else {
                    return;
                };
                let m = *sent;
                *sent += 1;
                *history |= 1 << m;
                for r in 1..=cfg.receivers {
                    o.send(Id::from(r), Msg::Data(m));
                    o.set_timer(Timer::Retransmit(m, r as u8), soon());
                }
                if usize::from(*sent) < cfg.messages {
                    o.set_timer(Timer::Multicast, soon());
                }
            }
            Timer::Retransmit(m, r) => {
                o.send(Id::from(usize::from(r)), Msg::Data(m));
                o.set_timer(*timer, soon());
            }
        }
    }
}

/// The ghost variable: a NACK made the sender retransmit.
pub type NackAnswered = bool;

/// The model.
pub type RmModel = GuardedActors<RmActor, Config, NackAnswered>;
/// A state of [`RmModel`].
pub type RmState = GuardedState<RmActor, NackAnswered>;

/// The sender's `(sent, history, acked)`.
fn sender(s: &ActorModelState<RmActor, NackAnswered>) -> (u8, u8, [u8; MAX_MESSAGES]) {
    match &*s.actor_states[SENDER] {
        Local::Sender {
            sent,
            history,
            acked,
        } => (*sent, *history, *acked),
        Local::Receiver { .. } => unreachable!("actor 0 is the sender"),
    }
}

/// Each receiver's delivered messages.
fn delivered(s: &ActorModelState<RmActor, NackAnswered>) -> impl Iterator<Item = &[u8]> + '_ {
    s.actor_states.iter().filter_map(|a| match &**a {
        Local::Receiver { delivered, .. } => Some(delivered.as_slice()),
        Local::Sender { .. } => None,
    })
}

/// The sender retransmits `m` to `r` once nothing about `m` between them is in flight, while
/// it keeps `m` and `r` has not acknowledged it.
fn timer_guard(_: &Config, s: &RmState, _: Id, timer: &Timer) -> bool {
    let Timer::Retransmit(m, r) = *timer else {
        return true;
    };
    let r = Id::from(usize::from(r));
    let (_, history, acked) = sender(s);
    let quiet = s.network.iter_deliverable().all(|e| {
        let about = matches!(*e.msg, Msg::Data(x) | Msg::Ack(x) | Msg::Nack(x) if x == m);
        !(about && (e.src == r || e.dst == r))
    });
    quiet && history & (1 << m) != 0 && acked[usize::from(m)] & (1 << usize::from(r)) == 0
}

/// A NACK answered: one fewer NACK in flight and one more packet.
fn observe(
    _: &Config,
    before: &ActorModelState<RmActor, NackAnswered>,
    after: &ActorModelState<RmActor, NackAnswered>,
) -> Option<NackAnswered> {
    if after.history {
        return None;
    }
    // NACKs and packets in flight (one copy of each: `single_copy`).
    let count = |s: &ActorModelState<RmActor, NackAnswered>| {
        s.network
            .iter_deliverable()
            .fold((0, 0), |(n, d), e| match e.msg {
                Msg::Nack(_) => (n + 1, d),
                Msg::Data(_) => (n, d + 1),
                Msg::Ack(_) => (n, d),
            })
    };
    let ((n0, d0), (n1, d1)) = (count(before), count(after));
    (n1 < n0 && d1 > d0).then_some(true)
}

/// An ACK the sender already has, a NACK for a message it freed, and a packet to a receiver
/// that delivered it when its ACK would be such an ACK, change nothing, ever.
fn inert(_: &Config, s: &ActorModelState<RmActor, NackAnswered>, e: Envelope<&Msg>) -> bool {
    let (sent, history, acked) = sender(s);
    let has_ack = |m: u8, r: Id| acked[usize::from(m)] & (1 << usize::from(r)) != 0;
    match *e.msg {
        Msg::Ack(m) => has_ack(m, e.src),
        Msg::Nack(m) => m < sent && history & (1 << m) == 0,
        Msg::Data(m) => match &*s.actor_states[usize::from(e.dst)] {
            Local::Receiver { delivered, .. } => delivered.contains(&(m + 1)) && has_ack(m, e.dst),
            Local::Sender { .. } => false,
        },
    }
}

/// The symmetry reduction: receivers are interchangeable; they are sorted by their view (what
/// they delivered and hold, their ACK bits at the sender, their mail), the sender kept first.
fn representative(s: &RmState) -> RmState {
    let mail = ftcheck_protocol::guarded::mail(s);
    let (_, _, acked) = sender(s);
    ftcheck_protocol::guarded::sorted_by_key(s, |i| {
        let column: Vec<bool> = acked.iter().map(|a| a & (1 << i) != 0).collect();
        let view = match &*s.actor_states[i] {
            Local::Receiver { held, delivered } => Some((*held, delivered.clone())),
            Local::Sender { .. } => None,
        };
        (i != SENDER, view, column, mail[i])
    })
}

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Free a message at its first acknowledgement.
    DropAfterFirstAck,
    /// Deliver on receipt, in arrival order.
    DeliverOnReceipt,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[
        (
            Variant::DropAfterFirstAck,
            VariantSpec {
                name: "drop-after-first-ack",
                summary: "the sender frees a message at its first acknowledgement: a receiver \
                          that lost it can never get it (history-until-all-acked; liveness)",
            },
        ),
        (
            Variant::DeliverOnReceipt,
            VariantSpec {
                name: "deliver-on-receipt",
                summary: "receivers deliver in arrival order (fifo-delivery)",
            },
        ),
    ];
}

/// `reliable-multicast` in the catalog.
pub struct ReliableMulticast;

impl Protocol for ReliableMulticast {
    type Model = RmModel;
    type Variant = Variant;
    const NAME: &'static str = "reliable-multicast";
    const SUMMARY: &'static str =
        "sequence numbers, a history buffer kept until every ACK, NACKs for gaps, over a lossy network";
    const SECTION: &'static str = "Reliable Group Communication";
    const FAIRNESS: &'static str = "strong (fair loss): each packet, ACK and NACK is delivered; \
         weak: the next multicast, a retransmission timer; unfair: losses";

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<RmModel>> {
        Some(representative)
    }

    fn fairness(m: &RmModel, action: &GuardedAction<Msg, Timer, ()>) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. }) if m.inner.cfg.weak_delivery => Fairness::Weak,
            Some(ActorModelAction::Deliver { .. }) => Fairness::Strong,
            Some(ActorModelAction::Timeout(..)) => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "messages",
                help: "messages the sender multicasts",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_MESSAGES as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "receivers",
                help: "receivers in the group",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_RECEIVERS as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "delivery",
                help: "fair-loss: a packet sent again and again is eventually delivered (strong \
                       fairness); weak: delivery is forced only while a packet stays in flight, \
                       so losing every retransmission is a fair run (liveness only)",
                kind: ParamKind::Choice {
                    options: &["fair-loss", "weak"],
                },
                default: Value::Choice("fair-loss"),
            },
        ]
    }

    fn build(params: &Params, variant: Option<Variant>) -> RmModel {
        let cfg = Config {
            messages: params.usize("messages"),
            receivers: params.usize("receivers"),
            weak_delivery: params.choice("delivery") == "weak",
            variant,
        };
        let mut actors = ActorModel::new(cfg, false).actor(RmActor::Sender(cfg));
        for r in 1..=cfg.receivers {
            actors = actors.actor(RmActor::Receiver(cfg, r));
        }
        let actors = actors.init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .inert(inert)
            .single_copy()
            .faults(Faults {
                omissions: Faults::UNBOUNDED,
                ..Faults::default()
            })
            .property(Expectation::Always, "fifo-delivery", |_, s| {
                delivered(s).all(|d| d.iter().enumerate().all(|(i, &m)| m as usize == i + 1))
            })
            .property(Expectation::Always, "history-until-all-acked", |m, s| {
                let (sent, history, acked) = sender(s);
                (0..sent)
                    .all(|i| history & (1 << i) != 0 || acked[usize::from(i)] == m.inner.cfg.all())
            })
            .property(Expectation::Sometimes, "all-delivered", |m, s| {
                delivered(s).all(|d| d.len() == m.inner.cfg.messages)
            })
            .property(Expectation::Sometimes, "nack-repaired", |m, s| {
                s.history && delivered(s).all(|d| d.len() == m.inner.cfg.messages)
            })
            .property(Expectation::Sometimes, "history-emptied", |m, s| {
                let (sent, history, _) = sender(s);
                usize::from(sent) == m.inner.cfg.messages && history == 0
            })
            .property(Expectation::Eventually, "eventual-delivery", |m, s| {
                delivered(s).all(|d| d.len() == m.inner.cfg.messages)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftcheck_protocol::permutations;

    /// Over the first 20,000 reachable states (breadth first) of three receivers and two
    /// messages: the representative is a symmetry (`check_symmetry`), the same for every
    /// renaming of the receivers.
    #[test]
    fn the_representative_is_a_symmetry() {
        let mut p = Params::default();
        for spec in ReliableMulticast::params() {
            p.0.insert(spec.name.into(), spec.default);
        }
        p.0.insert("receivers".into(), Value::Int(3));
        let m = ReliableMulticast::build(&p, None);
        let renamings = |s: &RmState| {
            permutations(3)
                .into_iter()
                .map(|p| {
                    let sort_by: Vec<u8> =
                        std::iter::once(0).chain(p.iter().map(|&r| r + 1)).collect();
                    ftcheck_protocol::guarded::permuted(s, &sort_by)
                })
                .collect()
        };
        assert_eq!(
            crate::check_symmetry::<ReliableMulticast>(&m, &renamings, 20_000),
            20_000
        );
    }
}
