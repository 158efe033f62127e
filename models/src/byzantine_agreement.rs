//! `byzantine-agreement`: Lamport's oral-messages algorithm OM(k), as the lecture runs it.
//!
//! Lecture section: "Consensus in Faulty Systems with Arbitrary Failures".
//!
//! How it maps the lecture: a primary `P` and `n - 1` backups `B1..B(n-1)`; a client has given
//! `P` a value `v ∈ {T, F}`. In round 1 `P` sends its value to every backup; in each of the next
//! `k` rounds every backup forwards each value it received in the previous round to every process
//! not yet on that value's relay chain (`P→B1→B2` is what `B2` heard from `B1` about what `P`
//! said). A backup decides by recursive majority (OM(m) takes the majority of the value received
//! directly and the OM(m - 1) results of the other backups; a tie gives the default `F`, as
//! Lamport's RETREAT). `traitors` processes, the primary included, are faulty: each message a
//! traitor sends carries a value the checker chooses, `T` or `F`, every choice explored; both
//! client values are initial states, and so is every placement of the traitors up to renaming
//! the backups (OM treats backups alike): the primary among them or not, the others the
//! lowest-numbered backups. BA1: every nonfaulty
//! backup stores the same value; BA2: if the primary is nonfaulty, every nonfaulty backup stores
//! its value.
//!
//! Where it abstracts: the rounds are synchronous and messages are never lost (the lecture's
//! "messages may be lost, but this can be detected" makes a missing message a default value, which
//! a traitor's choice already covers). A step is one traitor's choice; the loyal messages between
//! two choices follow deterministically and are filled in with it. A message to a traitor carries
//! no choice (a traitor ignores what it hears), which prunes without losing an outcome. Messages
//! go in depth-first order of their relay chains (a relay needs only what its sender heard
//! before), and once every relay of a value is sent, each loyal process's OM conclusion about it
//! replaces the relays: the outcome depends on nothing else, and states that differ only inside a
//! finished sub-tree become one. With
//! `n = 3, traitors = 1` the lecture's two scenarios appear: a faulty primary telling `B1` `T` and
//! `B2` `F` (both backups see `{T, F}` and fall back on the default: reached as
//! `inconsistent-primary`), and a faulty `B1` forwarding `F` instead of `T` (`B2` sees `{T, F}` and
//! does not store the primary's `T`: BA2 violated).
//!
//! Why a plain model and not a stateright actor system (issue 19): OM(k) runs in synchronous
//! rounds of relays that follow deterministically from the traitors' choices, and a finished
//! sub-tree of relays is replaced by its conclusions: as actors, every relay would be a delivery
//! interleaved with every other, and the rewrite of a sub-tree spans all processes.

use ftcheck_protocol::{NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};
use std::fmt;

/// Largest group the model supports.
pub const MAX_N: usize = 7;
/// Most traitors.
pub const MAX_TRAITORS: usize = 2;

/// One message: the relay chain (primary first) and the receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The chain of senders, `chain[0]` the primary (0), the last one the sender.
    pub chain: Vec<u8>,
    /// The receiver.
    pub to: u8,
}

fn name(p: u8) -> String {
    if p == 0 {
        "P".into()
    } else {
        format!("B{p}")
    }
}

fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain: Vec<String> = self.chain.iter().map(|&p| name(p)).collect();
        write!(f, "{}→{}", chain.join("→"), name(self.to))
    }
}

/// A state: who the traitors are, the client's value, and the values of the messages sent so far
/// (in round order).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaState {
    /// The traitors (bit per process, bit 0 the primary).
    pub traitors: u8,
    /// The value the client gave the primary.
    pub value: bool,
    /// How many messages (in round order) have been sent.
    pub sent: u16,
    /// Their values (bit `i`: message `i`), erased inside finished sub-trees.
    pub values: [u64; 4],
    /// For each finished sub-tree (the message that opened it), what each process concluded
    /// from it: bit `8 * m + i` is process `i`'s OM result for the chain of message `m`.
    pub summaries: [u64; 20],
    /// Once every message is sent: the loyal backups and which of them store `T` (bit `i`:
    /// backup `i`), for the reader of a trace.
    pub stored: Option<(u8, u8)>,
}

impl BaState {
    fn get(&self, i: usize) -> bool {
        self.values[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize, b: bool) {
        if b {
            self.values[i / 64] |= 1 << (i % 64);
        }
    }
    fn summary(&self, m: usize, i: u8) -> bool {
        let b = 8 * m + i as usize;
        self.summaries[b / 64] & (1 << (b % 64)) != 0
    }
    fn set_summary(&mut self, m: usize, i: u8, v: bool) {
        let b = 8 * m + i as usize;
        if v {
            self.summaries[b / 64] |= 1 << (b % 64);
        } else {
            self.summaries[b / 64] &= !(1 << (b % 64));
        }
    }
    fn erase(&mut self, range: std::ops::RangeInclusive<usize>) {
        for m in range {
            self.values[m / 64] &= !(1 << (m % 64));
            for i in 0..8 {
                self.set_summary(m, i, false);
            }
        }
    }
    fn traitor(&self, p: u8) -> bool {
        self.traitors & (1 << p) != 0
    }
}

/// A traitor's choice for the next message it sends: the chain (primary first, the traitor
/// last), the receiver, and the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choice {
    chain: [u8; MAX_TRAITORS + 1],
    len: u8,
    to: u8,
    /// The value sent.
    pub value: bool,
}

impl fmt::Debug for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = Message {
            chain: self.chain[..self.len as usize].to_vec(),
            to: self.to,
        };
        let sender = name(self.chain[self.len as usize - 1]);
        write!(f, "traitor {sender} sends {m}: {}", tf(self.value))
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct ByzantineAgreement {
    /// Processes, the primary included.
    pub n: usize,
    /// Faulty processes.
    pub traitors: usize,
    /// Every message, in depth-first order of relay chains: a message, then every message
    /// relayed from it (a value's relays only need what came before).
    pub messages: Vec<Message>,
    /// For each message, the message its sender relays (what it heard before); none for the
    /// primary's own.
    pub parent: Vec<Option<usize>>,
    /// For each message, the relays of its value (empty in the last round).
    pub children: Vec<Vec<usize>>,
    /// The primary's messages.
    pub roots: Vec<usize>,
    /// For each message, the messages whose relays it is the last of, innermost first.
    pub closes: Vec<Vec<usize>>,
}

impl ByzantineAgreement {
    /// The model for `n` processes and `traitors` faulty ones.
    pub fn new(n: usize, traitors: usize) -> Self {
        let mut m = ByzantineAgreement {
            n,
            traitors,
            messages: vec![],
            parent: vec![],
            children: vec![],
            roots: vec![],
            closes: vec![],
        };
        m.relays(vec![0], None);
        m
    }

    /// Appends, depth first, the messages that relay along `chain` (sent by its last process,
    /// which heard it in message `parent`).
    fn relays(&mut self, chain: Vec<u8>, parent: Option<usize>) {
        for to in 1..self.n as u8 {
            if chain.contains(&to) {
                continue;
            }
            let at = self.messages.len();
            self.messages.push(Message {
                chain: chain.clone(),
                to,
            });
            self.parent.push(parent);
            self.children.push(vec![]);
            self.closes.push(vec![]);
            match parent {
                Some(p) => self.children[p].push(at),
                None => self.roots.push(at),
            }
            if chain.len() <= self.traitors {
                let mut c = chain.clone();
                c.push(to);
                self.relays(c, Some(at));
                let last = self.messages.len() - 1;
                if last > at {
                    self.closes[last].push(at); // inner sub-trees were pushed first
                }
            }
        }
    }

    /// Message `i` is a traitor's choice (its sender is a traitor and its receiver is not).
    fn is_choice(&self, s: &BaState, i: usize) -> bool {
        let m = &self.messages[i];
        s.traitor(*m.chain.last().expect("non-empty")) && !s.traitor(m.to)
    }

    /// Fills in the loyal (and ignored) messages from `s.sent` up to the next choice.
    fn fill(&self, s: &mut BaState) {
        while (s.sent as usize) < self.messages.len() && !self.is_choice(s, s.sent as usize) {
            let i = s.sent as usize;
            let m = &self.messages[i];
            let sender = *m.chain.last().expect("non-empty");
            let v = if s.traitor(sender) {
                false // to a traitor: ignored
            } else if m.chain.len() == 1 {
                s.value
            } else {
                // Forward what the sender heard along the chain before it.
                s.get(self.parent[i].expect("a backup's relay"))
            };
            s.set(i, v);
            s.sent += 1;
            self.summarize(s, i);
        }
        if self.done(s) && s.stored.is_none() {
            let loyal: Vec<u8> = (1..self.n as u8).filter(|&i| !s.traitor(i)).collect();
            let t = loyal
                .iter()
                .filter(|&&i| self.decide(s, &self.roots, i))
                .fold(0, |m, i| m | 1 << i);
            s.stored = Some((loyal.iter().fold(0, |m, i| m | 1 << i), t));
        }
    }

    /// Message `last` was just sent: every sub-tree it finishes is replaced by what each loyal
    /// process concludes from it (innermost first), and its messages are erased, so states that
    /// differ only in how a finished sub-tree reached its conclusions are one state.
    fn summarize(&self, s: &mut BaState, last: usize) {
        for &m in &self.closes[last] {
            let msg = &self.messages[m];
            for i in 1..self.n as u8 {
                if i != msg.to && !msg.chain.contains(&i) && !s.traitor(i) {
                    let d = self.decide(s, &self.children[m], i);
                    s.set_summary(m, i, d);
                }
            }
            s.erase(m + 1..=last);
        }
    }

    fn done(&self, s: &BaState) -> bool {
        s.sent as usize == self.messages.len()
    }

    /// OM: what `i` concludes from `relays` (the messages passing one value on: `i`'s own, and
    /// the others whose sub-trees are finished and summarised) — recursive majority, ties `F`.
    fn decide(&self, s: &BaState, relays: &[usize], i: u8) -> bool {
        let direct = relays
            .iter()
            .find(|&&r| self.messages[r].to == i)
            .map(|&r| s.get(r))
            .expect("every process not on the chain hears the value");
        if self.children[relays[0]].is_empty() {
            return direct; // the last round: OM(0)
        }
        let (mut t, mut total) = (usize::from(direct), 1);
        for &r in relays.iter().filter(|&&r| self.messages[r].to != i) {
            t += usize::from(s.summary(r, i));
            total += 1;
        }
        2 * t > total
    }
}

impl Serialize for BaState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        let traitors: Vec<String> = (0..8).filter(|&p| self.traitor(p)).map(name).collect();
        map.serialize_entry("traitors", &traitors)?;
        map.serialize_entry("client value", tf(self.value))?;
        map.serialize_entry("messages sent", &self.sent)?;
        if let Some((loyal, t)) = self.stored {
            let by_backup: std::collections::BTreeMap<String, &str> = (1..8u8)
                .filter(|&i| loyal & (1 << i) != 0)
                .map(|i| (name(i), tf(t & (1 << i) != 0)))
                .collect();
            map.serialize_entry("stored", &by_backup)?;
        }
        map.end()
    }
}

impl Model for ByzantineAgreement {
    type State = BaState;
    type Action = Choice;

    fn init_states(&self) -> Vec<BaState> {
        // Backups are interchangeable (OM treats them alike), so a placement is determined by
        // whether the primary is a traitor: the traitors are then the lowest-numbered backups.
        let k = self.traitors.min(self.n - 1);
        let backups = |j: usize| ((1u16 << (j + 1)) - 2) as u8; // B1..Bj
        let mut placements = vec![backups(k)];
        if k >= 1 {
            placements.push(1 | backups(k - 1));
        }
        let mut out = vec![];
        for traitors in placements {
            for value in [true, false] {
                let mut s = BaState {
                    traitors,
                    value,
                    sent: 0,
                    values: [0; 4],
                    summaries: [0; 20],
                    stored: None,
                };
                self.fill(&mut s);
                out.push(s);
            }
        }
        out
    }

    fn actions(&self, s: &BaState, actions: &mut Vec<Choice>) {
        if let Some(m) = self.messages.get(s.sent as usize) {
            let mut chain = [0; MAX_TRAITORS + 1];
            chain[..m.chain.len()].copy_from_slice(&m.chain);
            for value in [true, false] {
                actions.push(Choice {
                    chain,
                    len: m.chain.len() as u8,
                    to: m.to,
                    value,
                });
            }
        }
    }

    fn next_state(&self, s: &BaState, c: Choice) -> Option<BaState> {
        let mut next = s.clone();
        next.set(s.sent as usize, c.value);
        next.sent += 1;
        self.summarize(&mut next, s.sent as usize);
        self.fill(&mut next);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("BA1", |_: &Self, s: &BaState| {
                s.stored.is_none_or(|(loyal, t)| t == 0 || t == loyal)
            }),
            Property::always("BA2", |_: &Self, s: &BaState| {
                s.stored
                    .is_none_or(|(loyal, t)| s.traitor(0) || t == if s.value { loyal } else { 0 })
            }),
            Property::sometimes("decided", |_: &Self, s: &BaState| s.stored.is_some()),
            Property::sometimes("inconsistent-primary", |m: &Self, s: &BaState| {
                // A faulty primary told two loyal backups different values (scenario 1).
                let told: Vec<bool> = m
                    .roots
                    .iter()
                    .filter(|&&r| !s.traitor(m.messages[r].to) && (r as u16) < s.sent)
                    .map(|&r| s.get(r))
                    .collect();
                s.traitor(0) && told.contains(&true) && told.contains(&false)
            }),
            Property::sometimes("wrong-forward", |m: &Self, s: &BaState| {
                // A faulty backup relayed to a loyal one the opposite of what it heard (scenario 2).
                (0..s.sent as usize).any(|i| {
                    let msg = &m.messages[i];
                    let sender = *msg.chain.last().expect("non-empty");
                    msg.chain.len() > 1
                        && s.traitor(sender)
                        && !s.traitor(msg.to)
                        && m.parent[i].is_some_and(|p| s.get(i) != s.get(p))
                })
            }),
        ]
    }
}

impl Protocol for ByzantineAgreement {
    type Model = ByzantineAgreement;
    type Variant = NoVariants;
    const NAME: &'static str = "byzantine-agreement";
    const SUMMARY: &'static str =
        "Lamport's oral-messages OM(k): a primary, n - 1 backups, k traitors choosing every value";
    const SECTION: &'static str = "Consensus in Faulty Systems with Arbitrary Failures";

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "n",
                help: "processes, the primary included",
                kind: ParamKind::Int {
                    min: 3,
                    max: MAX_N as i64,
                },
                default: Value::Int(4),
            },
            ParamSpec {
                name: "traitors",
                help: "faulty processes (k); OM(k) runs k + 1 rounds",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_TRAITORS as i64,
                },
                default: Value::Int(1),
            },
        ]
    }

    fn build(params: &Params, _variant: Option<NoVariants>) -> ByzantineAgreement {
        ByzantineAgreement::new(params.usize("n"), params.usize("traitors"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn om1_with_four_processes_sends_three_plus_six_messages() {
        let m = ByzantineAgreement::new(4, 1);
        assert_eq!(m.messages.len(), 3 + 3 * 2);
        assert_eq!(m.messages[1].to_string(), "P→B1→B2");
        assert_eq!(m.children[0], vec![1, 2]); // P→B1 opens P→B1→B2 and P→B1→B3
        assert_eq!(m.closes[2], vec![0]);
        assert_eq!(m.parent[1], Some(0));
        assert_eq!(m.roots, vec![0, 3, 6]);
    }
}
