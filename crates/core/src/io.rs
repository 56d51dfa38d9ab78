//! Reading and writing tables as record-batch streams: CSV, Parquet, JSON lines and Arrow IPC (file and
//! stream), with bounded memory (one batch at a time in both directions).
//!
//! Readers and writers are Arrow's own (`arrow-csv`, `arrow-json`, `arrow-ipc`, `parquet::arrow`); this
//! module picks the format, infers or applies a schema and turns every failure into an [`Error`] that names
//! the file. Conformance onto the canonical tables is [`crate::contracts`]' job.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatchReader;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A stream of record batches that can be sent to another thread.
pub type BatchReader = Box<dyn RecordBatchReader + Send>;

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma (or other delimiter) separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
    /// Arrow IPC file format (Feather v2), random access.
    IpcFile,
    /// Arrow IPC stream format.
    IpcStream,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [Self::Csv, Self::Parquet, Self::JsonLines, Self::IpcFile, Self::IpcStream];

    /// The format of a path, from its extension: `.csv`/`.tsv`, `.parquet`/`.pq`, `.jsonl`/`.ndjson`/`.json`,
    /// `.arrow`/`.feather`/`.ipc`, `.arrows`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Ok(match ext.as_str() {
            "csv" | "tsv" => Self::Csv,
            "parquet" | "pq" => Self::Parquet,
            "jsonl" | "ndjson" | "json" => Self::JsonLines,
            "arrow" | "feather" | "ipc" => Self::IpcFile,
            "arrows" => Self::IpcStream,
            _ => {
                return Err(Error::config(
                    "format",
                    format!(
                        "cannot tell the format of '{}' from its extension; name it (csv, parquet, json_lines, ipc_file, ipc_stream)",
                        path.display()
                    ),
                ));
            }
        })
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::JsonLines => "jsonl",
            Self::IpcFile => "arrow",
            Self::IpcStream => "arrows",
        }
    }
}

/// Options for reading a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadOptions {
    /// The format; `None` means from the extension.
    pub format: Option<Format>,
    /// Rows per batch.
    pub batch_size: usize,
    /// CSV field delimiter (a single ASCII character); `.tsv` files default to a tab.
    pub delimiter: Option<char>,
    /// Whether a CSV file has a header row.
    pub has_header: bool,
    /// Rows read to infer a CSV / JSON schema when none is given.
    pub infer_rows: usize,
    /// The schema to read CSV / JSON with (skips inference); ignored for self-describing formats.
    #[serde(skip)]
    pub schema: Option<SchemaRef>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { format: None, batch_size: 65_536, delimiter: None, has_header: true, infer_rows: 10_000, schema: None }
    }
}

impl ReadOptions {
    /// Reads CSV / JSON with this schema instead of inferring one.
    pub fn with_schema(mut self, schema: SchemaRef) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Reads as this format whatever the extension says.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path.display(), e))
}

fn csv_delimiter(path: &Path, options: &ReadOptions) -> Result<u8> {
    let c = options
        .delimiter
        .unwrap_or_else(|| if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) { '\t' } else { ',' });
    u8::try_from(c)
        .map_err(|_| Error::config("delimiter", format!("the CSV delimiter must be one ASCII character, got {c:?}")))
}

/// Wraps a reader so that errors name the file.
struct Named {
    inner: BatchReader,
    path: PathBuf,
}

impl Iterator for Named {
    type Item = std::result::Result<RecordBatch, arrow::error::ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| {
            r.map_err(|e| {
                arrow::error::ArrowError::ExternalError(Box::new(Error::invalid(
                    format!("file '{}'", self.path.display()),
                    e.to_string(),
                )))
            })
        })
    }
}

impl RecordBatchReader for Named {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

/// Opens a file as a stream of record batches.
pub fn open(path: impl AsRef<Path>, options: &ReadOptions) -> Result<BatchReader> {
    let path = path.as_ref();
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let at = |e: arrow::error::ArrowError| Error::invalid(format!("file '{}'", path.display()), e.to_string());
    let inner: BatchReader = match format {
        Format::Csv => {
            let delimiter = csv_delimiter(path, options)?;
            let mut file = open_file(path)?;
            let schema = match &options.schema {
                Some(s) => s.clone(),
                None => {
                    let fmt =
                        arrow::csv::reader::Format::default().with_header(options.has_header).with_delimiter(delimiter);
                    let (schema, _) = fmt.infer_schema(&mut file, Some(options.infer_rows)).map_err(at)?;
                    file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path.display(), e))?;
                    Arc::new(schema)
                }
            };
            let reader = arrow::csv::ReaderBuilder::new(schema)
                .with_header(options.has_header)
                .with_delimiter(delimiter)
                .with_batch_size(options.batch_size)
                .build(file)
                .map_err(at)?;
            Box::new(reader)
        }
        Format::JsonLines => {
            let mut file = BufReader::new(open_file(path)?);
            let schema = match &options.schema {
                Some(s) => s.clone(),
                None => {
                    let (schema, _) =
                        arrow::json::reader::infer_json_schema_from_seekable(&mut file, Some(options.infer_rows))
                            .map_err(at)?;
                    file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path.display(), e))?;
                    Arc::new(schema)
                }
            };
            let reader =
                arrow::json::ReaderBuilder::new(schema).with_batch_size(options.batch_size).build(file).map_err(at)?;
            Box::new(reader)
        }
        Format::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(open_file(path)?)?;
            Box::new(builder.with_batch_size(options.batch_size).build()?)
        }
        Format::IpcFile => {
            Box::new(arrow::ipc::reader::FileReader::try_new(BufReader::new(open_file(path)?), None).map_err(at)?)
        }
        Format::IpcStream => {
            Box::new(arrow::ipc::reader::StreamReader::try_new(BufReader::new(open_file(path)?), None).map_err(at)?)
        }
    };
    Ok(Box::new(Named { inner, path: path.to_path_buf() }))
}

/// Reads a whole file into memory.
pub fn read_all(path: impl AsRef<Path>, options: &ReadOptions) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = open(path, options)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>().map_err(crate::error::from_arrow)?;
    Ok((schema, batches))
}

/// Options for writing a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriteOptions {
    /// The format; `None` means from the extension.
    pub format: Option<Format>,
    /// CSV field delimiter.
    pub delimiter: char,
    /// Parquet compression: `snappy`, `zstd` or `none`.
    pub compression: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self { format: None, delimiter: ',', compression: "snappy".into() }
    }
}

/// One writer's `write`, fed batch by batch.
type BatchSink<'a> = Box<dyn FnMut(&RecordBatch) -> Result<()> + 'a>;

/// Writes a stream of batches to a file, one batch at a time; returns the number of rows written.
pub fn write(path: impl AsRef<Path>, reader: impl RecordBatchReader, options: &WriteOptions) -> Result<usize> {
    let path = path.as_ref();
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let schema = reader.schema();
    let file = BufWriter::new(File::create(path).map_err(|e| Error::io(path.display(), e))?);
    let mut rows = 0;
    // Feeds every batch of the stream to one writer's `write`, counting rows.
    let drain = |mut write: BatchSink<'_>| -> Result<()> {
        for batch in reader {
            let batch = batch.map_err(crate::error::from_arrow)?;
            rows += batch.num_rows();
            write(&batch)?;
        }
        Ok(())
    };
    match format {
        Format::Csv => {
            let delimiter = u8::try_from(options.delimiter)
                .map_err(|_| Error::config("delimiter", "the CSV delimiter must be one ASCII character"))?;
            let mut w = arrow::csv::WriterBuilder::new().with_delimiter(delimiter).build(file);
            drain(Box::new(|b| Ok(w.write(b)?)))?;
            flush(path, w.into_inner())?;
        }
        Format::JsonLines => {
            let mut w = arrow::json::LineDelimitedWriter::new(file);
            drain(Box::new(|b| Ok(w.write(b)?)))?;
            w.finish()?;
            flush(path, w.into_inner())?;
        }
        Format::Parquet => {
            let compression = match options.compression.as_str() {
                "snappy" => Compression::SNAPPY,
                "zstd" => Compression::ZSTD(Default::default()),
                "none" => Compression::UNCOMPRESSED,
                other => {
                    return Err(Error::config("compression", format!("expected snappy, zstd or none, got '{other}'")));
                }
            };
            let props = WriterProperties::builder().set_compression(compression).build();
            let mut w = ArrowWriter::try_new(file, schema, Some(props))?;
            drain(Box::new(|b| Ok(w.write(b)?)))?;
            w.close()?;
        }
        Format::IpcFile => {
            let mut w = arrow::ipc::writer::FileWriter::try_new(file, &schema)?;
            drain(Box::new(|b| Ok(w.write(b)?)))?;
            w.finish()?;
            flush(path, w.into_inner()?)?;
        }
        Format::IpcStream => {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(file, &schema)?;
            drain(Box::new(|b| Ok(w.write(b)?)))?;
            w.finish()?;
            flush(path, w.into_inner()?)?;
        }
    }
    Ok(rows)
}

fn flush(path: &Path, mut w: BufWriter<File>) -> Result<()> {
    w.flush().map_err(|e| Error::io(path.display(), e))
}

/// Writes batches that are already in memory; returns the number of rows written.
pub fn write_batches(
    path: impl AsRef<Path>,
    schema: SchemaRef,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<usize> {
    let reader = arrow::record_batch::RecordBatchIterator::new(batches.iter().cloned().map(Ok), schema);
    write(path, reader, options)
}

/// Encodes batches as an Arrow IPC stream in memory (the format the Node binding exchanges).
pub fn to_ipc_stream(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut w = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(w.into_inner()?)
}

/// Decodes an Arrow IPC stream held in memory.
pub fn from_ipc_stream(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| Error::invalid("Arrow IPC stream", e.to_string()))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid("Arrow IPC stream", e.to_string()))?;
    Ok((schema, batches))
}
