//! `ftcheck matrix`: every safety and liveness property of a model under every fault kind its
//! parameters declare, for `k = 0..=K` faults of that kind, and the largest `k` each property
//! survives — the lecture's "k-fault tolerant" ("Failure Masking by Redundancy") read off by
//! exhaustive search.
//!
//! A fault kind is an integer parameter named as one of the actor kit's counted faults
//! ([`Faults::COUNTS`](crate::protocol::guarded::Faults::COUNTS): `crashes`, `restarts`,
//! `amnesia`, `omissions`, `duplications`, `reorderings`, `cuts`, `byzantine`); a protocol
//! declares them with [`Faults::params`](crate::protocol::guarded::Faults::params), or names
//! its own counts so (the built-in `two-phase-commit`'s `crashes`, `raft`'s `restarts`). Each
//! kind is varied alone from 0 to `K` (or its largest allowed value), the other parameters
//! keeping their given or default values. Reachability properties are left out: reaching them
//! is the model not being vacuous, not a tolerance.

use crate::catalog::{Assignment, Catalog};
use crate::check::{self, CheckRequest};
use crate::error::InputError;
use crate::protocol::guarded::Faults;
use crate::protocol::{ParamKind, Value};
use crate::runner::{Outcome, PropertyKind};
use serde::Serialize;
use std::fmt::Write as _;

/// A computed matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// Model name.
    pub model: String,
    /// The broken variant checked, if any.
    pub variant: Option<String>,
    /// The parameters fixed for every run (`NAME=VALUE`).
    pub params: Vec<String>,
    /// The largest number of faults tried per kind (a kind whose parameter allows fewer is
    /// tried up to its maximum).
    pub max_k: u8,
    /// The fault kinds, in the order of the model's parameters.
    pub kinds: Vec<String>,
    /// One row per safety or liveness property, in the model's order.
    pub rows: Vec<Row>,
}

/// A property's row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Property name.
    pub property: String,
    /// Safety or liveness.
    pub kind: PropertyKind,
    /// One cell per fault kind, in [`Matrix::kinds`]'s order.
    pub cells: Vec<Cell>,
}

/// What a property does under `0..=tried` faults of one kind.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// The largest `k` such that the property holds with every `j <= k` faults of this kind;
    /// `None` when it does not hold even without them.
    pub survives: Option<u8>,
    /// The largest `k` tried.
    pub tried: u8,
    /// The verdict at each `k = 0..=tried`.
    pub verdicts: Vec<Outcome>,
    /// The shortest trace's length at the first `k` that does not hold (violated), if any.
    pub trace_length: Option<usize>,
}

impl Cell {
    /// The cell as the text and Markdown tables show it: `≥K` (holds for every `k` tried),
    /// `k` (holds up to `k`, violated at `k + 1`), `-` (violated without faults); a `?` marks
    /// that the first `k` not holding was incomplete (stopped, or blocked by a bound), not
    /// violated.
    pub fn text(&self) -> String {
        let first_fail = self.verdicts.iter().position(|v| *v != Outcome::Holds);
        let Some(at) = first_fail else {
            return format!("≥{}", self.tried);
        };
        let mark = if self.verdicts[at] == Outcome::Violated {
            ""
        } else {
            "?"
        };
        match self.survives {
            Some(k) => format!("{k}{mark}"),
            None => format!("-{mark}"),
        }
    }
}

/// Checks `model` (with `fixed` parameters and `variant`) for `k = 0..=max_k` faults of each
/// fault kind it declares.
///
/// A fault kind among `fixed` keeps its value in every run and is not varied.
///
/// # Errors
/// An unknown model, parameter or variant; a model with no fault parameter; `fixed`
/// parameters that fix every fault kind.
pub fn matrix(
    catalog: &Catalog,
    model: &str,
    fixed: &[Assignment],
    variant: Option<&str>,
    max_k: u8,
) -> Result<Matrix, InputError> {
    let entry = catalog.find(model)?;
    let kinds: Vec<(&'static str, u8)> = entry
        .params
        .iter()
        .filter(|p| Faults::COUNTS.iter().any(|(n, _)| *n == p.name))
        .filter_map(|p| match p.kind {
            ParamKind::Int { min: 0, max } => Some((p.name, max.clamp(0, max_k.into()) as u8)),
            _ => None,
        })
        .collect();
    if kinds.is_empty() {
        let names: Vec<&str> = Faults::COUNTS.iter().map(|(n, _)| *n).collect();
        return Err(InputError::Usage(format!(
            "model '{model}' declares no fault parameter ({}); `matrix` varies those, so \
             pick a model that has one (`list` shows each model's parameters)",
            names.join(", ")
        )));
    }
    // A fault kind fixed by `--param` is not varied: its column is left out.
    let declared: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
    let kinds: Vec<(&'static str, u8)> = kinds
        .into_iter()
        .filter(|(k, _)| fixed.iter().all(|f| f.name != *k))
        .collect();
    if kinds.is_empty() {
        return Err(InputError::Usage(format!(
            "--param fixes every fault kind of model '{model}' ({}), so the matrix has nothing \
             to vary; leave one of them free",
            declared.join(", ")
        )));
    }
    // (kind, k) -> the report's rows; runs with equal parameters are checked once.
    let mut runs: Vec<(Vec<Assignment>, Vec<check::ResultRow>)> = Vec::new();
    let mut grid: Vec<Vec<usize>> = Vec::new();
    for &(kind, tried) in &kinds {
        let mut column = Vec::new();
        for k in 0..=tried {
            let mut params = fixed.to_vec();
            params.push(Assignment::new(kind, Value::Int(k.into())));
            // Parameters left at their defaults make the same run for every kind at k = 0.
            let key = normalised(entry.params.iter().map(|p| (p.name, p.default)), &params);
            if let Some(i) = runs.iter().position(|(k, _)| *k == key) {
                column.push(i);
                continue;
            }
            let req = CheckRequest {
                model: model.into(),
                params,
                variant: variant.map(str::to_string),
                ..CheckRequest::default()
            };
            let report = check::check(catalog, &req, &mut |_| {})?;
            runs.push((key, report.results));
            column.push(runs.len() - 1);
        }
        grid.push(column);
    }
    let first = &runs[grid[0][0]].1;
    let rows = first
        .iter()
        .filter(|r| r.kind != PropertyKind::Reachability)
        .map(|r| Row {
            property: r.name.clone(),
            kind: r.kind,
            cells: grid
                .iter()
                .zip(&kinds)
                .map(|(column, &(_, tried))| {
                    let found: Vec<&check::ResultRow> = column
                        .iter()
                        .map(|&i| {
                            runs[i]
                                .1
                                .iter()
                                .find(|x| x.name == r.name)
                                .expect("every run has the model's properties")
                        })
                        .collect();
                    let verdicts: Vec<Outcome> = found.iter().map(|x| x.verdict).collect();
                    let first_fail = verdicts.iter().position(|v| *v != Outcome::Holds);
                    Cell {
                        survives: match first_fail {
                            None => Some(tried),
                            Some(0) => None,
                            Some(at) => Some(at as u8 - 1),
                        },
                        tried,
                        trace_length: first_fail.and_then(|at| found[at].trace_length),
                        verdicts,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Matrix {
        model: model.into(),
        variant: variant.map(str::to_string),
        params: fixed.iter().map(ToString::to_string).collect(),
        max_k,
        kinds: kinds.iter().map(|(k, _)| k.to_string()).collect(),
        rows,
    })
}

/// The run's parameters with every parameter present: the given value or the default, so
/// two runs with the same values are recognised as one.
fn normalised(
    defaults: impl Iterator<Item = (&'static str, Value)>,
    given: &[Assignment],
) -> Vec<Assignment> {
    defaults
        .map(|(name, default)| {
            given
                .iter()
                .rev()
                .find(|a| a.name == name)
                .cloned()
                .unwrap_or_else(|| Assignment::new(name, default))
        })
        .collect()
}

impl Matrix {
    fn grid(&self) -> Vec<Vec<String>> {
        let mut grid = vec![std::iter::once("property".to_string())
            .chain(self.kinds.iter().cloned())
            .collect::<Vec<_>>()];
        for row in &self.rows {
            grid.push(
                std::iter::once(row.property.clone())
                    .chain(row.cells.iter().map(Cell::text))
                    .collect(),
            );
        }
        grid
    }

    fn legend(&self) -> String {
        format!(
            "the largest k of faults each property survives (k = 0..{} per kind; ≥K: every k \
             tried; -: not even without faults; ?: the first k not holding was incomplete)",
            self.max_k
        )
    }

    /// Aligned text, with a legend.
    pub fn text(&self) -> String {
        format!(
            "{}: {}\n{}",
            self.model,
            self.legend(),
            super::table::aligned(&self.grid())
        )
    }

    /// A Markdown table, with a legend.
    pub fn markdown(&self) -> String {
        let grid = self.grid();
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", grid[0].join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(grid[0].len() - 1));
        for row in &grid[1..] {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let _ = writeln!(out, "\n{}: {}", self.model, self.legend());
        out
    }
}
