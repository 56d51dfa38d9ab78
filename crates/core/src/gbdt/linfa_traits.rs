//! linfa's `Fit` and `PredictInplace` for the booster, so it works with `linfa::Dataset` beside the rest
//! of the Rust ML ecosystem (linfa's trait design, `linfa/src/traits.rs`).

use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, ArrayBase, Data, Ix2};

use super::booster::Booster;
use super::data::{Dataset, Features};
use super::params::GbdtParams;
use super::train::train;
use crate::error::Error;

/// Trains on a linfa dataset of `f64` records and targets; linfa's sample weights become sample weights.
/// Features are named `f0, f1, ...`; `categorical_features` may name them.
impl<D, T> Fit<ArrayBase<D, Ix2>, T, Error> for GbdtParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = Booster;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Booster, Error> {
        let features = Features::from_array(dataset.records.view(), None, &self.categorical_features)?;
        let label = dataset.targets.as_single_targets().to_vec();
        let weight = dataset.weights().map(|w| w.iter().map(|&v| f64::from(v)).collect());
        train(self, &Dataset::new(features, label, weight)?)
    }
}

/// Predicts probabilities (binary) or means. linfa's trait cannot return an error: input whose column count
/// differs from the model's gives NaN predictions; use [`Booster::predict_array`] to get the error.
impl<D> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for Booster
where
    D: Data<Elem = f64>,
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        match self.predict_array(x.view(), false) {
            Ok(p) if p.len() == y.len() => y.iter_mut().zip(p).for_each(|(o, v)| *o = v),
            _ => y.fill(f64::NAN),
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
