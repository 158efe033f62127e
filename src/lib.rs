//! # ftcheck
//!
//! Model checking for the protocols that make distributed systems fault tolerant. The
//! protocols live in `ftcheck-models`; this crate is the toolkit, generic over any stateright
//! `Model`: the [`catalog`], the search [`engine`] (ftcheck's own BFS, stateright's DFS and
//! simulation), [`liveness`] under weak and strong fairness (and [`symmetric`]ally reduced), verdicts and reports ([`check`]), counterexample files and replay ([`trace`]),
//! the verification [`suite`], and [`table`]s of verdicts over parameter grids.

#![warn(missing_docs)]

pub use ftcheck_protocol as protocol;

pub mod availability;
pub mod bench;
pub mod bfs;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod describe;
pub mod engine;
pub mod error;
pub mod export;
pub mod fptable;
pub mod html;
pub mod liveness;
pub mod runner;
pub mod search;
pub mod suite;
pub mod symmetric;
pub mod table;
pub mod trace;
