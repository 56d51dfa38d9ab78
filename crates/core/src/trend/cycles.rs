//! Tests of a series laid out as complete cycles × positions in the cycle (weeks × weekdays, years ×
//! calendar months): does the position matter, consistently from cycle to cycle?
//!
//! - [`cycle_table`] lays a daily series out (monthly means for the yearly layout).
//! - [`level_relative`]: for the yearly layout, each month is taken relative to the centred running
//!   median of 13 months (Tukey 1977, "Exploratory Data Analysis", ch. 7; windows shrink at the ends as in
//!   pandas' `rolling(13, center=True, min_periods=1).median()`). A running median follows level shifts
//!   and ramps (a champion leaves in October, a new team ramps up in March) that the STL trend, a
//!   1.5-year smoother, leaves in the remainder, yet ignores a peak or dip shorter than half its window,
//!   so a six-week retail season is not smoothed away.
//! - [`two_way_anova`]: the stable-seasonality F test of X-11 (Lothian & Morry 1978, table D8) with the
//!   cycle effect removed; [`Layout::strength`] the variance-components strength.
//! - [`peak_contrast`]: the largest contrast between one or two adjacent positions and the rest of the
//!   cycle, as a Student t on the same ANOVA's residual mean square, Bonferroni-adjusted over every
//!   window tried (a planned-contrast test, e.g. Montgomery, "Design and Analysis of Experiments", 3-5).
//!   Where the season is one short peak or dip, the omnibus F spreads its evidence over eleven degrees
//!   of freedom; the contrast keeps it in one.
//!
//! Both tests read a [`Layout`] and a residual variance with its degrees of freedom: the layout's own,
//! or one moderated across many series ([`super::moderate`]; infinite degrees of freedom give the
//! χ² and normal limits).
//!
//! Checked against statsmodels' `anova_lm` and `t_test` and pandas' rolling median (`cycles` unit tests).

use chrono::Datelike;
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor, Normal, StudentsT};

use super::moderate::Variance;
use super::series::epoch_date;

/// A blocks × positions table reduced to what the tests read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Rows (complete cycles).
    blocks: usize,
    /// Mean of each position (column).
    col_means: Vec<f64>,
    /// Grand mean.
    mean: f64,
    /// Residual (position × cycle) mean square.
    ms_error: f64,
}

impl Layout {
    /// `None` with fewer than two rows or columns.
    pub(crate) fn new(table: &[Vec<f64>]) -> Option<Self> {
        let b = table.len();
        let k = table.first()?.len();
        if b < 2 || k < 2 {
            return None;
        }
        let mean = table.iter().flatten().sum::<f64>() / (b * k) as f64;
        let row_means: Vec<f64> = table.iter().map(|r| r.iter().sum::<f64>() / k as f64).collect();
        let col_means: Vec<f64> = (0..k).map(|j| table.iter().map(|r| r[j]).sum::<f64>() / b as f64).collect();
        let ss_error: f64 = table
            .iter()
            .zip(&row_means)
            .flat_map(|(r, rm)| r.iter().zip(&col_means).map(move |(v, cm)| (v - rm - cm + mean).powi(2)))
            .sum();
        Some(Self { blocks: b, mean, ms_error: ss_error / ((k - 1) * (b - 1)) as f64, col_means })
    }

    /// The residual mean square and its (k − 1)(b − 1) degrees of freedom.
    pub(crate) fn residual(&self) -> Variance {
        Variance { s2: self.ms_error, df: ((self.col_means.len() - 1) * (self.blocks - 1)) as f64 }
    }

    /// Mean square of positions.
    fn ms_positions(&self) -> f64 {
        let ss = self.blocks as f64 * self.col_means.iter().map(|c| (c - self.mean).powi(2)).sum::<f64>();
        ss / (self.col_means.len() - 1) as f64
    }

    /// σ²_s / (σ²_s + σ²_e) from the variance components: σ²_e = MS_error, σ²_s = max(0, MS_positions −
    /// MS_error) / blocks (always on the table's own residual).
    pub(crate) fn strength(&self) -> f64 {
        let seasonal_var = (self.ms_positions() - self.ms_error).max(0.0) / self.blocks as f64;
        if seasonal_var > 0.0 { seasonal_var / (seasonal_var + self.ms_error) } else { 0.0 }
    }
}

/// The outcome of the stable-seasonality F test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AnovaTest {
    /// Mean square of positions over the residual variance.
    pub(crate) f: f64,
    /// Upper tail of F(k − 1, residual df) at `f`.
    pub(crate) p_value: f64,
}

/// The largest contrast between a window of adjacent positions and the rest of the cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PeakTest {
    /// First position of the window (0-based; the window wraps past the last position).
    pub(crate) start: usize,
    /// Positions in the window.
    pub(crate) width: usize,
    /// Mean of the window's positions minus the mean of the others.
    pub(crate) contrast: f64,
    /// Two-sided p-value of the window's t statistic times the number of windows tried, at most 1.
    pub(crate) p_value: f64,
}

/// The daily series `x` starting on day `start` laid out as complete cycles (rows) × positions in the
/// cycle: calendar months with monthly means, in rows of twelve from the first complete month, for
/// periods of 360 days or more; else consecutive runs of `period` days. `None` when the calendar cannot be
/// walked (dates out of range).
pub(crate) fn cycle_table(x: &[f64], start: i32, period: usize) -> Option<Vec<Vec<f64>>> {
    if period < 360 {
        return Some(x.chunks_exact(period).map(<[f64]>::to_vec).collect());
    }
    let mut months: Vec<(f64, usize)> = Vec::new();
    let mut current = None;
    for (v, month) in x.iter().zip(months_of_days(start, x.len())?) {
        if current != Some(month) {
            current = Some(month);
            months.push((0.0, 0));
        }
        let m = months.last_mut()?;
        m.0 += v;
        m.1 += 1;
    }
    let skip = usize::from(epoch_date(i64::from(start))?.day() != 1);
    let end = months.len() - usize::from(epoch_date(i64::from(start) + x.len() as i64)?.day() != 1);
    let complete: Vec<f64> = months.get(skip..end)?.iter().map(|(s, c)| s / *c as f64).collect();
    Some(complete.chunks_exact(12).map(<[f64]>::to_vec).collect())
}

/// The table's values, read in time order, minus their centred running median over `2 · half + 1`
/// values (fewer at the ends); see the module doc.
pub(crate) fn level_relative(table: &[Vec<f64>], half: usize) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = table.iter().flatten().copied().collect();
    let width = table.first().map_or(1, Vec::len).max(1);
    let mut window = Vec::with_capacity(2 * half + 1);
    let relative: Vec<f64> = (0..flat.len())
        .map(|i| {
            window.clear();
            window.extend_from_slice(&flat[i.saturating_sub(half)..(i + half + 1).min(flat.len())]);
            window.sort_unstable_by(f64::total_cmp);
            let m = window.len();
            let median = if m % 2 == 1 { window[m / 2] } else { 0.5 * (window[m / 2 - 1] + window[m / 2]) };
            flat[i] - median
        })
        .collect();
    relative.chunks(width).map(<[f64]>::to_vec).collect()
}

/// F test of the column (position) effect of a layout with the row (block) effect removed, on the
/// residual variance `residual` (the layout's own, [`Layout::residual`], or a moderated one).
pub(crate) fn two_way_anova(layout: &Layout, residual: Variance) -> AnovaTest {
    let f = layout.ms_positions() / residual.s2;
    let p_value = if f.is_nan() {
        1.0
    } else if f.is_infinite() {
        0.0
    } else {
        let k1 = (layout.col_means.len() - 1) as f64;
        if residual.df.is_infinite() {
            ChiSquared::new(k1).map_or(f64::NAN, |d| d.sf(f * k1))
        } else {
            FisherSnedecor::new(k1, residual.df).map_or(f64::NAN, |d| d.sf(f))
        }
    };
    AnovaTest { f, p_value }
}

/// The largest contrast (module doc) over windows of one and two adjacent positions of a layout, on the
/// residual variance `residual`; `None` with fewer than three positions.
pub(crate) fn peak_contrast(layout: &Layout, residual: Variance) -> Option<PeakTest> {
    let (b, k, col_means) = (layout.blocks, layout.col_means.len(), &layout.col_means);
    if k < 3 {
        return None;
    }
    let (normal, student) = (Normal::standard(), StudentsT::new(0.0, 1.0, residual.df).ok());
    let upper_tail = |t: f64| {
        if residual.df.is_infinite() { normal.sf(t) } else { student.as_ref().map_or(f64::NAN, |d| d.sf(t)) }
    };
    let total: f64 = col_means.iter().sum();
    let windows = 2 * k;
    let mut best: Option<PeakTest> = None;
    for width in 1..=2 {
        for start in 0..k {
            let inside = (0..width).map(|i| col_means[(start + i) % k]).sum::<f64>();
            let contrast = inside / width as f64 - (total - inside) / (k - width) as f64;
            let se = (residual.s2 / b as f64 * (1.0 / width as f64 + 1.0 / (k - width) as f64)).sqrt();
            let p = if se > 0.0 {
                2.0 * upper_tail((contrast / se).abs())
            } else if contrast == 0.0 {
                1.0
            } else {
                0.0
            };
            let candidate = PeakTest { start, width, contrast, p_value: (p * windows as f64).min(1.0) };
            if best.is_none_or(|b| candidate.p_value < b.p_value) {
                best = Some(candidate);
            }
        }
    }
    best
}

/// The month (0-11) of each of `len` days from `start`, walking the calendar one day at a time.
pub(crate) fn months_of_days(start: i32, len: usize) -> Option<Vec<u8>> {
    let mut date = epoch_date(i64::from(start))?;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(date.month0() as u8);
        date = date.succ_opt()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Vec<f64>> {
        vec![vec![1.0, 2.0, 3.0, 4.5], vec![2.0, 2.5, 4.0, 6.0], vec![0.5, 2.0, 2.0, 5.0], vec![1.5, 3.0, 3.5, 4.0]]
    }

    #[test]
    fn two_way_anova_matches_statsmodels() {
        // statsmodels: anova_lm(ols('y ~ C(j) + C(b)', d).fit()).loc['C(j)'] on this table (b rows, j columns).
        let layout = Layout::new(&table()).unwrap();
        let test = two_way_anova(&layout, layout.residual());
        assert!((test.f - 30.152542372881353).abs() < 1e-9, "{}", test.f);
        assert!((test.p_value - 5.020930843251911e-05).abs() < 1e-12, "{}", test.p_value);
        assert!(Layout::new(&table()[..1]).is_none());
    }

    #[test]
    fn peak_contrast_matches_statsmodels_t_test() {
        // tests/reference/cycles.py: the same fit's t_test of "mean of column 3 − mean of columns 0-2"
        // (the largest window) and its two-sided p, times the 8 windows tried.
        let layout = Layout::new(&table()).unwrap();
        let peak = peak_contrast(&layout, layout.residual()).unwrap();
        assert_eq!((peak.start, peak.width), (3, 1));
        assert!((peak.contrast - 2.624999999999996).abs() < 1e-12, "{}", peak.contrast);
        assert!((peak.p_value - 8.0 * P_COLUMN_3).abs() < 1e-12, "{}", peak.p_value);
    }

    #[test]
    fn a_known_variance_gives_the_chi_squared_and_normal_limits() {
        let layout = Layout::new(&table()).unwrap();
        // A variance 20 times the table's own keeps the p-values away from the far tail.
        let s2 = 20.0 * layout.residual().s2;
        let (known, large) = (Variance { s2, df: f64::INFINITY }, Variance { s2, df: 1e7 });
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs();
        let (a, b) = (two_way_anova(&layout, known).p_value, two_way_anova(&layout, large).p_value);
        assert!(close(a, b), "{a} {b}");
        let (a, b) = (peak_contrast(&layout, known).unwrap().p_value, peak_contrast(&layout, large).unwrap().p_value);
        assert!(close(a, b), "{a} {b}");
    }

    /// Two-sided p of the contrast t statistic from statsmodels (tests/reference/cycles.py).
    const P_COLUMN_3: f64 = 1.8128333860114037e-05;

    #[test]
    fn level_relative_matches_pandas_rolling_median() {
        // tests/reference/cycles.py: x − x.rolling(5, center=True, min_periods=1).median().
        let t = vec![vec![1.0, 4.0, 2.0], vec![8.0, 3.0, 5.0], vec![7.0, 0.5, 6.0]];
        let r = level_relative(&t, 2);
        let expected = EXPECTED_LEVEL_RELATIVE;
        for (got, want) in r.iter().flatten().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{r:?}");
        }
        // A step is followed and a one-value bump is kept whole.
        let step: Vec<Vec<f64>> = vec![vec![0.0, 0.0, 0.0, 0.0], vec![0.0, 9.0, 0.0, 0.0], vec![5.0, 5.0, 5.0, 5.0]];
        let r = level_relative(&step, 2);
        assert_eq!(r[1][1], 9.0);
        assert!(r[2].iter().all(|v| *v == 0.0), "{r:?}");
    }

    const EXPECTED_LEVEL_RELATIVE: [f64; 9] = [-1.0, 1.0, -1.0, 4.0, -2.0, 0.0, 2.0, -5.0, 0.0];
}
