//! # ftcheck
//!
//! Model checking for the protocols that make distributed systems fault tolerant. The
//! protocols live in `ftcheck-models`; this crate is the toolkit, generic over any stateright
//! `Model`. A user's crate needs three things from it: the [`protocol`] API to describe a
//! protocol, a [`catalog::Catalog`] that names it, and [`cli::main`], the whole command line
//! on that catalog.
//!
//! The source is in rooms, each a folder that uses only the rooms listed before it:
//! - `engine/`: the searches. [`engine::search`] runs ftcheck's breadth-first search
//!   (`bfs.rs`, over the lock-free fingerprint table `fptable.rs`), its random walks
//!   (`simulation.rs`) or stateright's depth-first checker, under [`engine::CheckOptions`].
//! - `liveness/`: fair cycles (lassos) in the state graph a search stored, under weak and
//!   strong fairness, and lifted through symmetry reduction (`symmetric.rs`).
//! - the model, in the crate's root: [`describe`] (how states and steps are shown),
//!   [`runner`] (a model with its describer, symmetry and fairness behind one object-safe
//!   interface, [`runner::Checkable`], and the verdicts it gives), [`catalog`] and [`error`].
//! - `trace/`: counterexample files and their replay ([`trace`]), and their exports to other
//!   tools' formats ([`trace::export`], with a self-contained HTML page).
//! - `report/`: [`check`] (one configuration's report and exit code), [`suite`] (manifests of
//!   expected outcomes), [`table`] (verdicts over a parameter grid), [`matrix`] (the faults
//!   each property survives) and the benchmark table.
//! - `cli/`: the command line ([`cli::main`]).

#![warn(missing_docs)]

pub use ftcheck_protocol as protocol;

pub mod catalog;
pub mod cli;
pub mod describe;
pub mod engine;
pub mod error;
mod liveness;
mod report;
pub mod runner;
pub mod trace;

pub use report::{check, matrix, suite, table};
