//! `ftcheck table`: a model checked over a grid of parameter values, each cell naming the
//! reachability properties reached there. For `rpc-semantics` (rows `client`, columns `server`
//! and `ordering`) it is the lecture's table of outcomes, derived by exhaustive search.

use crate::catalog::{Assignment, Catalog};
use crate::check::{self, CheckRequest};
use crate::engine::CheckOptions;
use crate::error::InputError;
use crate::protocol::{ParamKind, Value};
use crate::runner::PropertyKind;
use serde::Serialize;
use std::fmt::Write as _;

/// A computed table.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// Model name.
    pub model: String,
    /// The parameter of the rows.
    pub rows_param: String,
    /// The parameters of the columns.
    pub cols_params: Vec<String>,
    /// Row labels (values of the row parameter).
    pub rows: Vec<String>,
    /// Column labels (values of the column parameters, space separated).
    pub cols: Vec<String>,
    /// `cells[row][col]`: the reachability properties reached, `None` where the parameters do
    /// not fit together.
    pub cells: Vec<Vec<Option<Vec<String>>>>,
}

fn values(catalog: &Catalog, model: &str, name: &str) -> Result<Vec<Value>, InputError> {
    let entry = catalog.find(model)?;
    let spec = entry.param(name)?;
    Ok(match spec.kind {
        ParamKind::Choice { options } => options.iter().map(|&o| Value::Choice(o)).collect(),
        ParamKind::Bool => vec![Value::Bool(false), Value::Bool(true)],
        ParamKind::Int { min, max } => {
            if max - min >= 32 {
                return Err(InputError::Usage(format!(
                    "parameter {name} of '{model}' has {} values; fix it with --param or \
                     tabulate a parameter with at most 32",
                    max - min + 1
                )));
            }
            (min..=max).map(Value::Int).collect()
        }
    })
}

/// Checks `model` for every row value of `rows` and every combination of the `cols` values,
/// with `fixed` for the other parameters.
pub fn table(
    catalog: &Catalog,
    model: &str,
    rows: &str,
    cols: &[String],
    fixed: &[Assignment],
) -> Result<Table, InputError> {
    // Each parameter is one axis or fixed, never two of these.
    let mut axes: Vec<&str> = vec![rows];
    for c in cols {
        if axes.contains(&c.as_str()) {
            return Err(InputError::Usage(format!(
                "parameter {c} is an axis of the table twice; name each parameter once in --rows and --cols"
            )));
        }
        axes.push(c);
    }
    for f in fixed {
        let name = f.name.as_str();
        if axes.contains(&name) {
            return Err(InputError::Usage(format!(
                "--param {f} fixes {name}, which is an axis of the table; drop it or take {name} out of --rows/--cols"
            )));
        }
    }
    let row_values = values(catalog, model, rows)?;
    let mut col_values: Vec<Vec<(String, Value)>> = vec![vec![]];
    for c in cols {
        let vs = values(catalog, model, c)?;
        col_values = col_values
            .into_iter()
            .flat_map(|prefix| {
                vs.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((c.clone(), *v));
                    p
                })
            })
            .collect();
    }
    let mut cells = vec![vec![None; col_values.len()]; row_values.len()];
    for (i, r) in row_values.iter().enumerate() {
        for (j, col) in col_values.iter().enumerate() {
            let mut params = fixed.to_vec();
            params.push(Assignment::new(rows, *r));
            params.extend(col.iter().map(|(k, v)| Assignment::new(k.as_str(), *v)));
            let req = CheckRequest {
                model: model.into(),
                params,
                variant: None,
                options: CheckOptions::default(),
                ..CheckRequest::default()
            };
            match check::check(catalog, &req, &mut |_| {}) {
                Ok(report) => {
                    if let Some(why) = report.stopped {
                        return Err(InputError::Usage(format!(
                            "the check of cell {r} / {} stopped ({why}); a table needs \
                             complete searches",
                            label(col)
                        )));
                    }
                    cells[i][j] = Some(
                        report
                            .results
                            .iter()
                            .filter(|p| p.kind == PropertyKind::Reachability)
                            .filter(|p| p.verdict == crate::runner::Outcome::Reached)
                            .map(|p| p.name.clone())
                            .collect(),
                    );
                }
                Err(InputError::Inconsistent { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    // Drop the columns where no row fits.
    let keep: Vec<usize> = (0..col_values.len())
        .filter(|&j| cells.iter().any(|row| row[j].is_some()))
        .collect();
    Ok(Table {
        model: model.into(),
        rows_param: rows.into(),
        cols_params: cols.to_vec(),
        rows: row_values.iter().map(Value::to_string).collect(),
        cols: keep.iter().map(|&j| label(&col_values[j])).collect(),
        cells: cells
            .into_iter()
            .map(|row| keep.iter().map(|&j| row[j].clone()).collect())
            .collect(),
    })
}

fn label(col: &[(String, Value)]) -> String {
    col.iter()
        .map(|(_, v)| v.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The rows of `grid` as lines of columns, each as wide as its widest cell (in characters),
/// two spaces apart.
pub(crate) fn aligned(grid: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..grid.first().map_or(0, Vec::len))
        .map(|j| {
            grid.iter()
                .map(|row| row[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in grid {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

fn cell_text(c: &Option<Vec<String>>) -> String {
    match c {
        None => "n/a".into(),
        Some(v) if v.is_empty() => "-".into(),
        Some(v) => v.join(" "),
    }
}

impl Table {
    /// Aligned text.
    pub fn text(&self) -> String {
        let mut grid = vec![std::iter::once(self.rows_param.clone())
            .chain(self.cols.iter().cloned())
            .collect::<Vec<_>>()];
        for (r, row) in self.rows.iter().zip(&self.cells) {
            grid.push(
                std::iter::once(r.clone())
                    .chain(row.iter().map(cell_text))
                    .collect(),
            );
        }
        aligned(&grid)
    }

    /// A Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| {} \\ {} | {} |",
            self.rows_param,
            self.cols_params.join(" "),
            self.cols.join(" | ")
        );
        let _ = writeln!(out, "|---|{}", "---|".repeat(self.cols.len()));
        for (r, row) in self.rows.iter().zip(&self.cells) {
            let cells: Vec<String> = row.iter().map(cell_text).collect();
            let _ = writeln!(out, "| {r} | {} |", cells.join(" | "));
        }
        out
    }
}
