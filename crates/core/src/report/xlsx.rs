//! The Excel renderer (rust_xlsxwriter): a `Summary` sheet with the report's KPIs, text, native Excel
//! charts (line, clustered column, stacked area; histograms as gap-less columns) and heatmaps as grids with
//! a colour-scale conditional format; then one sheet per table with typed cells, number formats, a frozen
//! header row and an autofilter. Chart data lives on a `Chart data` sheet the charts point at.

use std::collections::HashSet;

use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormat3ColorScale, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};

use super::model::{Block, Cell, ChartKind, Report, TableBlock, ValueFormat, XValues, cells, walk};
use crate::error::{Error, Result};

fn err(e: XlsxError) -> Error {
    Error::invalid("Excel output", e.to_string())
}

/// A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters, unique in the workbook.
fn sheet_name(title: &str, used: &mut HashSet<String>) -> String {
    let clean: String = title.chars().map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c }).collect();
    let clean = clean.trim().trim_matches('\'').to_string();
    let base: String = if clean.is_empty() { "Table".into() } else { clean.chars().take(31).collect() };
    let mut name = base.clone();
    let mut k = 2;
    while used.contains(&name.to_lowercase()) || name.eq_ignore_ascii_case("history") {
        let suffix = format!(" ({k})");
        name = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        k += 1;
    }
    used.insert(name.to_lowercase());
    name
}

fn number_format(format: ValueFormat) -> Format {
    Format::new().set_num_format(format.excel())
}

fn write_cell(sheet: &mut Worksheet, row: u32, col: u16, cell: &Cell, format: &Format) -> Result<()> {
    match cell {
        Cell::Null => {}
        Cell::Bool(b) => {
            sheet.write_boolean(row, col, *b).map_err(err)?;
        }
        Cell::Int(v) => {
            sheet.write_number_with_format(row, col, *v as f64, format).map_err(err)?;
        }
        Cell::Float(v) if v.is_finite() => {
            sheet.write_number_with_format(row, col, *v, format).map_err(err)?;
        }
        Cell::Float(_) => {}
        Cell::Date(d) => {
            let date = ExcelDateTime::parse_from_str(&d.to_string()).map_err(err)?;
            sheet
                .write_datetime_with_format(row, col, &date, &Format::new().set_num_format("yyyy-mm-dd"))
                .map_err(err)?;
        }
        Cell::Timestamp(t) => {
            let date = ExcelDateTime::parse_from_str(&t.format("%Y-%m-%dT%H:%M:%S").to_string()).map_err(err)?;
            sheet
                .write_datetime_with_format(row, col, &date, &Format::new().set_num_format("yyyy-mm-dd hh:mm"))
                .map_err(err)?;
        }
        Cell::Text(s) => {
            sheet.write_string(row, col, s).map_err(err)?;
        }
    }
    Ok(())
}

fn table_sheet(sheet: &mut Worksheet, t: &TableBlock) -> Result<()> {
    let header = Format::new().set_bold().set_background_color("#EEEEEE");
    let columns: Vec<Vec<Cell>> = t.data.columns().iter().map(cells).collect();
    for (c, field) in t.data.schema().fields().iter().enumerate() {
        let col = c as u16;
        sheet.write_string_with_format(0, col, field.name(), &header).map_err(err)?;
        let format = number_format(t.formats[c]);
        let mut width = field.name().chars().count();
        for (r, cell) in columns[c].iter().enumerate() {
            write_cell(sheet, r as u32 + 1, col, cell, &format)?;
            width = width.max(cell.display(t.formats[c]).chars().count());
        }
        sheet.set_column_width(col, (width as f64 + 2.0).min(60.0)).map_err(err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(err)?;
    if t.data.num_columns() > 0 {
        sheet.autofilter(0, 0, t.data.num_rows() as u32, t.data.num_columns() as u16 - 1).map_err(err)?;
    }
    Ok(())
}

/// The report as an `.xlsx` workbook.
pub(super) fn render(report: &Report) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let mut used = HashSet::new();
    let summary_name = sheet_name("Summary", &mut used);
    let data_name = sheet_name("Chart data", &mut used);
    book.add_worksheet().set_name(&summary_name).map_err(err)?;
    book.add_worksheet().set_name(&data_name).map_err(err)?;

    let title = Format::new().set_bold().set_font_size(16);
    let heading = Format::new().set_bold().set_font_size(13);
    let bold = Format::new().set_bold();
    let muted = Format::new().set_font_color("#666666");
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);

    // Tables go on their own sheets after the summary; collect them first so the summary can name them.
    let mut table_sheets: Vec<(String, &TableBlock)> = Vec::new();
    for (_, s) in walk(&report.sections) {
        for b in &s.blocks {
            if let Block::Table(t) = b {
                table_sheets.push((sheet_name(&t.title, &mut used), t));
            }
        }
    }

    let mut data_row = 0u32;
    {
        let mut row = 0u32;
        let mut pending: Vec<(u32, Chart)> = Vec::new();
        let mut heatmaps: Vec<(u32, u32, u16)> = Vec::new();
        let summary = book.worksheet_from_name(&summary_name).map_err(err)?;
        summary.set_column_width(0, 42).map_err(err)?;
        summary.set_column_width(1, 18).map_err(err)?;
        summary.set_column_width(2, 14).map_err(err)?;
        summary.write_string_with_format(row, 0, &report.title, &title).map_err(err)?;
        row += 1;
        if let Some(s) = &report.subtitle {
            summary.write_string(row, 0, s).map_err(err)?;
            row += 1;
        }
        for (k, v) in &report.filters {
            summary.write_string_with_format(row, 0, k, &muted).map_err(err)?;
            summary.write_string(row, 1, v).map_err(err)?;
            row += 1;
        }
        summary.write_string_with_format(row, 0, "role", &muted).map_err(err)?;
        summary.write_string(row, 1, &report.role).map_err(err)?;
        row += 1;
        summary.write_string_with_format(row, 0, "generated", &muted).map_err(err)?;
        summary.write_string(row, 1, report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string()).map_err(err)?;
        row += 2;
        let mut next_table = 0;
        let mut chart_data: Vec<(&super::model::Chart, u32)> = Vec::new();
        for (_, s) in walk(&report.sections) {
            summary.write_string_with_format(row, 0, &s.title, &heading).map_err(err)?;
            row += 1;
            for b in &s.blocks {
                match b {
                    Block::Text(t) => {
                        summary.merge_range(row, 0, row, 5, &t.text, &wrap).map_err(err)?;
                        summary.set_row_height(row, 15.0 * (1 + t.text.len() / 110) as f64).map_err(err)?;
                        row += 1;
                    }
                    Block::Kpis(tiles) => {
                        for k in tiles {
                            summary.write_string(row, 0, &k.label).map_err(err)?;
                            if k.value.is_finite() {
                                summary
                                    .write_number_with_format(row, 1, k.value, &number_format(k.format))
                                    .map_err(err)?;
                            }
                            if let Some((change, _)) = k.change() {
                                summary.write_string_with_format(row, 2, change, &muted).map_err(err)?;
                            }
                            row += 1;
                        }
                    }
                    Block::Table(t) => {
                        let (name, _) = &table_sheets[next_table];
                        next_table += 1;
                        let shown = if t.total_rows > t.data.num_rows() {
                            format!("{} of {} rows", t.data.num_rows(), t.total_rows)
                        } else {
                            format!("{} rows", t.data.num_rows())
                        };
                        summary.write_string_with_format(row, 0, &t.title, &bold).map_err(err)?;
                        summary.write_string(row, 1, format!("sheet '{name}', {shown}")).map_err(err)?;
                        row += 1;
                    }
                    Block::Chart(c) if c.kind == ChartKind::Heatmap => {
                        summary.write_string_with_format(row, 0, &c.title, &bold).map_err(err)?;
                        row += 1;
                        for j in 0..c.x.len() {
                            summary.write_string_with_format(row, j as u16 + 1, c.x.label(j), &bold).map_err(err)?;
                        }
                        let first = row + 1;
                        for s in &c.series {
                            row += 1;
                            summary.write_string(row, 0, &s.name).map_err(err)?;
                            for (j, v) in s.values.iter().enumerate() {
                                if let Some(v) = v.filter(|v| v.is_finite()) {
                                    summary
                                        .write_number_with_format(row, j as u16 + 1, v, &number_format(c.format))
                                        .map_err(err)?;
                                }
                            }
                        }
                        heatmaps.push((first, row, c.x.len() as u16));
                        row += 2;
                    }
                    Block::Chart(c) => {
                        chart_data.push((c, data_row));
                        pending.push((row, native_chart(c, &data_name, data_row)));
                        data_row += c.x.len() as u32 + 3;
                        row += 18;
                    }
                }
            }
            row += 1;
        }
        for (first, last, cols) in heatmaps {
            let scale = ConditionalFormat3ColorScale::new().set_minimum_color("#FFF7EC").set_maximum_color("#08519C");
            summary.add_conditional_format(first, 1, last, cols, &scale).map_err(err)?;
        }
        for (at, chart) in &pending {
            summary.insert_chart(*at, 0, chart).map_err(err)?;
        }
        let data = book.worksheet_from_name(&data_name).map_err(err)?;
        for (c, at) in chart_data {
            write_chart_data(data, c, at)?;
        }
    }
    for (name, t) in table_sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(err)?;
        table_sheet(sheet, t)?;
    }
    book.save_to_buffer().map_err(err)
}

fn write_chart_data(sheet: &mut Worksheet, c: &super::model::Chart, at: u32) -> Result<()> {
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(at, 0, &c.title, &bold).map_err(err)?;
    sheet.write_string_with_format(at + 1, 0, &c.x_label, &bold).map_err(err)?;
    for (i, s) in c.series.iter().enumerate() {
        sheet.write_string_with_format(at + 1, i as u16 + 1, &s.name, &bold).map_err(err)?;
    }
    let format = number_format(c.format);
    for j in 0..c.x.len() {
        let row = at + 2 + j as u32;
        let x = match &c.x {
            XValues::Categories(v) => Cell::Text(v[j].clone()),
            XValues::Dates(v) => Cell::Date(v[j]),
            XValues::Numbers(v) => Cell::Float(v[j]),
        };
        write_cell(sheet, row, 0, &x, &Format::new())?;
        for (i, s) in c.series.iter().enumerate() {
            if let Some(v) = s.values[j].filter(|v| v.is_finite()) {
                sheet.write_number_with_format(row, i as u16 + 1, v, &format).map_err(err)?;
            }
        }
    }
    sheet.set_column_width(0, 14).map_err(err)?;
    Ok(())
}

fn native_chart(c: &super::model::Chart, data: &str, at: u32) -> Chart {
    let kind = match c.kind {
        ChartKind::Line => ChartType::Line,
        ChartKind::StackedArea => ChartType::AreaStacked,
        ChartKind::Bar | ChartKind::Histogram | ChartKind::Heatmap => ChartType::Column,
    };
    let mut chart = Chart::new(kind);
    chart.title().set_name(&c.title);
    chart.x_axis().set_name(&c.x_label);
    if !c.y_label.is_empty() {
        chart.y_axis().set_name(&c.y_label);
    }
    chart.y_axis().set_num_format(c.format.excel());
    let (first, last) = (at + 2, at + 1 + c.x.len().max(1) as u32);
    for col in 1..=c.series.len() as u16 {
        let series = chart.add_series();
        series.set_categories((data, first, 0, last, 0)).set_values((data, first, col, last, col)).set_name((
            data,
            at + 1,
            col,
        ));
        if c.kind == ChartKind::Histogram {
            series.set_gap(0);
        }
    }
    if c.series.len() == 1 {
        chart.legend().set_hidden();
    }
    chart.set_width(720).set_height(340);
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(sheet_name("Top risks: [90 days]", &mut used), "Top risks   90 days");
        let long = "A very long table title that Excel would refuse";
        let a = sheet_name(long, &mut used);
        let b = sheet_name(long, &mut used);
        assert!(a.chars().count() <= 31 && b.chars().count() <= 31 && a != b, "{a} / {b}");
    }
}
