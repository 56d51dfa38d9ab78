//! Data contracts: the canonical Arrow schemas of customer-success data, and conformance of any input
//! (a CRM export, a warehouse extract, a DataFrame) onto them.
//!
//! The canonical tables are documented column by column in `docs/data-model.md`. Every canonical field is
//! nullable in Arrow so that dirty data can still be loaded and then validated; which columns a table must
//! have, and which must be non-null after validation, is recorded in field metadata
//! (`accountscope.required`), as are PII columns (`accountscope.pii`) for masking in reports.
//! Dates are `Date32`; instants are `Timestamp(Millisecond, "UTC")`; counts are `Int32`; money is `Float64`
//! in the account's billing currency.

mod conform;

pub(crate) use conform::cast_array;
pub use conform::{
    CastFailure, CastPolicy, ColumnMapping, Conformed, ConformedTable, Conformer, DEFAULT_DATE_FORMATS,
    DEFAULT_TIMESTAMP_FORMATS, ExtraColumns, conform, days_since_epoch,
};

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Field metadata key: `"true"` when the column must be present in every input.
pub const META_REQUIRED: &str = "accountscope.required";
/// Field metadata key: `"true"` when the column holds personal data (masked in reports).
pub const META_PII: &str = "accountscope.pii";
/// Field metadata key: the column's description.
pub const META_DESCRIPTION: &str = "accountscope.description";
/// Schema metadata key: the canonical table name.
pub const META_TABLE: &str = "accountscope.table";

/// The canonical input tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// One row per customer account.
    Accounts,
    /// One row per account per day of product usage.
    Usage,
    /// One row per support ticket.
    Tickets,
    /// One row per survey response (NPS).
    Surveys,
    /// One row per subscription revenue event.
    Revenue,
    /// One row per account: did it churn, when and why.
    ChurnLabels,
    /// One row per expansion of an account.
    ExpansionLabels,
}

/// Description of one canonical column.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// Canonical column name.
    pub name: &'static str,
    /// Canonical Arrow type.
    pub data_type: ColumnType,
    /// Whether every input must have the column.
    pub required: bool,
    /// Whether the column holds personal data.
    pub pii: bool,
    /// What the column means.
    pub description: &'static str,
}

/// The small set of canonical column types (snake-case names in configuration files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// A calendar date (`Date32`).
    Date,
    /// An instant in UTC with millisecond precision.
    Timestamp,
    /// A 32-bit count.
    Count,
    /// A 64-bit float (money, scores).
    Float,
    /// A boolean flag.
    Bool,
}

impl ColumnType {
    /// The Arrow type of this column type.
    pub fn arrow(self) -> DataType {
        match self {
            Self::Text => DataType::Utf8,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            Self::Count => DataType::Int32,
            Self::Float => DataType::Float64,
            Self::Bool => DataType::Boolean,
        }
    }
}

const fn col(name: &'static str, data_type: ColumnType, required: bool, description: &'static str) -> ColumnSpec {
    ColumnSpec { name, data_type, required, pii: false, description }
}

const fn pii(name: &'static str, description: &'static str) -> ColumnSpec {
    ColumnSpec { name, data_type: ColumnType::Text, required: false, pii: true, description }
}

use ColumnType::{Bool, Count, Date, Float, Text, Timestamp};

const ACCOUNTS: &[ColumnSpec] = &[
    col("account_id", Text, true, "Unique account identifier."),
    col("name", Text, true, "Company name."),
    col("segment", Text, true, "Customer segment: SMB, MidMarket or Enterprise."),
    col("industry", Text, true, "Industry, e.g. Education, Retail, Software."),
    col("plan", Text, true, "Subscription plan: Starter, Growth, Business or Enterprise."),
    col("region", Text, true, "Sales region: NA, EMEA, APAC or LATAM."),
    col("start_date", Date, true, "Date the first contract started."),
    col("renewal_date", Date, false, "End of the current contract term (next renewal date)."),
    col("arr", Float, true, "Annual recurring revenue at export time (0 when churned)."),
    col("seats_purchased", Count, true, "Seats (licences) in the current contract."),
    pii("csm_owner", "Name of the customer success manager who owns the account."),
    pii("contact_email", "E-mail address of the main customer contact (the champion)."),
];

const USAGE: &[ColumnSpec] = &[
    col("account_id", Text, true, "Account the usage belongs to (foreign key to accounts)."),
    col("date", Date, true, "Calendar day (UTC) of the usage."),
    col("active_users", Count, true, "Distinct users active that day."),
    col("logins", Count, false, "Successful logins that day."),
    col("sessions", Count, false, "Product sessions that day."),
    col("features_used", Count, false, "Distinct product features used that day (of a catalogue of 20)."),
    col("feature_events", Count, false, "Events on key (sticky) features that day."),
    col("api_calls", Count, false, "API requests that day."),
    col("seats_used", Count, false, "Seats assigned to users that day."),
];

const TICKETS: &[ColumnSpec] = &[
    col("ticket_id", Text, true, "Unique ticket identifier."),
    col("account_id", Text, true, "Account that opened the ticket (foreign key to accounts)."),
    col("opened_at", Timestamp, true, "When the ticket was opened."),
    col("closed_at", Timestamp, false, "When the ticket was closed; null while open."),
    col("priority", Text, true, "low, medium, high or urgent."),
    col("category", Text, false, "bug, how_to, billing, feature_request, outage or integration."),
    col("csat", Count, false, "Customer satisfaction rating 1-5 after closing; null if not answered."),
];

const SURVEYS: &[ColumnSpec] = &[
    col("response_id", Text, true, "Unique survey response identifier."),
    col("account_id", Text, true, "Account of the respondent (foreign key to accounts)."),
    col("date", Date, true, "Day the response was given."),
    col("nps", Count, true, "Net Promoter Score answer, 0-10."),
    ColumnSpec {
        name: "comment",
        data_type: Text,
        required: false,
        pii: true,
        description: "Free-text comment (may contain personal data).",
    },
];

const REVENUE: &[ColumnSpec] = &[
    col("event_id", Text, true, "Unique revenue event identifier."),
    col("account_id", Text, true, "Account (foreign key to accounts)."),
    col("date", Date, true, "Effective date of the change."),
    col("event_type", Text, true, "new, expansion, contraction, churn or renewal."),
    col("mrr_delta", Float, true, "Change in monthly recurring revenue; the sum per account is its current MRR."),
    col(
        "seats",
        Count,
        false,
        "Seats in the contract after the event (0 after churn); gives point-in-time seat counts.",
    ),
];

const CHURN_LABELS: &[ColumnSpec] = &[
    col("account_id", Text, true, "Account (foreign key to accounts)."),
    col("churned", Bool, true, "Whether the account churned within the observed period."),
    col("churn_date", Date, false, "Day the account churned; null when it did not."),
    col("reason", Text, false, "Churn reason as recorded by the CS team."),
];

const EXPANSION_LABELS: &[ColumnSpec] = &[
    col("account_id", Text, true, "Account (foreign key to accounts)."),
    col("date", Date, true, "Day the expansion took effect."),
    col("expansion_mrr", Float, true, "Added monthly recurring revenue (> 0)."),
];

impl TableKind {
    /// Every canonical table, in pipeline order.
    pub const ALL: [TableKind; 7] = [
        Self::Accounts,
        Self::Usage,
        Self::Tickets,
        Self::Surveys,
        Self::Revenue,
        Self::ChurnLabels,
        Self::ExpansionLabels,
    ];

    /// The table's canonical name (also its name in the [`crate::engine::Engine`]).
    pub fn name(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Usage => "usage",
            Self::Tickets => "tickets",
            Self::Surveys => "surveys",
            Self::Revenue => "revenue",
            Self::ChurnLabels => "churn_labels",
            Self::ExpansionLabels => "expansion_labels",
        }
    }

    /// Looks a table up by its canonical name.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            Error::config("table", format!("unknown table '{name}'; known tables: {known:?}"))
        })
    }

    /// The table's columns, in canonical order.
    pub fn columns(self) -> &'static [ColumnSpec] {
        match self {
            Self::Accounts => ACCOUNTS,
            Self::Usage => USAGE,
            Self::Tickets => TICKETS,
            Self::Surveys => SURVEYS,
            Self::Revenue => REVENUE,
            Self::ChurnLabels => CHURN_LABELS,
            Self::ExpansionLabels => EXPANSION_LABELS,
        }
    }

    /// The key columns that identify a row (used by validation's uniqueness checks).
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Self::Accounts | Self::ChurnLabels => &["account_id"],
            Self::Usage | Self::ExpansionLabels => &["account_id", "date"],
            Self::Tickets => &["ticket_id"],
            Self::Surveys => &["response_id"],
            Self::Revenue => &["event_id"],
        }
    }

    /// The canonical Arrow schema, with the column descriptions and flags as field metadata.
    pub fn schema(self) -> SchemaRef {
        let fields: Vec<Field> = self.columns().iter().map(ColumnSpec::field).collect();
        let meta = HashMap::from([(META_TABLE.to_string(), self.name().to_string())]);
        Arc::new(Schema::new_with_metadata(fields, meta))
    }
}

impl ColumnSpec {
    /// The Arrow field of this column (always nullable; see the module doc).
    pub fn field(&self) -> Field {
        let mut meta = HashMap::from([(META_DESCRIPTION.to_string(), self.description.to_string())]);
        if self.required {
            meta.insert(META_REQUIRED.to_string(), "true".to_string());
        }
        if self.pii {
            meta.insert(META_PII.to_string(), "true".to_string());
        }
        Field::new(self.name, self.data_type.arrow(), true).with_metadata(meta)
    }
}

/// Names of the PII columns of a schema, read from field metadata.
pub fn pii_columns(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| f.metadata().get(META_PII).is_some_and(|v| v == "true"))
        .map(|f| f.name().clone())
        .collect()
}
