//! Personal data in reports: masking by role, GDPR erasure, and the audit log.
//!
//! PII columns are the ones marked in the data contracts (`accountscope.pii`: `csm_owner`,
//! `contact_email`, survey `comment`) plus any a policy names. A [`PrivacyPolicy`] gives each role an action
//! per column: keep, mask (`J***`), hash (a keyed HMAC-SHA-256 token, RFC 2104, so the same value gives the
//! same token and joins still work, while the key's holder alone can link a token to a value) or drop.
//!
//! [`Privacy::apply`] runs on a finished report model before any renderer sees it, in two passes: PII
//! columns of every table are transformed by name or field metadata, then every string in the report
//! (titles, text, table cells, chart labels) is scanned for every PII value of the registered tables with
//! one Aho-Corasick automaton and each hit is replaced the same way, so a value that reached the report
//! through a renamed column or a `concat` in SQL is caught too.

mod audit;
mod erase;

pub use audit::{AuditEntry, AuditLog, sha256_hex};
pub use erase::{ErasedTable, ErasureReceipt, erase_account};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::contracts::{META_PII, TableKind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::report::{Block, Report, Section};

/// What happens to a PII value in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiAction {
    /// Shown as it is.
    Keep,
    /// First character kept, the rest replaced (`j***@***` for an e-mail address).
    Mask,
    /// Replaced by a keyed hash token (`pii_` and 16 hex digits): equal values give equal tokens.
    Hash,
    /// The column is removed; a value found elsewhere becomes `[redacted]`.
    Drop,
}

/// One role's actions: a default for every PII column and overrides by column name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// The action for PII columns not listed in `columns`.
    pub default: PiiAction,
    /// Actions by column name.
    #[serde(default)]
    pub columns: BTreeMap<String, PiiAction>,
}

impl RolePolicy {
    fn action(&self, column: &str) -> PiiAction {
        self.columns.get(column).copied().unwrap_or(self.default)
    }
}

/// Which columns are personal data and what each role may see of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyPolicy {
    /// PII column names beyond those marked in the contracts.
    #[serde(default)]
    pub pii_columns: Vec<String>,
    /// Policies by role; a role not listed gets `Drop` for everything.
    pub roles: BTreeMap<String, RolePolicy>,
}

impl Default for PrivacyPolicy {
    /// `csm` and `admin` see everything, `analyst` sees hash tokens (joins work), `executive` sees masked
    /// values; any other role sees no PII.
    fn default() -> Self {
        let role = |default| RolePolicy { default, columns: BTreeMap::new() };
        Self {
            pii_columns: Vec::new(),
            roles: BTreeMap::from([
                ("admin".into(), role(PiiAction::Keep)),
                ("csm".into(), role(PiiAction::Keep)),
                ("analyst".into(), role(PiiAction::Hash)),
                ("executive".into(), role(PiiAction::Mask)),
            ]),
        }
    }
}

/// A policy with the key for hash tokens.
#[derive(Clone)]
pub struct Privacy {
    policy: PrivacyPolicy,
    key: Vec<u8>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy").field("policy", &self.policy).field("key", &"<secret>").finish()
    }
}

const DROPPED: &str = "[redacted]";

impl Privacy {
    /// A policy and a secret key of at least 16 bytes for the hash tokens.
    pub fn new(policy: PrivacyPolicy, key: impl Into<Vec<u8>>) -> Result<Self> {
        let key = key.into();
        if key.len() < 16 {
            return Err(Error::config("privacy.key", format!("must be at least 16 bytes, got {}", key.len())));
        }
        Ok(Self { policy, key })
    }

    /// The policy.
    pub fn policy(&self) -> &PrivacyPolicy {
        &self.policy
    }

    /// The role's policy (`Drop` for everything when the role is not in the policy).
    pub fn role(&self, role: &str) -> RolePolicy {
        self.policy
            .roles
            .get(role)
            .cloned()
            .unwrap_or(RolePolicy { default: PiiAction::Drop, columns: BTreeMap::new() })
    }

    /// [`erase_account`], recorded in `audit` as done by `actor`: the account appears in the log only as
    /// its keyed hash token, with the SHA-256 of the receipt.
    pub fn erase(&self, engine: &Engine, account_id: &str, actor: &str, audit: &AuditLog) -> Result<ErasureReceipt> {
        let receipt = erase_account(engine, account_id)?;
        let text = serde_json::to_vec(&receipt)?;
        audit.record(AuditEntry {
            at: receipt.erased_at,
            actor: actor.to_string(),
            role: "privacy".into(),
            action: "erasure".into(),
            target: self.token(account_id),
            outputs: vec![(format!("receipt: {} rows removed", receipt.rows_removed()), sha256_hex(&text))],
        })?;
        Ok(receipt)
    }

    /// The keyed hash token of a value.
    pub fn token(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("pii_{hex}")
    }

    /// A value as `action` shows it (`None` for `Drop`).
    pub fn transform(&self, action: PiiAction, value: &str) -> Option<String> {
        match action {
            PiiAction::Keep => Some(value.to_string()),
            PiiAction::Hash => Some(self.token(value)),
            PiiAction::Drop => None,
            PiiAction::Mask => Some(mask(value)),
        }
    }

    /// Whether a column holds PII: marked in its field metadata, a contract PII column, or named by the policy.
    pub fn is_pii(&self, field: &Field) -> bool {
        field.metadata().get(META_PII).is_some_and(|v| v == "true")
            || contract_pii().contains(field.name().as_str())
            || self.policy.pii_columns.iter().any(|c| c == field.name())
    }

    /// A batch with its PII columns transformed for `role` (dropped columns removed).
    pub fn mask_batch(&self, role: &str, batch: &RecordBatch) -> Result<RecordBatch> {
        let policy = self.role(role);
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            if !self.is_pii(field) {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
                continue;
            }
            match policy.action(field.name()) {
                PiiAction::Keep => {
                    fields.push(field.as_ref().clone());
                    columns.push(column.clone());
                }
                PiiAction::Drop => {}
                action => {
                    let text = cast(column, &DataType::Utf8)?;
                    let masked: StringArray =
                        text.as_string::<i32>().iter().map(|v| v.and_then(|v| self.transform(action, v))).collect();
                    fields.push(Field::new(field.name(), DataType::Utf8, true).with_metadata(field.metadata().clone()));
                    columns.push(Arc::new(masked) as ArrayRef);
                }
            }
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, batch.schema().metadata().clone()));
        Ok(RecordBatch::try_new_with_options(
            schema,
            columns,
            &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?)
    }

    /// Masks a report for `role` in place: PII columns of its tables by name, then every PII value of the
    /// engine's registered tables wherever it appears in the report. Returns how many values the second
    /// pass replaced.
    pub fn apply(&self, engine: &Engine, role: &str, report: &mut Report) -> Result<usize> {
        let policy = self.role(role);
        if policy.default == PiiAction::Keep && policy.columns.values().all(|a| *a == PiiAction::Keep) {
            return Ok(0);
        }
        for_each_section(&mut report.sections, &mut |s| {
            for block in &mut s.blocks {
                if let Block::Table(t) = block {
                    let masked = self.mask_batch(role, &t.data)?;
                    let keep: Vec<usize> = t
                        .data
                        .schema()
                        .fields()
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| masked.schema().index_of(f.name()).is_ok())
                        .map(|(i, _)| i)
                        .collect();
                    t.formats = keep.iter().map(|&i| t.formats[i]).collect();
                    t.data = masked;
                }
            }
            Ok(())
        })?;
        let scrubber = Scrubber::new(self, &policy, engine)?;
        scrubber.report(report)
    }

    fn pii_values(&self, engine: &Engine) -> Result<Vec<(String, String)>> {
        let mut values = BTreeSet::new();
        for table in engine.tables() {
            let schema = engine.schema(&table)?;
            for field in schema.fields() {
                if !self.is_pii(field) {
                    continue;
                }
                let column = field.name();
                let sql = format!(
                    "SELECT DISTINCT CAST(\"{}\" AS VARCHAR) AS v FROM \"{table}\"",
                    column.replace('"', "\"\"")
                );
                for batch in engine.sql(&sql)?.batches() {
                    let text = cast(batch.column(0), &DataType::Utf8)?;
                    for v in text.as_string::<i32>().iter().flatten() {
                        // Very short values (an initial) would match inside ordinary words.
                        if v.trim().chars().count() >= 3 {
                            values.insert((v.to_string(), column.clone()));
                        }
                    }
                }
            }
        }
        Ok(values.into_iter().collect())
    }
}

fn contract_pii() -> BTreeSet<&'static str> {
    TableKind::ALL.iter().flat_map(|k| k.columns().iter().filter(|c| c.pii).map(|c| c.name)).collect()
}

fn mask(value: &str) -> String {
    let first: String = value.chars().take(1).collect();
    if value.contains('@') { format!("{first}***@***") } else { format!("{first}***") }
}

fn for_each_section(sections: &mut [Section], f: &mut dyn FnMut(&mut Section) -> Result<()>) -> Result<()> {
    for s in sections {
        f(s)?;
        for_each_section(&mut s.sections, f)?;
    }
    Ok(())
}

/// Replaces every PII value found in a string.
struct Scrubber {
    automaton: Option<AhoCorasick>,
    replacements: Vec<String>,
}

impl Scrubber {
    fn new(privacy: &Privacy, policy: &RolePolicy, engine: &Engine) -> Result<Self> {
        let values = privacy.pii_values(engine)?;
        let replacements = values
            .iter()
            .map(|(v, column)| privacy.transform(policy.action(column), v).unwrap_or_else(|| DROPPED.into()))
            .collect();
        let automaton = if values.is_empty() {
            None
        } else {
            let patterns = values.iter().map(|(v, _)| v.as_str());
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns)
                    .map_err(|e| Error::Internal(format!("PII automaton: {e}")))?,
            )
        };
        Ok(Self { automaton, replacements })
    }

    fn text(&self, text: &mut String, hits: &mut usize) {
        let Some(a) = &self.automaton else { return };
        if !a.is_match(text.as_str()) {
            return;
        }
        *hits += a.find_iter(text.as_str()).count();
        *text = a.replace_all(text, &self.replacements);
    }

    fn column(&self, column: &ArrayRef, hits: &mut usize) -> Result<ArrayRef> {
        let Some(a) = &self.automaton else { return Ok(column.clone()) };
        if !matches!(column.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
            return Ok(column.clone());
        }
        let text = cast(column, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        if !text.iter().flatten().any(|v| a.is_match(v)) {
            return Ok(column.clone());
        }
        let out: StringArray = text
            .iter()
            .map(|v| {
                v.map(|v| {
                    let mut s = v.to_string();
                    self.text(&mut s, hits);
                    s
                })
            })
            .collect();
        Ok(cast(&(Arc::new(out) as ArrayRef), column.data_type())?)
    }

    fn report(&self, report: &mut Report) -> Result<usize> {
        let mut hits = 0;
        self.text(&mut report.title, &mut hits);
        if let Some(s) = &mut report.subtitle {
            self.text(s, &mut hits);
        }
        for (_, v) in &mut report.filters {
            self.text(v, &mut hits);
        }
        for_each_section(&mut report.sections, &mut |s| {
            self.text(&mut s.title, &mut hits);
            for block in &mut s.blocks {
                match block {
                    Block::Text(t) => self.text(&mut t.text, &mut hits),
                    Block::Kpis(tiles) => tiles.iter_mut().for_each(|k| self.text(&mut k.label, &mut hits)),
                    Block::Chart(c) => {
                        for t in [&mut c.title, &mut c.x_label, &mut c.y_label] {
                            self.text(t, &mut hits);
                        }
                        c.series.iter_mut().for_each(|s| self.text(&mut s.name, &mut hits));
                        if let crate::report::XValues::Categories(labels) = &mut c.x {
                            labels.iter_mut().for_each(|l| self.text(l, &mut hits));
                        }
                    }
                    Block::Table(t) => {
                        self.text(&mut t.title, &mut hits);
                        let columns =
                            t.data.columns().iter().map(|c| self.column(c, &mut hits)).collect::<Result<Vec<_>>>()?;
                        t.data = RecordBatch::try_new(t.data.schema(), columns)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_keyed_and_stable() {
        let a = Privacy::new(PrivacyPolicy::default(), b"0123456789abcdef".to_vec()).unwrap();
        let b = Privacy::new(PrivacyPolicy::default(), b"fedcba9876543210".to_vec()).unwrap();
        assert_eq!(a.token("jane@example.com"), a.token("jane@example.com"));
        assert_ne!(a.token("jane@example.com"), b.token("jane@example.com"));
        assert_eq!(a.token("x").len(), 4 + 16);
        assert_eq!(mask("jane@example.com"), "j***@***");
        assert!(Privacy::new(PrivacyPolicy::default(), b"short".to_vec()).is_err());
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
