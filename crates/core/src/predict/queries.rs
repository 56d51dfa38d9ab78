//! The seed's prediction calls as [`Engine`] methods: features of the registered tables at a date, one
//! account's churn risk with reasons and actions, and the portfolio's expansion opportunities.

use arrow::array::{AsArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::Float64Type;
use chrono::NaiveDate;

use super::{ChurnModel, ExpansionModel, Playbook};
use crate::engine::{Engine, sql_text};
use crate::error::{Error, Result};
use crate::features::{FeatureConfig, FeatureInputs, FeatureTable, build_features};
use crate::table::{Table, column};

impl Engine {
    /// Point-in-time features (no labels) of every account — or of `account_id` only — at `as_of`, from
    /// the registered `accounts`, `usage`, `tickets`, `surveys`, `revenue` and, when registered,
    /// `churn_labels` (accounts churned before `as_of` are left out), `health_history` (`account_id`,
    /// `date`, `score`) and `anomaly_events`.
    pub fn features_at(&self, as_of: NaiveDate, account_id: Option<&str>) -> Result<FeatureTable> {
        let registered = self.tables();
        let read = |name: &str| -> Result<Table> {
            match account_id {
                Some(id) => self.sql(&format!("SELECT * FROM {name} WHERE account_id = {}", sql_text(id))),
                None => self.table(name),
            }
        };
        let optional = |name: &str| -> Result<Option<Table>> {
            if registered.iter().any(|t| t == name) { read(name).map(Some) } else { Ok(None) }
        };
        let (accounts, usage, tickets) = (read("accounts")?, read("usage")?, read("tickets")?);
        let (surveys, revenue) = (read("surveys")?, read("revenue")?);
        let (churn, health, anomalies) =
            (optional("churn_labels")?, optional("health_history")?, optional("anomaly_events")?);
        if account_id.is_some() && accounts.num_rows() == 0 {
            return Err(Error::invalid("accounts", format!("no account '{}'", account_id.unwrap_or_default())));
        }
        let inputs = FeatureInputs {
            accounts: &accounts,
            usage: &usage,
            tickets: &tickets,
            surveys: &surveys,
            revenue: &revenue,
            churn_labels: churn.as_ref(),
            expansion_labels: None,
            health: health.as_ref(),
            anomalies: anomalies.as_ref(),
        };
        let config = FeatureConfig {
            snapshots: vec![as_of],
            labels: false,
            observed_until: as_of.pred_opt(),
            ..FeatureConfig::default()
        };
        build_features(&inputs, &config)
    }

    /// One account's churn risk at `as_of`: one row with its probabilities by horizon, `at_risk`, reasons
    /// and recommended actions ([`ChurnModel::predict`]). An account that had churned or not started by
    /// then gives no row.
    pub fn churn_risk(
        &self,
        model: &ChurnModel,
        account_id: &str,
        as_of: NaiveDate,
        playbook: &Playbook,
    ) -> Result<Table> {
        let features = self.features_at(as_of, Some(account_id))?;
        model.predict(&features.table, playbook)
    }

    /// The `top` accounts by expected expansion MRR within `horizon` days of `as_of`, with the columns of
    /// [`ExpansionModel::predict`].
    pub fn expansion_opportunities(
        &self,
        model: &ExpansionModel,
        as_of: NaiveDate,
        horizon: u32,
        top: usize,
    ) -> Result<Table> {
        let features = self.features_at(as_of, None)?;
        let predicted = model.predict(&features.table)?.concat()?;
        let name = format!("expected_expansion_mrr_{horizon}d");
        let expected = column(&predicted, &name, "expansion predictions")?.as_primitive::<Float64Type>().clone();
        let mut order: Vec<u32> = (0..predicted.num_rows() as u32).collect();
        order.sort_by(|&a, &b| expected.value(b as usize).total_cmp(&expected.value(a as usize)).then(a.cmp(&b)));
        order.truncate(top);
        Ok(Table::from_batch(take_record_batch(&predicted, &UInt32Array::from(order))?))
    }
}
