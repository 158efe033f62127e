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
//! Where it abstracts: at most one copy of each packet per receiver is in flight (a retransmission
//! of a packet still in flight changes nothing the receiver can observe); acknowledgements and
//! NACKs travel over the same lossy network.

use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::fmt;

/// Most messages.
pub const MAX_MESSAGES: usize = 3;
/// Most receivers.
pub const MAX_RECEIVERS: usize = 3;

/// One receiver's view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Receiver {
    /// Messages received and held back (bit `i`: message `i + 1`).
    pub held: u8,
    /// Messages delivered, in delivery order.
    pub delivered: Vec<u8>,
    /// Packets in flight to it (bit per message).
    pub packets: u8,
    /// Its acknowledgements in flight (bit per message).
    pub acks: u8,
    /// Its NACKs in flight (bit per message).
    pub nacks: u8,
}

fn seqs(mask: u8) -> Vec<u8> {
    (0..8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| i + 1)
        .collect()
}

impl Serialize for Receiver {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("delivered", &self.delivered)?;
        for (k, v) in [
            ("held back", self.held),
            ("packets in flight", self.packets),
            ("ACKs in flight", self.acks),
            ("NACKs in flight", self.nacks),
        ] {
            if v != 0 {
                map.serialize_entry(k, &seqs(v))?;
            }
        }
        map.end()
    }
}

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RmState {
    /// Messages multicast so far (1..=sent).
    pub sent: u8,
    /// The sender's history buffer (bit per message).
    pub history: u8,
    /// Per message, the receivers whose acknowledgement the sender has (bit per receiver).
    pub acked: [u8; MAX_MESSAGES],
    /// The receivers.
    pub receivers: Vec<Receiver>,
    /// A NACK made the sender retransmit.
    pub nack_answered: bool,
}

/// The symmetry reduction: receivers are interchangeable and no state refers to a receiver
/// by number except the sender's ACK bits, so sorting the receivers by their view together
/// with their ACK bits (and moving those bits along) gives one representative per orbit.
pub fn representative(s: &RmState) -> RmState {
    // Receiver `r`'s ACK bits, one per message.
    let column = |r: usize| -> u8 {
        (s.acked.iter().enumerate()).fold(0, |k, (m, a)| k | ((a >> r) & 1) << m)
    };
    let mut order: Vec<usize> = (0..s.receivers.len()).collect();
    order.sort_by(|&a, &b| (&s.receivers[a], column(a)).cmp(&(&s.receivers[b], column(b))));
    let mut acked = [0; MAX_MESSAGES];
    for (new, &old) in order.iter().enumerate() {
        for (m, a) in s.acked.iter().enumerate() {
            acked[m] |= ((a >> old) & 1) << new;
        }
    }
    RmState {
        sent: s.sent,
        history: s.history,
        acked,
        receivers: order.iter().map(|&r| s.receivers[r].clone()).collect(),
        nack_answered: s.nack_answered,
    }
}

impl Serialize for RmState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("sent", &self.sent)?;
        map.serialize_entry("history", &seqs(self.history))?;
        let receivers: BTreeMap<String, &Receiver> = self
            .receivers
            .iter()
            .enumerate()
            .map(|(r, v)| (format!("R{}", r + 1), v))
            .collect();
        map.serialize_entry("receivers", &receivers)?;
        map.end()
    }
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The sender multicasts the next message.
    Multicast,
    /// Packet `m` reaches receiver `r`.
    Deliver(u8, u8),
    /// Packet `m` to receiver `r` is lost.
    Lose(u8, u8),
    /// `r`'s acknowledgement of `m` reaches the sender.
    Ack(u8, u8),
    /// `r`'s acknowledgement of `m` is lost.
    LoseAck(u8, u8),
    /// `r`'s NACK for `m` reaches the sender.
    Nack(u8, u8),
    /// `r`'s NACK for `m` is lost.
    LoseNack(u8, u8),
    /// The sender's timer for `m` to `r` expires: it retransmits.
    Timeout(u8, u8),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Multicast => write!(f, "sender multicasts the next message"),
            Action::Deliver(m, r) => write!(f, "message {} reaches R{}", m + 1, r + 1),
            Action::Lose(m, r) => write!(f, "message {} to R{} is lost", m + 1, r + 1),
            Action::Ack(m, r) => write!(f, "R{}'s ACK of {} reaches the sender", r + 1, m + 1),
            Action::LoseAck(m, r) => write!(f, "R{}'s ACK of {} is lost", r + 1, m + 1),
            Action::Nack(m, r) => write!(f, "R{}'s NACK for {} reaches the sender", r + 1, m + 1),
            Action::LoseNack(m, r) => write!(f, "R{}'s NACK for {} is lost", r + 1, m + 1),
            Action::Timeout(m, r) => write!(
                f,
                "sender's timer for {} to R{} expires: it retransmits",
                m + 1,
                r + 1
            ),
        }
    }
}

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The model.
#[derive(Clone, Debug)]
pub struct ReliableMulticast {
    /// Messages.
    pub messages: usize,
    /// Receivers.
    pub receivers: usize,
    /// Deliveries only weakly fair: no fair loss.
    pub weak_delivery: bool,
    /// The broken variant, if any.
    pub variant: Option<Variant>,
}

impl ReliableMulticast {
    fn all(&self) -> u8 {
        ((1u16 << self.receivers) - 1) as u8
    }

    fn receive(&self, s: &mut RmState, m: u8, r: usize) {
        let me = &mut s.receivers[r];
        me.packets &= !(1 << m);
        let seq = m + 1;
        if me.delivered.contains(&seq) {
            me.acks |= 1 << m; // a duplicate: acknowledge again
            return;
        }
        if self.variant == Some(Variant::DeliverOnReceipt) {
            me.delivered.push(seq);
            me.acks |= 1 << m;
            return;
        }
        me.held |= 1 << m;
        // Deliver every message that is next in sequence.
        loop {
            let next = me.delivered.len() as u8;
            if me.held & (1 << next) == 0 {
                break;
            }
            me.held &= !(1 << next);
            me.delivered.push(next + 1);
            me.acks |= 1 << next;
        }
        // A message beyond the next one reveals the gap: NACK what is missing.
        let next = me.delivered.len() as u8;
        for gap in next..m {
            if me.held & (1 << gap) == 0 {
                me.nacks |= 1 << gap;
            }
        }
    }
}

impl Model for ReliableMulticast {
    type State = RmState;
    type Action = Action;

    fn init_states(&self) -> Vec<RmState> {
        vec![RmState {
            sent: 0,
            history: 0,
            acked: [0; MAX_MESSAGES],
            receivers: vec![Receiver::default(); self.receivers],
            nack_answered: false,
        }]
    }

    fn actions(&self, s: &RmState, actions: &mut Vec<Action>) {
        if (s.sent as usize) < self.messages {
            actions.push(Action::Multicast);
        }
        for (r, v) in s.receivers.iter().enumerate() {
            let r8 = r as u8;
            for m in 0..self.messages as u8 {
                let bit = 1 << m;
                if v.packets & bit != 0 {
                    actions.push(Action::Deliver(m, r8));
                    actions.push(Action::Lose(m, r8));
                }
                if v.acks & bit != 0 {
                    actions.push(Action::Ack(m, r8));
                    actions.push(Action::LoseAck(m, r8));
                }
                if v.nacks & bit != 0 {
                    actions.push(Action::Nack(m, r8));
                    actions.push(Action::LoseNack(m, r8));
                }
                let quiet = (v.packets | v.acks | v.nacks) & bit == 0;
                if quiet && s.history & bit != 0 && s.acked[m as usize] & (1 << r) == 0 {
                    actions.push(Action::Timeout(m, r8));
                }
            }
        }
    }

    fn next_state(&self, s: &RmState, action: Action) -> Option<RmState> {
        let mut next = s.clone();
        match action {
            Action::Multicast => {
                let m = s.sent;
                next.sent += 1;
                next.history |= 1 << m;
                for v in &mut next.receivers {
                    v.packets |= 1 << m;
                }
            }
            Action::Deliver(m, r) => self.receive(&mut next, m, r as usize),
            Action::Lose(m, r) => next.receivers[r as usize].packets &= !(1 << m),
            Action::Ack(m, r) => {
                next.receivers[r as usize].acks &= !(1 << m);
                next.acked[m as usize] |= 1 << r;
                let done = match self.variant {
                    Some(Variant::DropAfterFirstAck) => true,
                    _ => next.acked[m as usize] == self.all(),
                };
                if done {
                    next.history &= !(1 << m);
                }
            }
            Action::LoseAck(m, r) => next.receivers[r as usize].acks &= !(1 << m),
            Action::Nack(m, r) => {
                let v = &mut next.receivers[r as usize];
                v.nacks &= !(1 << m);
                if s.history & (1 << m) != 0 {
                    v.packets |= 1 << m;
                    next.nack_answered = true;
                }
            }
            Action::LoseNack(m, r) => next.receivers[r as usize].nacks &= !(1 << m),
            Action::Timeout(m, r) => next.receivers[r as usize].packets |= 1 << m,
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("fifo-delivery", |_: &Self, s: &RmState| {
                s.receivers.iter().all(|v| {
                    v.delivered
                        .iter()
                        .enumerate()
                        .all(|(i, &m)| m as usize == i + 1)
                })
            }),
            Property::always("history-until-all-acked", |m: &Self, s: &RmState| {
                (0..s.sent).all(|i| s.history & (1 << i) != 0 || s.acked[i as usize] == m.all())
            }),
            Property::sometimes("all-delivered", |m: &Self, s: &RmState| {
                s.receivers.iter().all(|v| v.delivered.len() == m.messages)
            }),
            Property::sometimes("nack-repaired", |m: &Self, s: &RmState| {
                s.nack_answered && s.receivers.iter().all(|v| v.delivered.len() == m.messages)
            }),
            Property::sometimes("history-emptied", |m: &Self, s: &RmState| {
                s.sent as usize == m.messages && s.history == 0
            }),
            Property::eventually("eventual-delivery", |m: &Self, s: &RmState| {
                s.receivers.iter().all(|v| v.delivered.len() == m.messages)
            }),
        ]
    }
}

impl Protocol for ReliableMulticast {
    type Model = ReliableMulticast;
    type Variant = Variant;
    const NAME: &'static str = "reliable-multicast";
    const SUMMARY: &'static str =
        "sequence numbers, a history buffer kept until every ACK, NACKs for gaps, over a lossy network";
    const SECTION: &'static str = "Reliable Group Communication";
    const FAIRNESS: &'static str = "strong (fair loss): each packet, ACK and NACK is delivered; \
         weak: the next multicast, a retransmission timer; unfair: losses";

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<ReliableMulticast>> {
        Some(representative)
    }

    fn fairness(m: &ReliableMulticast, action: &Action) -> Fairness {
        match action {
            Action::Deliver(..) | Action::Ack(..) | Action::Nack(..) if m.weak_delivery => {
                Fairness::Weak
            }
            Action::Deliver(..) | Action::Ack(..) | Action::Nack(..) => Fairness::Strong,
            Action::Multicast | Action::Timeout(..) => Fairness::Weak,
            Action::Lose(..) | Action::LoseAck(..) | Action::LoseNack(..) => Fairness::Unfair,
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

    fn build(params: &Params, variant: Option<Variant>) -> ReliableMulticast {
        ReliableMulticast {
            messages: params.usize("messages"),
            receivers: params.usize("receivers"),
            weak_delivery: params.choice("delivery") == "weak",
            variant,
        }
    }
}

impl ftcheck_protocol::Lanes for ReliableMulticast {
    fn lanes(&self) -> Vec<String> {
        std::iter::once("sender".to_string())
            .chain((1..=self.receivers).map(|r| format!("R{r}")))
            .collect()
    }

    fn lane_step(&self, _: &RmState, action: &Action) -> ftcheck_protocol::LaneStep {
        use ftcheck_protocol::LaneStep;
        let sender = || "sender".to_string();
        let receiver = |r: u8| format!("R{}", r + 1);
        match *action {
            Action::Multicast => LaneStep::Local {
                at: sender(),
                detail: "multicasts the next message".into(),
            },
            Action::Deliver(m, r) => LaneStep::Deliver {
                from: sender(),
                to: receiver(r),
                msg: format!("message {}", m + 1),
            },
            Action::Lose(m, r) => LaneStep::Drop {
                from: sender(),
                to: receiver(r),
                msg: format!("message {}", m + 1),
            },
            Action::Ack(m, r) => LaneStep::Deliver {
                from: receiver(r),
                to: sender(),
                msg: format!("ACK {}", m + 1),
            },
            Action::LoseAck(m, r) => LaneStep::Drop {
                from: receiver(r),
                to: sender(),
                msg: format!("ACK {}", m + 1),
            },
            Action::Nack(m, r) => LaneStep::Deliver {
                from: receiver(r),
                to: sender(),
                msg: format!("NACK {}", m + 1),
            },
            Action::LoseNack(m, r) => LaneStep::Drop {
                from: receiver(r),
                to: sender(),
                msg: format!("NACK {}", m + 1),
            },
            Action::Timeout(m, r) => LaneStep::Timeout {
                at: sender(),
                detail: format!("for message {} to R{}: retransmit", m + 1, r + 1),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over the first 20,000 reachable states (breadth first) of three receivers and two
    /// messages: the representative is a symmetry (`check_symmetry`), equal for a state with two
    /// receivers swapped.
    #[test]
    fn the_representative_is_canonical_and_keeps_every_property() {
        let m = ReliableMulticast {
            messages: 2,
            receivers: 3,
            weak_delivery: false,
            variant: None,
        };
        let swapped = |s: &RmState| {
            let mut swapped = s.clone();
            swapped.receivers.swap(0, 2);
            for a in &mut swapped.acked {
                let (b0, b2) = (*a & 1, (*a >> 2) & 1);
                *a = (*a & !0b101) | (b0 << 2) | b2;
            }
            vec![swapped]
        };
        assert_eq!(
            crate::check_symmetry::<ReliableMulticast>(&m, &swapped, 20_000),
            20_000
        );
    }
}
