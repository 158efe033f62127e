//! # ftcheck-models
//!
//! The fault-tolerance protocols that ftcheck verifies, each a [`stateright::Model`]
//! (usually a stateright actor model) built from typed parameters.
//!
//! This crate is pure: no I/O, no command line, no printing. Each protocol is one module that
//! implements [`ftcheck_protocol::Protocol`]: its name, its one-line summary, its parameters, its deliberately
//! broken variants, and a builder that turns validated parameter values into a model whose
//! `properties()` are the protocol's safety (`Always`), reachability (`Sometimes`) and
//! liveness (`Eventually`) properties.

#![warn(missing_docs)]

#[cfg(test)]
use ftcheck_protocol::Protocol;

pub mod byzantine_agreement;
pub mod cap_register;
pub mod checkpointing;
pub mod failure_detector;
pub mod flooding_consensus;
pub mod message_logging;
pub mod paxos;
pub mod pbft;
pub mod raft;
pub mod reliable_multicast;
pub mod rpc_lost_reply;
pub mod rpc_semantics;
pub mod sorted_set;
pub mod transaction_commit;
pub mod two_phase_commit;
pub mod voting_group;

/// Every renaming of a state that a symmetry test checks (see [`check_symmetry`]).
#[cfg(test)]
pub(crate) type Renamings<P> = dyn Fn(
    &<<P as Protocol>::Model as stateright::Model>::State,
) -> Vec<<<P as Protocol>::Model as stateright::Model>::State>;

/// Checks a protocol's representative function over the first `limit` states reachable breadth
/// first (every test of a symmetry uses it): the representative is idempotent; every renaming
/// of a state that `renamings` gives has the same representative; every property has the same
/// value on a state and its representative; and the state and its representative have the
/// same successors up to symmetry, each reached by an action of the same fairness — what
/// symmetry reduction needs for safety and for liveness under fairness. Returns the states
/// checked.
#[cfg(test)]
pub(crate) fn check_symmetry<P: Protocol>(
    model: &P::Model,
    renamings: &Renamings<P>,
    limit: usize,
) -> usize
where
    <P::Model as stateright::Model>::State: Clone + Eq + std::hash::Hash + std::fmt::Debug,
{
    use stateright::Model;
    use std::collections::{HashSet, VecDeque};
    use std::hash::BuildHasher;
    let rep = P::symmetry().expect("the protocol has a symmetry");
    let hasher = std::hash::RandomState::new();
    // Successors up to symmetry, with the fairness of the step to each.
    let successors = |s: &<P::Model as Model>::State| {
        let mut actions = Vec::new();
        model.actions(s, &mut actions);
        let mut out: Vec<(String, u64)> = actions
            .into_iter()
            .filter_map(|a| {
                let f = format!("{:?}", P::fairness(model, &a));
                let next = model.next_state(s, a)?;
                model
                    .within_boundary(&next)
                    .then(|| (f, hasher.hash_one(rep(&next))))
            })
            .collect();
        out.sort();
        out
    };
    let properties = model.properties();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<_> = model.init_states().into();
    while let Some(s) = queue.pop_front() {
        if seen.len() == limit || !seen.insert(s.clone()) {
            continue;
        }
        let r = rep(&s);
        assert_eq!(rep(&r), r, "not idempotent at {s:?}");
        for renamed in renamings(&s) {
            assert_eq!(rep(&renamed), r, "a renaming of {s:?} is {renamed:?}");
        }
        for p in &properties {
            assert_eq!(
                (p.condition)(model, &s),
                (p.condition)(model, &r),
                "{} at {s:?}",
                p.name
            );
        }
        assert_eq!(successors(&s), successors(&r), "the steps from {s:?}");
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        queue.extend(
            actions
                .into_iter()
                .filter_map(|a| model.next_state(&s, a))
                .filter(|n| model.within_boundary(n) && !seen.contains(n)),
        );
    }
    seen.len()
}
