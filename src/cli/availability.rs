//! `ftcheck availability`: the lecture's dependability arithmetic ("Basic Concepts").
//!
//! A component that fails after a mean time `MTTF` and is repaired in a mean time `MTTR` is
//! available a fraction `A = MTTF / (MTTF + MTTR)` of the time. A group of `n` such components,
//! failing and repaired independently (each has its own repair), that works while at least `k`
//! are up has the steady-state availability of the continuous-time Markov chain whose state is
//! the number of components up: from `i` up, a failure (rate `i / MTTF`) leads to `i - 1`, a
//! repair (rate `(n - i) / MTTR`) to `i + 1`. ftcheck solves that chain's balance equations
//! `πQ = 0, Σπ = 1` by Gaussian elimination and cross-checks the result against the closed form
//! for independent components, `Σ_{i ≥ k} C(n, i) Aⁱ (1 - A)ⁿ⁻ⁱ`.

use crate::error::InputError;
use serde::Serialize;

/// The computed figures.
#[derive(Clone, Debug, Serialize)]
pub struct Availability {
    /// Mean time to failure of a component.
    pub mttf: f64,
    /// Mean time to repair.
    pub mttr: f64,
    /// One component's availability.
    pub component: f64,
    /// The group, if one was asked for.
    pub group: Option<Group>,
}

/// A k-of-n group's availability.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// Components.
    pub n: usize,
    /// Components that must be up.
    pub k: usize,
    /// From the Markov chain.
    pub markov: f64,
    /// From the closed form for independent components.
    pub closed_form: f64,
    /// The steady-state probability of each number of components up (index = components up).
    pub distribution: Vec<f64>,
}

fn positive(name: &str, v: f64) -> Result<f64, InputError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(InputError::Usage(format!(
            "--{name} {v} must be a positive, finite time (e.g. --{name} 1000)"
        )))
    }
}

/// The steady state of the chain over `0..=n` components up.
fn markov(n: usize, mttf: f64, mttr: f64) -> Vec<f64> {
    let (fail, repair) = (1.0 / mttf, 1.0 / mttr);
    let size = n + 1;
    // Generator Q: q[i][j] is the rate from i up to j up.
    let mut q = vec![vec![0.0; size]; size];
    for i in 0..size {
        if i > 0 {
            q[i][i - 1] = i as f64 * fail;
        }
        if i < n {
            q[i][i + 1] = (n - i) as f64 * repair;
        }
        q[i][i] = -q[i].iter().sum::<f64>();
    }
    // Solve πQ = 0 with Σπ = 1: the transposed system, its last equation replaced by Σπ = 1.
    let mut a: Vec<Vec<f64>> = (0..size)
        .map(|row| (0..size).map(|col| q[col][row]).collect())
        .collect();
    let mut b = vec![0.0; size];
    a[size - 1] = vec![1.0; size];
    b[size - 1] = 1.0;
    for col in 0..size {
        let pivot = (col..size)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .expect("a non-empty range");
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (pivot_row, pivot_b) = (a[col].clone(), b[col]);
        for (row, (r, rb)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            if row != col && r[col] != 0.0 {
                let f = r[col] / pivot_row[col];
                for (x, p) in r.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
                *rb -= f * pivot_b;
            }
        }
    }
    (0..size).map(|i| b[i] / a[i][i]).collect()
}

fn binomial(n: usize, i: usize) -> f64 {
    (0..i).fold(1.0, |acc, j| acc * (n - j) as f64 / (j + 1) as f64)
}

/// Computes a component's availability and, with `group = Some((n, k))`, a k-of-n group's.
pub fn availability(
    mttf: f64,
    mttr: f64,
    group: Option<(usize, usize)>,
) -> Result<Availability, InputError> {
    let (mttf, mttr) = (positive("mttf", mttf)?, positive("mttr", mttr)?);
    let a = mttf / (mttf + mttr);
    let group = match group {
        None => None,
        Some((n, k)) => {
            if n == 0 || n > 64 {
                return Err(InputError::Usage(format!(
                    "--n {n}: a group has 1 to 64 components"
                )));
            }
            if k == 0 || k > n {
                return Err(InputError::Usage(format!(
                    "--k {k} must be between 1 and --n {n} (the components that must be up)"
                )));
            }
            let distribution = markov(n, mttf, mttr);
            let closed_form = (k..=n)
                .map(|i| binomial(n, i) * a.powi(i as i32) * (1.0 - a).powi((n - i) as i32))
                .sum();
            Some(Group {
                n,
                k,
                markov: distribution[k..].iter().sum(),
                closed_form,
                distribution,
            })
        }
    };
    Ok(Availability {
        mttf,
        mttr,
        component: a,
        group,
    })
}

impl Availability {
    /// The figures as text.
    pub fn text(&self) -> String {
        let per_year = |a: f64| (1.0 - a) * 365.25 * 24.0;
        let mut out = format!(
            "component: MTTF {}, MTTR {}: A = MTTF / (MTTF + MTTR) = {:.9} (down {:.3} h per year, times in hours)\n",
            self.mttf,
            self.mttr,
            self.component,
            per_year(self.component)
        );
        if let Some(g) = &self.group {
            out.push_str(&format!(
                "group {}-of-{} (independent failures and repairs): A = {:.9} from the Markov chain \
                 ({} states), {:.9} from the closed form (difference {:.1e}); down {:.3} h per year\n",
                g.k,
                g.n,
                g.markov,
                g.n + 1,
                g.closed_form,
                (g.markov - g.closed_form).abs(),
                per_year(g.markov)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_up_mttf_out_of_mttf_plus_mttr() {
        let a = availability(1000.0, 10.0, None).unwrap();
        assert!((a.component - 1000.0 / 1010.0).abs() < 1e-15);
        assert!((availability(5.0, 5.0, None).unwrap().component - 0.5).abs() < 1e-15);
    }

    #[test]
    fn two_of_three_with_components_at_ninety_percent() {
        // A = 0.9: 3 · 0.9² · 0.1 + 0.9³ = 0.972.
        let g = availability(9.0, 1.0, Some((3, 2))).unwrap().group.unwrap();
        assert!((g.closed_form - 0.972).abs() < 1e-12);
        assert!((g.markov - 0.972).abs() < 1e-12);
        assert!((g.distribution.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_chain_agrees_with_the_closed_form_for_every_k() {
        for n in 1..=12 {
            for k in 1..=n {
                let g = availability(730.0, 8.0, Some((n, k)))
                    .unwrap()
                    .group
                    .unwrap();
                assert!((g.markov - g.closed_form).abs() < 1e-12, "{k}-of-{n}");
            }
        }
    }

    #[test]
    fn bad_inputs_name_the_input_and_the_fix() {
        let err = |m, r, g| availability(m, r, g).unwrap_err().to_string();
        assert!(err(0.0, 1.0, None).contains("--mttf 0 must be a positive, finite time"));
        assert!(err(1.0, -2.0, None).contains("--mttr -2 must be a positive"));
        assert!(err(1.0, f64::NAN, None).contains("--mttr NaN"));
        assert!(err(1.0, 1.0, Some((3, 4))).contains("--k 4 must be between 1 and --n 3"));
        assert!(err(1.0, 1.0, Some((0, 1))).contains("--n 0"));
    }
}
