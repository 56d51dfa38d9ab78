//! Predictions on point-in-time features: churn risk by horizon with calibrated probabilities, an
//! operating threshold, reasons and recommended actions; expansion probability, amount and a portfolio
//! forecast; the evaluation report shared by every model.
//!
//! Each model is a [`BinaryClassifier`]: our GBDT (`crate::gbdt`) trained on the earlier snapshots,
//! early-stopped, calibrated (Platt or isotonic, chosen on held-out time) and given its threshold on the
//! later ones, with reasons from exact TreeSHAP turned into sentences by the feature definitions
//! ([`crate::features::FEATURES`]). Method and measured results: `docs/predictions.md`.

pub mod backtest;
pub mod calibrate;
mod churn;
mod classifier;
pub mod compare;
pub mod drift;
pub mod evaluate;
mod expansion;
mod playbook;
mod queries;
mod registry;
mod trajectory;

pub use backtest::{Fold, known_at, rolling_origin, snapshots_between};
pub use calibrate::{Calibration, Calibrator};
pub use churn::{ChurnConfig, ChurnModel, HorizonEvaluation};
pub use classifier::{BinaryClassifier, ClassifierConfig, Columns, Reason};
pub use compare::{Comparison, delong_test};
pub use drift::{FeatureDrift, ReferenceProfile, RetrainDecision, RetrainPolicy, drift_table};
pub use evaluate::{CalibrationBin, Evaluation, LiftBin, ThresholdTarget, choose_threshold, evaluate};
pub use expansion::{ExpansionConfig, ExpansionModel, HorizonExpansion};
pub use playbook::{Play, Playbook};
pub use registry::{ModelCard, Registrable, Registry};
pub use trajectory::{Forecaster, HorizonTrajectory, TrajectoryConfig, TrajectoryModel, health_targets};
