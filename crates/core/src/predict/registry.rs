//! A model registry on disk: one folder per model name, one numbered folder per version holding the model
//! (JSON, the GBDT's trees checked on load like any model file), and a card with its kind, feature set,
//! metrics, training-data lineage and creation time; a `CHAMPION` file names the promoted version. The
//! layout is MLflow's model registry reduced to files: list, register, load, promote.
//!
//! ```text
//! <root>/<name>/v0001/model.json   the model
//! <root>/<name>/v0001/card.json    ModelCard
//! <root>/<name>/CHAMPION           "1"
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ChurnModel, ExpansionModel};
use crate::error::{Error, Result};

/// What the registry records about a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Model name (folder).
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// `churn` or `expansion`.
    pub kind: String,
    /// Feature-set version the model reads.
    pub feature_set: String,
    /// Creation time (RFC 3339, UTC).
    pub created_at: String,
    /// Evaluation figures (any JSON).
    pub metrics: serde_json::Value,
    /// Where the training data came from (any JSON: snapshot range, row counts, input fingerprints).
    pub lineage: serde_json::Value,
}

/// A model the registry can store.
pub trait Registrable: Serialize + DeserializeOwned {
    /// The kind written on the card.
    const KIND: &'static str;
    /// The feature-set version it reads.
    fn feature_set(&self) -> &str;
    /// Checks the structure of every tree after loading.
    fn check(&self) -> Result<()>;
}

impl Registrable for ChurnModel {
    const KIND: &'static str = "churn";
    fn feature_set(&self) -> &str {
        ChurnModel::feature_set(self)
    }
    fn check(&self) -> Result<()> {
        self.horizons().iter().try_for_each(|(h, m)| {
            m.booster().check()?;
            if m.booster().features() != self.features() {
                return Err(Error::Model(format!(
                    "invalid churn model: the {h}-day model reads other features than the primary one"
                )));
            }
            Ok(())
        })
    }
}

impl Registrable for ExpansionModel {
    const KIND: &'static str = "expansion";
    fn feature_set(&self) -> &str {
        ExpansionModel::feature_set(self)
    }
    fn check(&self) -> Result<()> {
        self.horizons().iter().try_for_each(|h| {
            h.classifier.booster().check()?;
            h.amount.check()?;
            h.low.check()?;
            h.high.check()
        })
    }
}

/// A registry rooted at a folder.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path.display(), e)
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::config("registry.name", format!("use letters, digits, '-' and '_', got '{name}'")))
    }
}

impl Registry {
    /// Opens (creating) the registry at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        Ok(Self { root })
    }

    fn version_dir(&self, name: &str, version: u32) -> PathBuf {
        self.root.join(name).join(format!("v{version:04}"))
    }

    /// Stores `model` as the next version of `name`; returns its card.
    pub fn register<M: Registrable>(
        &self,
        name: &str,
        model: &M,
        metrics: serde_json::Value,
        lineage: serde_json::Value,
    ) -> Result<ModelCard> {
        check_name(name)?;
        let version = self.list(name)?.last().map_or(1, |c| c.version + 1);
        let dir = self.version_dir(name, version);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let card = ModelCard {
            name: name.into(),
            version,
            kind: M::KIND.into(),
            feature_set: model.feature_set().into(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            metrics,
            lineage,
        };
        let write = |file: &str, text: String| {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(io(&path))
        };
        write("model.json", serde_json::to_string(model)?)?;
        write("card.json", serde_json::to_string_pretty(&card)?)?;
        Ok(card)
    }

    /// Every version of `name`, oldest first.
    pub fn list(&self, name: &str) -> Result<Vec<ModelCard>> {
        check_name(name)?;
        let dir = self.root.join(name);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut cards = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path().join("card.json");
            if path.exists() {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let card: ModelCard = serde_json::from_str(&text)
                    .map_err(|e| Error::Model(format!("invalid model card '{}': {e}", path.display())))?;
                cards.push(card);
            }
        }
        cards.sort_by_key(|c| c.version);
        Ok(cards)
    }

    /// Loads version `version` of `name` (`None`: the champion, else the latest).
    pub fn load<M: Registrable>(&self, name: &str, version: Option<u32>) -> Result<(M, ModelCard)> {
        let cards = self.list(name)?;
        let wanted = match version {
            Some(v) => Some(v),
            None => self.champion(name)?.or_else(|| cards.last().map(|c| c.version)),
        };
        let card = cards.into_iter().find(|c| Some(c.version) == wanted).ok_or_else(|| Error::NotFitted {
            what: format!("model '{name}' (version {wanted:?}) in registry {}", self.root.display()),
        })?;
        if card.kind != M::KIND {
            return Err(Error::Model(format!(
                "model '{name}' v{} is a {} model, not {}",
                card.version,
                card.kind,
                M::KIND
            )));
        }
        let path = self.version_dir(name, card.version).join("model.json");
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let model: M = serde_json::from_str(&text)
            .map_err(|e| Error::Model(format!("invalid model file '{}': {e}", path.display())))?;
        model.check()?;
        Ok((model, card))
    }

    /// Makes `version` the champion of `name`.
    pub fn promote(&self, name: &str, version: u32) -> Result<()> {
        if !self.list(name)?.iter().any(|c| c.version == version) {
            return Err(Error::invalid(format!("registry '{name}'"), format!("no version {version}")));
        }
        let path = self.root.join(name).join("CHAMPION");
        std::fs::write(&path, version.to_string()).map_err(io(&path))
    }

    /// The champion version of `name`, if one was promoted.
    pub fn champion(&self, name: &str) -> Result<Option<u32>> {
        check_name(name)?;
        let path = self.root.join(name).join("CHAMPION");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        text.trim().parse().map(Some).map_err(|_| Error::Model(format!("'{}' does not hold a version", path.display())))
    }
}
