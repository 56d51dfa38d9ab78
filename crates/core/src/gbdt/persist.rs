//! Saving and loading models: a readable JSON form and a compact binary form of the same versioned,
//! self-describing document (feature schema with category maps, objective, parameters, trees, training
//! metadata).
//!
//! Binary layout: the 8-byte magic `ACSGBDT\0`, the format version (u32 LE), the payload length (u64 LE),
//! the CRC-32 of the payload (u32 LE), then the payload in postcard (a stable, documented serde wire
//! format whose sequence preallocation is bounded by the input length). Loading checks, in order: size
//! limit, magic, version, length, checksum, decoding, then the model's structure ([`Tree::check`],
//! parameter validation, finite values) — so a truncated, corrupted, wrong-version or hostile file is a
//! typed [`Error::Model`] and never a panic, an endless loop or an unbounded allocation.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::booster::Booster;
use super::data::FeatureKind;
use crate::error::{Error, Result};

/// The binary form's magic bytes.
pub const MAGIC: &[u8; 8] = b"ACSGBDT\0";
/// Current model format version.
pub const FORMAT_VERSION: u32 = 1;
/// Largest model file accepted (1 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 30;
/// The JSON form's `format` field.
const FORMAT_NAME: &str = "accountscope-gbdt";
const HEADER: usize = 8 + 4 + 8 + 4;

#[derive(Serialize, Deserialize)]
struct JsonDocument {
    format: String,
    version: u32,
    model: Booster,
}

#[derive(Serialize)]
struct JsonDocumentRef<'a> {
    format: &'a str,
    version: u32,
    model: &'a Booster,
}

fn bad(message: impl Into<String>) -> Error {
    Error::Model(format!("invalid model file: {}", message.into()))
}

impl Booster {
    /// The model as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String> {
        let doc = JsonDocumentRef { format: FORMAT_NAME, version: FORMAT_VERSION, model: self };
        Ok(serde_json::to_string_pretty(&doc)?)
    }

    /// A model from its JSON form.
    pub fn from_json(text: &str) -> Result<Self> {
        let doc: JsonDocument = serde_json::from_str(text).map_err(|e| bad(format!("JSON: {e}")))?;
        if doc.format != FORMAT_NAME {
            return Err(bad(format!("format '{}', expected '{FORMAT_NAME}'", doc.format)));
        }
        check_version(doc.version)?;
        doc.model.check()?;
        Ok(doc.model)
    }

    /// The model in the compact binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = postcard::to_allocvec(self).map_err(|e| Error::Internal(format!("encoding a model: {e}")))?;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// A model from the binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() as u64 > MAX_MODEL_BYTES {
            return Err(bad(format!("{} bytes is over the {MAX_MODEL_BYTES}-byte limit", bytes.len())));
        }
        if bytes.len() < HEADER {
            return Err(bad(format!("{} bytes is shorter than the {HEADER}-byte header (truncated?)", bytes.len())));
        }
        if &bytes[..8] != MAGIC {
            return Err(bad("not an accountscope GBDT model (magic bytes differ)"));
        }
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        check_version(word(8))?;
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&bytes[12..20]);
        let len = u64::from_le_bytes(len_bytes);
        let payload = &bytes[HEADER..];
        if len != payload.len() as u64 {
            return Err(bad(format!("header says {len} payload bytes, file has {} (truncated?)", payload.len())));
        }
        if crc32fast::hash(payload) != word(20) {
            return Err(bad("checksum mismatch (the file is corrupted)"));
        }
        let model: Booster = postcard::from_bytes(payload).map_err(|e| bad(format!("decoding: {e}")))?;
        model.check()?;
        Ok(model)
    }

    /// Saves to `path`: JSON when the extension is `.json`, the binary form otherwise.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes =
            if path.extension().is_some_and(|e| e == "json") { self.to_json()?.into_bytes() } else { self.to_bytes()? };
        std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
    }

    /// Loads a model saved by [`Self::save`] (either form, recognised by the magic bytes).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let size = std::fs::metadata(path).map_err(|e| Error::io(path.display(), e))?.len();
        if size > MAX_MODEL_BYTES {
            return Err(bad(format!("{}: {size} bytes is over the {MAX_MODEL_BYTES}-byte limit", path.display())));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        if bytes.starts_with(MAGIC) {
            Self::from_bytes(&bytes)
        } else {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| bad(format!("{}: neither binary nor UTF-8 JSON", path.display())))?;
            Self::from_json(text)
        }
    }

    /// Structural validation of a decoded model.
    pub(crate) fn check(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(bad("no features"));
        }
        for f in &self.features {
            if let FeatureKind::Categorical { categories: Some(c) } = &f.kind
                && c.windows(2).any(|w| w[0] >= w[1])
            {
                return Err(bad(format!("categories of '{}' are not sorted and distinct", f.name)));
            }
        }
        self.params.validate().map_err(|e| bad(format!("parameters: {e}")))?;
        if !self.init_score.is_finite() {
            return Err(bad("non-finite initial score"));
        }
        for (i, tree) in self.trees.iter().enumerate() {
            tree.check(&self.features, &format!("tree {i}"))?;
        }
        Ok(())
    }
}

fn check_version(version: u32) -> Result<()> {
    if version == 0 || version > FORMAT_VERSION {
        return Err(bad(format!("format version {version}; this accountscope reads versions 1..={FORMAT_VERSION}")));
    }
    Ok(())
}
