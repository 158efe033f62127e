//! # ftcheck-models
//!
//! The fault-tolerance protocols that ftcheck verifies, each a [`stateright::Model`]
//! (usually a stateright actor model) built from typed parameters.
//!
//! This crate is pure: no I/O, no command line, no printing. Each protocol is one module that
//! implements [`Protocol`]: its name, its one-line summary, its parameters, its deliberately
//! broken variants, and a builder that turns validated parameter values into a model whose
//! `properties()` are the protocol's safety (`Always`), reachability (`Sometimes`) and
//! liveness (`Eventually`) properties.

pub mod byzantine_agreement;
pub mod cap_register;
pub mod checkpointing;
pub mod failure_detector;
pub mod flooding_consensus;
pub mod guarded;
pub mod message_logging;
pub mod paxos;
pub mod pbft;
pub mod protocol;
pub mod raft;
pub mod reliable_multicast;
pub mod rpc_lost_reply;
pub mod rpc_semantics;
pub mod sorted_set;
pub mod transaction_commit;
pub mod two_phase_commit;
pub mod voting_group;

pub use protocol::{
    Fairness, LeadsTo, ParamKind, ParamSpec, Params, Protocol, Symmetry, Value, VariantSpec,
};
