//! Loess as STL uses it (Cleveland et al. 1990, the Fortran `stless` / `stlest`): local linear (or
//! constant) fits with tricube weights, times robustness weights when given, at every `jump`-th point with
//! linear interpolation between.
//!
//! Positions are 1-based, as in the Fortran, so rounding follows the reference. Two shortcuts keep it
//! exact up to rounding: a fit whose window is centred on its point has fixed weights when every
//! robustness weight in it is 1 or there are none (the interior is a convolution with one kernel), and
//! each fit is one pass with the local-linear estimate in closed form.

use super::stl::Smoother;

/// Loess smoothing of a whole series with fits every `jump` points (Fortran `stless`).
pub(crate) fn loess_smooth(y: &[f64], s: Smoother, rw: Option<&[f64]>, ys: &mut [f64]) {
    let n = y.len();
    if n < 2 {
        ys[0] = y[0];
        return;
    }
    let jump = s.jump.min(n - 1);
    // Without robustness weights, every fit whose window is centred on its point has the same weights
    // (tricube, normalised; the local-linear correction vanishes by symmetry): a fixed kernel, so the
    // interior of the series is a convolution. Equal to the general fit up to rounding.
    // With robustness weights, a window whose weights are all exactly 1 is the same fit: count the other
    // weights so such windows take the kernel too (a fixed-weight fit that leaves out a few outliers).
    let kernel = (s.len < n).then(|| symmetric_kernel(s.len));
    let not_one: Option<Vec<u32>> = rw.map(|w| {
        let mut count = Vec::with_capacity(n + 1);
        count.push(0);
        for v in w {
            count.push(count[count.len() - 1] + u32::from(*v != 1.0));
        }
        count
    });
    let unit_window = |nleft: usize, nright: usize| not_one.as_ref().is_none_or(|c| c[nright] == c[nleft - 1]);
    let at = |xs: usize, nleft: usize, nright: usize| {
        if let Some(k) = kernel
            .as_deref()
            .filter(|_| nright + 1 - nleft == s.len && 2 * xs == nleft + nright && unit_window(nleft, nright))
        {
            return k.iter().zip(&y[nleft - 1..nright]).map(|(k, y)| k * y).sum();
        }
        loess_at(y, s.len, s.deg, xs as f64, nleft, nright, rw).unwrap_or(y[xs - 1])
    };
    let (mut nleft, mut nright);
    if s.len >= n {
        (nleft, nright) = (1, n);
        for i in (1..=n).step_by(jump) {
            ys[i - 1] = at(i, nleft, nright);
        }
    } else if jump == 1 {
        let half = s.len.div_ceil(2);
        (nleft, nright) = (1, s.len);
        for i in 1..=n {
            if i > half && nright != n {
                nleft += 1;
                nright += 1;
            }
            ys[i - 1] = at(i, nleft, nright);
        }
        return;
    } else {
        let half = s.len.div_ceil(2);
        (nleft, nright) = (1, s.len);
        for i in (1..=n).step_by(jump) {
            if i < half {
                (nleft, nright) = (1, s.len);
            } else if i > n - half {
                (nleft, nright) = (n - s.len + 1, n);
            } else {
                (nleft, nright) = (i + 1 - half, s.len + i - half);
            }
            ys[i - 1] = at(i, nleft, nright);
        }
    }
    if jump == 1 {
        return;
    }
    let mut i = 1;
    while i + jump <= n {
        let delta = (ys[i + jump - 1] - ys[i - 1]) / jump as f64;
        for j in i + 1..i + jump {
            ys[j - 1] = ys[i - 1] + delta * (j - i) as f64;
        }
        i += jump;
    }
    let k = ((n - 1) / jump) * jump + 1;
    if k != n {
        ys[n - 1] = at(n, nleft, nright);
        if k != n - 1 {
            let delta = (ys[n - 1] - ys[k - 1]) / (n - k) as f64;
            for j in k + 1..n {
                ys[j - 1] = ys[k - 1] + delta * (j - k) as f64;
            }
        }
    }
}

/// The normalised tricube weights of a window of `len` points centred on its middle point, computed as
/// [`loess_at`] computes them.
fn symmetric_kernel(len: usize) -> Vec<f64> {
    let h = ((len - 1) / 2) as f64;
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let mut k: Vec<f64> = (0..len)
        .map(|j| {
            let r = (j as f64 - h).abs();
            if r > h9 {
                0.0
            } else if r <= h1 {
                1.0
            } else {
                let q = r / h;
                let t = 1.0 - q * q * q;
                t * t * t
            }
        })
        .collect();
    let a: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= a);
    k
}

/// The loess estimate at position `xs` (1-based) from the points `nleft..=nright` with tricube weights
/// (times robustness weights), local linear when `deg` is 1 (Fortran `stlest`). `None` when every
/// weight is zero.
#[allow(clippy::too_many_arguments)]
pub(crate) fn loess_at(
    y: &[f64],
    len: usize,
    deg: u8,
    xs: f64,
    nleft: usize,
    nright: usize,
    rw: Option<&[f64]>,
) -> Option<f64> {
    let n = y.len();
    let range = n as f64 - 1.0;
    let mut h = (xs - nleft as f64).max(nright as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    // One pass: Σw, Σw·d, Σw·d², Σw·y, Σw·d·y with d = j − xs; the local-linear fit in closed form.
    let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in nleft..=nright {
        let d = j as f64 - xs;
        let r = d.abs();
        if r > h9 {
            continue;
        }
        let mut wj = if r <= h1 {
            1.0
        } else {
            let q = r / h;
            let t = 1.0 - q * q * q;
            t * t * t
        };
        if let Some(rw) = rw {
            wj *= rw[j - 1];
        }
        let yj = y[j - 1];
        s0 += wj;
        s1 += wj * d;
        s2 += wj * d * d;
        t0 += wj * yj;
        t1 += wj * d * yj;
    }
    if s0 <= 0.0 {
        return None;
    }
    let (mean_d, level) = (s1 / s0, t0 / s0);
    if h > 0.0 && deg > 0 {
        let c = (s2 / s0 - mean_d * mean_d).max(0.0);
        if c.sqrt() > 0.001 * range {
            return Some(level - mean_d / c * (t1 / s0 - mean_d * level));
        }
    }
    Some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loess_of_a_line_is_the_line() {
        let y: Vec<f64> = (0..20).map(|i| 2.0 + 0.5 * i as f64).collect();
        let mut out = vec![0.0; 20];
        loess_smooth(&y, Smoother { len: 7, deg: 1, jump: 3 }, None, &mut out);
        for (a, b) in out.iter().zip(&y) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
