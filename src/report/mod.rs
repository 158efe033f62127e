//! Reports: what a check found, for a person (text) or a tool (JSON), and the commands built
//! on it: [`check`] (one configuration: verdicts, counters, trace files, exit code), [`suite`]
//! (manifests of expected outcomes), [`table`] (verdicts over a parameter grid), [`matrix`] (the faults each
//! property survives) and `bench`
//! (the benchmark table).

pub(crate) mod bench;
pub mod check;
pub mod matrix;
pub mod suite;
pub mod table;
