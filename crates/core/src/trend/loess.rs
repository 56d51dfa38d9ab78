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
    // A centred window whose robustness weights are not all 1 still has the centred tricube weights:
    // looked up instead of computed point by point (the same bits).
    let tricube = (s.len < n).then(|| centred_tricube(s.len));
    let not_one: Option<Vec<u32>> = rw.map(|w| {
        let (mut count, mut running) = (vec![0; n + 1], 0);
        for (c, v) in count[1..].iter_mut().zip(w) {
            running += u32::from(*v != 1.0);
            *c = running;
        }
        count
    });
    let unit_window = |nleft: usize, nright: usize| not_one.as_ref().is_none_or(|c| c[nright] == c[nleft - 1]);
    // The Fortran's window of the fit at `i`: the `len` points around it, shifted inside the series at
    // the ends (all of it when `len` ≥ n).
    let half = s.len.div_ceil(2);
    let window = |i: usize| {
        if s.len >= n {
            (1, n)
        } else {
            let nleft = (i + 1).saturating_sub(half).clamp(1, n - s.len + 1);
            (nleft, nleft + s.len - 1)
        }
    };
    let kernel_fits = |i: usize| {
        let (nleft, nright) = window(i);
        nright + 1 - nleft == s.len && 2 * i == nleft + nright && unit_window(nleft, nright)
    };
    let general = |i: usize| {
        let (nleft, nright) = window(i);
        let fit = match tricube.as_deref().filter(|_| nright + 1 - nleft == s.len && 2 * i == nleft + nright) {
            Some(w) => {
                let h = ((s.len - 1) / 2) as f64;
                local_fit(y, s.deg, i as f64, h, nleft, nright, rw, |j, _| Some(w[j - nleft]).filter(|w| *w > 0.0))
            }
            None => loess_at(y, s.len, s.deg, i as f64, nleft, nright, rw),
        };
        fit.unwrap_or(y[i - 1])
    };
    // Fits every `jump` points; runs of kernel fits are convolved together.
    let mut i = 1;
    while i <= n {
        if let Some(k) = kernel.as_deref().filter(|_| kernel_fits(i)) {
            let first = i;
            while i <= n && kernel_fits(i) {
                i += jump;
            }
            convolve(k, y, ys, first - 1, (i - first) / jump, jump);
        } else {
            ys[i - 1] = general(i);
            i += jump;
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
        // As the Fortran does: the last point is fitted on the window of the last fit of the loop (never
        // centred on n, so never the kernel).
        let (nleft, nright) = window(k);
        ys[n - 1] = loess_at(y, s.len, s.deg, n as f64, nleft, nright, rw).unwrap_or(y[n - 1]);
        if k != n - 1 {
            let delta = (ys[n - 1] - ys[k - 1]) / (n - k) as f64;
            for j in k + 1..n {
                ys[j - 1] = ys[k - 1] + delta * (j - k) as f64;
            }
        }
    }
}

/// `ys[o] = Σ_t k[t] · y[o − h + t]` (h = half the kernel) for `count` outputs `o = first, first + step,
/// …`, each sum in the order of `t` from −0.0 as `Iterator::sum` adds (the same bits as one fit at a
/// time). Four sums run side by side: one sum is a chain of dependent additions, four keep the
/// floating-point unit busy.
fn convolve(k: &[f64], y: &[f64], ys: &mut [f64], first: usize, count: usize, step: usize) {
    let (len, h) = (k.len(), k.len() / 2);
    let window = |j: usize| &y[first + j * step - h..][..len];
    let mut j = 0;
    while j + 4 <= count {
        let (w0, w1, w2, w3) = (window(j), window(j + 1), window(j + 2), window(j + 3));
        let mut acc = [-0.0_f64; 4];
        for t in 0..len {
            acc[0] += k[t] * w0[t];
            acc[1] += k[t] * w1[t];
            acc[2] += k[t] * w2[t];
            acc[3] += k[t] * w3[t];
        }
        for (a, value) in acc.into_iter().enumerate() {
            ys[first + (j + a) * step] = value;
        }
        j += 4;
    }
    for j in j..count {
        ys[first + j * step] = k.iter().zip(window(j)).map(|(k, y)| k * y).sum();
    }
}

/// The normalised tricube weights of a window of `len` points centred on its middle point, computed as
/// [`loess_at`] computes them.
fn symmetric_kernel(len: usize) -> Vec<f64> {
    let mut k = centred_tricube(len);
    let a: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= a);
    k
}

/// The tricube weights of a window of `len` points centred on its middle point, bit for bit as
/// [`loess_at`] computes them (0 where it leaves a point out).
fn centred_tricube(len: usize) -> Vec<f64> {
    let h = ((len - 1) / 2) as f64;
    let (h9, h1) = (0.999 * h, 0.001 * h);
    (0..len)
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
        .collect()
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
    let mut h = (xs - nleft as f64).max(nright as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let tricube = |_: usize, r: f64| {
        if r > h9 {
            None
        } else if r <= h1 {
            Some(1.0)
        } else {
            let q = r / h;
            let t = 1.0 - q * q * q;
            Some(t * t * t)
        }
    };
    local_fit(y, deg, xs, h, nleft, nright, rw, tricube)
}

/// [`loess_at`] with the tricube weight of point `j` at distance `r` from `xs` given by `tricube(j, r)`
/// (`None`: outside the window). One pass: Σw, Σw·d, Σw·d², Σw·y, Σw·d·y with d = j − xs; the
/// local-linear fit in closed form.
#[allow(clippy::too_many_arguments)]
fn local_fit(
    y: &[f64],
    deg: u8,
    xs: f64,
    h: f64,
    nleft: usize,
    nright: usize,
    rw: Option<&[f64]>,
    tricube: impl Fn(usize, f64) -> Option<f64>,
) -> Option<f64> {
    let range = y.len() as f64 - 1.0;
    let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in nleft..=nright {
        let d = j as f64 - xs;
        let Some(mut wj) = tricube(j, d.abs()) else {
            continue;
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
    fn convolution_has_the_bits_of_one_fit_at_a_time() {
        let y: Vec<f64> = (0..60).map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.3 + (i as f64).sin()).collect();
        let k = symmetric_kernel(7);
        for (first, count, step) in [(3, 50, 1), (5, 23, 2), (3, 3, 1), (4, 0, 3)] {
            let mut ys = vec![f64::NAN; 60];
            convolve(&k, &y, &mut ys, first, count, step);
            for j in 0..count {
                let o = first + j * step;
                let one: f64 = k.iter().zip(&y[o - 3..o + 4]).map(|(k, y)| k * y).sum();
                assert_eq!(ys[o].to_bits(), one.to_bits(), "output {o}");
            }
            assert_eq!(ys.iter().filter(|v| !v.is_nan()).count(), count);
        }
    }

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
