//! Histogram gradient-boosted decision trees: binning, leaf-wise training, prediction, TreeSHAP and
//! persistence.
//!
//! The algorithm is LightGBM's (Ke et al., "LightGBM: A Highly Efficient Gradient Boosting Decision Tree",
//! NeurIPS 2017) and its parameters keep LightGBM's names and defaults. It is written here because linfa
//! has no gradient boosting and linfa-trees fits classification trees only (BUILD-NOTES.md), and because
//! the library needs what bindings to LightGBM would not give: Arrow input with a strict feature schema,
//! bit-identical results for any thread count, and a model file that is safe to load from untrusted
//! sources. Details and evaluation: `docs/gbdt.md`.
//!
//! ```
//! use accountscope::gbdt::{Dataset, Features, GbdtParams, train};
//! use ndarray::Array2;
//!
//! let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
//! let y: Vec<f64> = x.rows().into_iter().map(|r| f64::from(u8::from(r[0] > 8.0))).collect();
//! let data = Dataset::new(Features::from_array(x.view(), None, &[])?, y, None)?;
//! let params = GbdtParams { num_iterations: 20, min_data_in_leaf: 5, ..GbdtParams::default() };
//! let model = train(&params, &data)?;
//! let p = model.predict_row(&[12.0, 3.0])?;
//! assert!(p > 0.9);
//! # Ok::<(), accountscope::Error>(())
//! ```

mod binning;
mod booster;
mod data;
mod forest;
mod grow;
mod linfa_traits;
mod objective;
mod params;
mod persist;
mod shap;
mod split;
mod train;
mod tree;

pub use booster::{Booster, Importance, StopReason, TrainingInfo};
pub use data::{Dataset, FeatureInfo, FeatureKind, Features, MAX_CATEGORY_CODE, Value};
pub use params::{GbdtParams, Metric, Objective};
pub use persist::{FORMAT_VERSION, MAGIC, MAX_MODEL_BYTES};
pub use train::{Progress, Training, train};
pub use tree::{Node, Tree};
