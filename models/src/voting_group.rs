//! `voting-group`: failure masking by a replicated group whose client votes.
//!
//! Lecture section: "Failure Masking and Replication" (k-fault tolerant groups).
//!
//! How it maps the lecture: a client sends its request to a group of `replicas` identical
//! members that process it alike; `faulty` (k) of them fail. With `failure = halting` a faulty
//! member may answer correctly before it stops, or never (crash, omission, timing failures: it
//! never produces an incorrect result), and the client takes the first reply. With `failure =
//! arbitrary` a faulty member may answer correctly, answer wrongly, or stay silent — every
//! choice explored — and the client accepts a result once a majority of the group (more than
//! half the members) replied the same. The lecture's sizes: `k + 1` members suffice for halting
//! failures, `2k + 1` for arbitrary ones; with one member fewer the group no longer masks `k`
//! failures.
//!
//! Properties: `correct-result` (the client never accepts a wrong result); `masks-failures`
//! (once every nonfaulty member's reply has reached the client, the client has a result — the
//! group's answer cannot depend on the faulty members' cooperation), the safety form of the
//! liveness `gets-result` (the client eventually has a result), checked under weak fairness of
//! each nonfaulty member's reply; a faulty member's replies are never forced. Both hold at the
//! lecture's sizes and fail one member short. Members are interchangeable, so
//! the faulty ones are `R1..Rk`; each reply is one step, and a member's reply counts once.
//!
//! Why a plain model and not a stateright actor system (issue 19): it is one round, a request
//! and each member's reply, where a faulty member's reply is any value at all; an actor system
//! would add a request message per member and nothing the lecture's argument needs.

use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::fmt;

/// Largest group.
pub const MAX_REPLICAS: usize = 7;
/// Most faulty members.
pub const MAX_FAULTY: usize = 3;

/// How faulty members fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Crash, omission, timing: a faulty member answers correctly or not at all.
    Halting,
    /// A faulty member answers anything or nothing.
    Arbitrary,
}

/// A state: what the client received from each member, and the result it accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VgState {
    /// The faulty members (bit per member).
    pub faulty: u8,
    /// Per member, the reply the client received (`true`: the correct result).
    pub received: [Option<bool>; MAX_REPLICAS],
    /// The result the client accepted (`true`: the correct one).
    pub result: Option<bool>,
}

fn name(r: usize) -> String {
    format!("R{}", r + 1)
}

fn answer(correct: bool) -> &'static str {
    if correct {
        "correct"
    } else {
        "wrong"
    }
}

impl Serialize for VgState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        let faulty: Vec<String> = (0..MAX_REPLICAS)
            .filter(|r| self.faulty & (1 << r) != 0)
            .map(name)
            .collect();
        map.serialize_entry("faulty", &faulty)?;
        let received: BTreeMap<String, &str> = self
            .received
            .iter()
            .enumerate()
            .filter_map(|(r, x)| x.map(|c| (name(r), answer(c))))
            .collect();
        map.serialize_entry("client received", &received)?;
        map.serialize_entry("client accepted", &self.result.map(answer))?;
        map.end()
    }
}

/// A step: member `r`'s reply reaches the client.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reply {
    /// The member.
    pub r: u8,
    /// Whether its reply is the correct result.
    pub correct: bool,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} replies the {} result",
            name(self.r as usize),
            answer(self.correct)
        )
    }
}

/// The symmetry: faulty members are interchangeable among themselves (`R1..Rk`), and so are
/// nonfaulty ones; the representative lists each group's replies in decreasing order (correct,
/// wrong, none), so the members that have not replied come last in each group.
pub fn representative(s: &VgState) -> VgState {
    let k = s.faulty.count_ones() as usize;
    let mut r = s.clone();
    r.received[..k].sort_unstable_by(|a, b| b.cmp(a));
    r.received[k..].sort_unstable_by(|a, b| b.cmp(a));
    r
}

/// The model.
#[derive(Clone, Debug)]
pub struct VotingGroup {
    /// Members.
    pub replicas: usize,
    /// Faulty members (k).
    pub faulty: usize,
    /// How they fail.
    pub failure: Failure,
    /// The client takes the first reply whatever the failures (variant `trust-first-reply`).
    pub first_reply: bool,
}

impl VotingGroup {
    fn votes(&self, s: &VgState, correct: bool) -> usize {
        s.received.iter().filter(|&&x| x == Some(correct)).count()
    }

    fn decide(&self, s: &mut VgState, correct: bool) {
        if s.result.is_some() {
            return;
        }
        let first_reply = self.first_reply || self.failure == Failure::Halting;
        if first_reply || 2 * self.votes(s, correct) > self.replicas {
            s.result = Some(correct);
        }
    }

    fn is_faulty(&self, s: &VgState, r: usize) -> bool {
        s.faulty & (1 << r) != 0
    }
}

impl Model for VotingGroup {
    type State = VgState;
    type Action = Reply;

    fn init_states(&self) -> Vec<VgState> {
        vec![VgState {
            faulty: ((1u16 << self.faulty) - 1) as u8,
            received: [None; MAX_REPLICAS],
            result: None,
        }]
    }

    fn actions(&self, s: &VgState, actions: &mut Vec<Reply>) {
        for r in 0..self.replicas {
            if s.received[r].is_some() {
                continue;
            }
            actions.push(Reply {
                r: r as u8,
                correct: true,
            });
            if self.is_faulty(s, r) && self.failure == Failure::Arbitrary {
                actions.push(Reply {
                    r: r as u8,
                    correct: false,
                });
            }
        }
    }

    fn next_state(&self, s: &VgState, a: Reply) -> Option<VgState> {
        let mut next = s.clone();
        next.received[a.r as usize] = Some(a.correct);
        self.decide(&mut next, a.correct);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("correct-result", |_: &Self, s: &VgState| {
                s.result != Some(false)
            }),
            Property::always("masks-failures", |m: &Self, s: &VgState| {
                let all_nonfaulty_in =
                    (0..m.replicas).all(|r| m.is_faulty(s, r) || s.received[r].is_some());
                !all_nonfaulty_in || s.result.is_some()
            }),
            Property::sometimes("result-accepted", |_: &Self, s: &VgState| {
                s.result.is_some()
            }),
            Property::sometimes("failure-masked", |m: &Self, s: &VgState| {
                // The correct result although a faulty member lied or is silent.
                s.result == Some(true)
                    && (0..m.replicas).any(|r| m.is_faulty(s, r) && s.received[r] != Some(true))
            }),
            Property::eventually("gets-result", |_: &Self, s: &VgState| s.result.is_some()),
        ]
    }
}

/// The deliberately broken variants (see [`Variants::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `trust-first-reply`.
    TrustFirstReply,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[(
        Variant::TrustFirstReply,
        VariantSpec {
            name: "trust-first-reply",
            summary: "the client takes the first reply even when members fail arbitrarily \
                      (correct-result)",
        },
    )];
}

impl Protocol for VotingGroup {
    type Model = VotingGroup;
    type Variant = Variant;
    const NAME: &'static str = "voting-group";
    const SUMMARY: &'static str =
        "a k-fault tolerant group: first reply under halting failures, majority vote under arbitrary ones";
    const SECTION: &'static str = "Failure Masking and Replication";
    const FAIRNESS: &'static str =
        "weak: each nonfaulty member's reply; unfair: anything a faulty member does";

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<VotingGroup>> {
        Some(representative)
    }

    fn fairness(m: &VotingGroup, reply: &Reply) -> Fairness {
        // The faulty members are R1..Rk.
        if (reply.r as usize) < m.faulty {
            Fairness::Unfair
        } else {
            Fairness::Weak
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "replicas",
                help: "members of the group",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_REPLICAS as i64,
                },
                default: Value::Int(3),
            },
            ParamSpec {
                name: "faulty",
                help: "faulty members (k), at most `replicas`",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_FAULTY as i64,
                },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "failure",
                help: "how faulty members fail: halting (correct or silent; the client takes \
                       the first reply) or arbitrary (anything; the client takes a majority)",
                kind: ParamKind::Choice {
                    options: &["halting", "arbitrary"],
                },
                default: Value::Choice("arbitrary"),
            },
        ]
    }

    fn validate(params: &Params) -> Result<(), String> {
        let (replicas, faulty) = (params.usize("replicas"), params.usize("faulty"));
        if faulty > replicas {
            return Err(format!(
                "faulty={faulty} exceeds replicas={replicas}; give at most {replicas} faulty members"
            ));
        }
        Ok(())
    }

    fn build(params: &Params, variant: Option<Variant>) -> VotingGroup {
        VotingGroup {
            replicas: params.usize("replicas"),
            faulty: params.usize("faulty"),
            failure: match params.choice("failure") {
                "halting" => Failure::Halting,
                _ => Failure::Arbitrary,
            },
            first_reply: variant == Some(Variant::TrustFirstReply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over every reachable state of seven members, three faulty, both failure modes: the
    /// representative is a symmetry (`check_symmetry`), and swapping two faulty members or two
    /// nonfaulty ones leaves it unchanged.
    #[test]
    fn the_representative_is_a_symmetry() {
        for failure in [Failure::Halting, Failure::Arbitrary] {
            let m = VotingGroup {
                replicas: 7,
                faulty: 3,
                failure,
                first_reply: false,
            };
            let swaps = |s: &VgState| {
                let mut a = s.clone();
                a.received.swap(0, 2);
                let mut b = s.clone();
                b.received.swap(3, 6);
                vec![a, b]
            };
            let states = crate::check_symmetry::<VotingGroup>(&m, &swaps, 100_000);
            assert!(states > 100, "{states}");
        }
    }
}
